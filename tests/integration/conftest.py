"""Fixtures for tests that run a real softswitch on 127.0.0.1 against a real PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from softswitch.config import Settings
from softswitch.server import Softswitch
from softswitch.sip.digest import compute_ha1
from softswitch.store import Store

if TYPE_CHECKING:
    from playwright.async_api import Browser

REALM = "county.test"


def switch_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "sip_host": "127.0.0.1",
        "sip_port": 0,
        "data_dir": tmp_path,
        "realm": REALM,
        "node": "node-a",
        "min_expires": 2,
        "default_expires": 300,
        "http_host": "127.0.0.1",
        "http_port": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def provision(store: Store, *lines: tuple[str, str], exchange: str = "ASH") -> None:
    """An automated exchange with the given (number, password) lines."""
    if await store.get_exchange(exchange) is None:
        await store.add_exchange(exchange, "Ashford", "5551")
    for number, password in lines:
        await store.add_line(
            number,
            exchange,
            f"Line {number}",
            compute_ha1(number, REALM, password, "MD5"),
            compute_ha1(number, REALM, password, "SHA-256"),
        )


@contextlib.asynccontextmanager
async def two_line_switch(
    database_url: str, tmp_path: Path, **settings: object
) -> AsyncIterator[Softswitch]:
    """A started softswitch with lines 5551001 (password one-secret) and 5551002 (two-secret),
    `settings` over the tests' own."""
    node = await Softswitch.open(switch_settings(tmp_path, **settings), database_url)
    await provision(node.store, ("5551001", "one-secret"), ("5551002", "two-secret"))
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


@pytest.fixture
async def switch(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Softswitch]:
    """A started softswitch with lines 5551001 (password one-secret) and 5551002 (two-secret)."""
    async with two_line_switch(fresh_database_url, tmp_path) as node:
        yield node


@pytest.fixture
def sipp() -> Iterator[str]:
    path = shutil.which("sipp")
    if path is None:
        pytest.skip("sipp (Debian package sip-tester) is not installed")
    yield path


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if anything logged an error: an exception in a protocol callback is
    logged by asyncio and swallowed, and would otherwise go unnoticed."""
    yield
    errors = [
        record
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)  # type: ignore[arg-type]
        if record.levelno >= logging.ERROR
    ]
    assert not errors, "\n".join(caplog.text.splitlines()[-60:])


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright (pip package playwright) is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"chromium (Debian package chromium) is not installed at {CHROMIUM}")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
