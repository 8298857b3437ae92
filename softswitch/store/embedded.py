"""An embedded PostgreSQL (the `pgserver` wheel) for a softswitch without a database URL.

The server lives in `<data_dir>/postgres` and listens on a unix socket only. A second process
pointed at the same data folder (the CLI next to a running `serve`) reuses the running server;
pgserver keeps a list of the processes using it and the last one to exit stops it.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

from .errors import StoreError

__all__ = ["EmbeddedDatabaseError", "start_embedded"]

log = logging.getLogger(__name__)


class EmbeddedDatabaseError(StoreError):
    """The embedded PostgreSQL could not be started."""


def start_embedded(data_dir: Path | str) -> str:
    """Start (or reuse) the embedded PostgreSQL under `data_dir`; return its connection URI."""
    pgdata = Path(data_dir).expanduser().resolve() / "postgres"
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedDatabaseError(
            f"cannot create data folder {pgdata.parent}: {exc.strerror or exc}"
        ) from exc

    with warnings.catch_warnings():
        # platformdirs warns on import when XDG_RUNTIME_DIR is unset; it falls back fine.
        warnings.simplefilter("ignore")
        import pgserver

    pg_logger = logging.getLogger("pgserver")
    if pg_logger.level == logging.NOTSET:
        # pgserver logs every command at INFO and dumps the server log on failure;
        # the one-line error below says what went wrong and where the log is.
        pg_logger.setLevel(logging.CRITICAL)

    try:
        with pgserver.PostgresServer._lock:
            _forget_exited_users(pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        uri = server.get_uri()
    except Exception as exc:  # pgserver raises many kinds (subprocess, assertion, OS errors)
        raise EmbeddedDatabaseError(
            f"embedded PostgreSQL in {pgdata} did not start: {_reason(exc, pgdata)}"
        ) from exc
    log.info("embedded PostgreSQL running in %s", pgdata)
    return uri


def _forget_exited_users(pgdata: Path) -> None:
    """Drop processes that died without cleaning up from pgserver's list of users.

    pgserver stops the server when the last listed process exits; a process killed without its
    exit handlers would otherwise stay listed and keep the server running forever.
    """
    path = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _is_running(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reason(exc: BaseException, pgdata: Path) -> str:
    log_file = pgdata / "log"
    last = ""
    try:
        lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines()]
        last = next((line for line in reversed(lines) if line), "")
    except OSError:
        pass
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if last:
        return f"{detail} (server log {log_file}: {last})"
    return detail
