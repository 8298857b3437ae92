"""Demo mode: the example network (three exchanges, the dialplan of `dialplans/`) with lines a
newcomer can register softphones to in a minute. The passwords are kept in the data folder, so
the lines survive restarts unchanged."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from .config import Settings
from .queue import add_operator, set_password
from .sip.digest import compute_ha1
from .store import Store

EXAMPLE_DIALPLAN = Path(__file__).parent / "dialplans"
# The example network of `dialplans/`, all served by this one node for the demo.
DEMO_EXCHANGES = (
    ("ASH", "Ashford", "5551", "automated"),
    ("BIR", "Birchwood", "5552", "automated"),
    ("CED", "Cedar Falls", "5553", "manual"),
)
DEMO_LINES = (
    ("5551001", "ASH", "Ashford 1001"),
    ("5551002", "ASH", "Ashford 1002"),
    ("5552001", "BIR", "Birchwood 2001"),
    ("5551100", "ASH", "Ashford operator desk"),
)
# The operator at the Ashford desk answers Ashford's and Cedar Falls' queues.
DEMO_OPERATOR = ("ada", "5551100", ("ASH", "CED"), "Ada at the Ashford board")
# Cedar Falls is still a manual board: its lines have jacks, not SIP credentials.
DEMO_MANUAL_LINES = (("5553001", "CED", "Cedar Falls 3001", "J-1"),)


async def ensure_demo(store: Store, settings: Settings, sip_port: int = 5060) -> list[str]:
    """Create what is missing of the demo; return the lines to print for the newcomer."""
    for code, name, prefix, mode in DEMO_EXCHANGES:
        if await store.get_exchange(code) is None:
            await store.add_exchange(code, name, prefix, mode)  # type: ignore[arg-type]
    for number, code, display, jack in DEMO_MANUAL_LINES:
        if await store.get_line(number) is None:
            await store.add_line(number, code, display, jack_label=jack)
    if await store.active_dialplan() is None:
        sources = {path.name: path.read_text() for path in sorted(EXAMPLE_DIALPLAN.glob("*.toml"))}
        await store.save_dialplan(sources, "example network (demo)")
    passwords = _load_passwords(settings.data_dir)
    domain = advertised_host(settings)
    if sip_port != 5060:
        domain = f"{domain}:{sip_port}"
    printed = []
    for number, code, display in DEMO_LINES:
        password = passwords.get(number) or secrets.token_urlsafe(9)
        passwords[number] = password
        md5 = compute_ha1(number, settings.realm, password, "MD5")
        sha = compute_ha1(number, settings.realm, password, "SHA-256")
        stored = await store.get_line(number)
        if stored is None:
            await store.add_line(number, code, display, md5, sha)
        elif (stored.ha1_md5, stored.ha1_sha256) != (md5, sha):
            await store.set_line_credentials(number, md5, sha)
        printed.append(f"line {number} password {password} domain {domain}")
    login, line, queues, name = DEMO_OPERATOR
    key = f"operator:{login}"
    password = passwords.get(key) or secrets.token_urlsafe(9)
    passwords[key] = password
    if await store.get_operator(login) is None:
        await add_operator(store, login, line, password, queues, name)
    else:
        await set_password(store, login, password)
    printed.append(f"operator {login} password {password} line {line}")
    _save_passwords(settings.data_dir, passwords)
    return printed


def advertised_host(settings: Settings) -> str:
    """The address phones should use: the listen address, or this machine's first non-loopback
    IPv4 address when listening on all of them."""
    host = settings.sip_host.split(",")[0].strip()
    if host not in ("0.0.0.0", "::", ""):
        return host
    for address in local_addresses():
        if "." in address and not address.startswith("127."):
            return address
    return "127.0.0.1"


def local_addresses() -> list[str]:
    """Every IPv4 and IPv6 address of this machine's interfaces."""
    try:
        import psutil
    except ImportError:
        return ["127.0.0.1", "::1"]
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family.name in ("AF_INET", "AF_INET6"):
                found.append(str(address.address).split("%")[0])
    return found


def _passwords_file(data_dir: Path) -> Path:
    return Path(data_dir).expanduser() / "demo-lines.json"


def _load_passwords(data_dir: Path) -> dict[str, str]:
    path = _passwords_file(data_dir)
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _save_passwords(data_dir: Path, passwords: dict[str, str]) -> None:
    path = _passwords_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(passwords, indent=2) + "\n")
    path.chmod(0o600)
