"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .proxy_node import ProxyNode


@pytest.fixture
async def routed_node() -> AsyncIterator[tuple[ProxyNode, str]]:
    """A proxy node fed by hand, and the Route entry that names it (its Record-Route)."""
    node = ProxyNode()
    await node.start()
    yield node, node.record_route()
    await node.endpoint.close()
