"""`python -m softswitch.cli`."""

from __future__ import annotations

import sys

from softswitch.cli import main

sys.exit(main())
