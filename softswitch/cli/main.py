"""`softswitch COMMAND ...`: parse, load the settings, run the command, report in one line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from softswitch.config import ConfigError, configure_logging, load_settings
from softswitch.queue import QueueError
from softswitch.routing import DialplanError
from softswitch.store import StoreError

from . import cdr, dialplan, network, operators, queues
from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CliError,
    Parser,
    report,
    settings_flags,
)

__all__ = ["main"]

log = logging.getLogger("softswitch.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported by the parser
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        settings = load_settings(
            args.config,
            data_dir=args.data_dir,
            database_url=args.database_url,
            log_level=args.log_level,
            sip_host=getattr(args, "sip_host", None),
            sip_port=getattr(args, "sip_port", None),
            workers=getattr(args, "workers", None),
            http_host=getattr(args, "http_host", None),
            http_port=getattr(args, "http_port", None),
        )
        configure_logging(settings, quiet=args.command != "serve")
        return int(args.handler(args, settings) or EXIT_OK)
    except (CliError, ConfigError, StoreError, QueueError) as exc:
        report(exc)
        return EXIT_FAILURE
    except DialplanError as exc:  # one file:line: reason per problem
        for diagnostic in exc.diagnostics:
            sys.stderr.write(f"{diagnostic}\n")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last resort: still one line, the traceback in the debug log
        log.debug("unexpected error", exc_info=True)
        report(f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    flags = settings_flags()
    parser = Parser(prog=PROG, description="An automated SIP exchange for county networks.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    network.register(commands, flags)
    dialplan.register(commands, flags)
    cdr.register(commands, flags)
    operators.register(commands, flags)
    queues.register(commands, flags)
    return parser
