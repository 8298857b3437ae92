"""pytest fixtures that start real SIP phones (``phone_agent.py`` processes).

Make them available with ``pytest_plugins = ["tests.agents.fixtures"]`` in
the root ``tests/conftest.py`` (or import the fixture names there).

The fixtures are asyncio fixtures on the session loop: their teardown runs
the agents' shutdown in a worker thread, so a server under test that lives on
the same loop keeps answering while the phones hang up and unregister.
Synchronous tests can use them too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.agents.phones import PhoneAgent

SKIP_REASON = "pjsua2 (pip package pjsua2-python) is not installed"

PhoneFactory = Callable[..., PhoneAgent]


@functools.cache
def pjsua2_available() -> bool:
    """True if the pjsua2 bindings import (the package loads them lazily)."""
    try:
        import pjsua2

        _ = pjsua2.Endpoint
    except (ImportError, AttributeError, OSError):
        return False
    return True


def require_pjsua2() -> None:
    """Skip the calling test when pjsua2 is missing."""
    if not pjsua2_available():
        pytest.skip(SKIP_REASON)


class PhoneFleet:
    """Agents started for one test; ``close_all`` stops them concurrently."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.agents: list[PhoneAgent] = []

    def start(self, name: str = "phone", **kwargs: Any) -> PhoneAgent:
        if any(agent.name == name for agent in self.agents):
            name = f"{name}{len(self.agents) + 1}"
        kwargs.setdefault("log_dir", self.log_dir)
        agent = PhoneAgent(name, **kwargs)
        self.agents.append(agent)
        return agent

    async def close_all(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(agent.close) for agent in self.agents))


@pytest_asyncio.fixture
async def phone_agent_factory(tmp_path: Path) -> AsyncIterator[PhoneFactory]:
    """A function ``make(name="phone", **kwargs) -> PhoneAgent`` starting agents.

    Every agent started through it is shut down at teardown (quit, then
    terminate, then kill). Agent logs go to ``<tmp_path>/phones/<name>.log``.
    """
    require_pjsua2()
    fleet = PhoneFleet(tmp_path / "phones")
    try:
        yield fleet.start
    finally:
        await fleet.close_all()


@pytest_asyncio.fixture
async def phone_agent(tmp_path: Path) -> AsyncIterator[PhoneAgent]:
    """One started phone agent, named ``phone``, closed at teardown."""
    require_pjsua2()
    fleet = PhoneFleet(tmp_path / "phones")
    try:
        yield fleet.start("phone")
    finally:
        await fleet.close_all()
