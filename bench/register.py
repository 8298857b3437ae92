"""The registration benchmark: sipp registers the 10,000 lines over and over (each REGISTER a
new Call-ID, so each refreshes a binding) in rising steps.

- softswitch: digest authentication (REGISTER, 401, REGISTER with credentials, 200); the binding
  is committed to PostgreSQL before the 200 goes out. Compared with kamailio-registrar-auth.
- softswitch-trusted: the same node with sipp's address in `trusted_networks`, so REGISTER and
  200 without authentication, the binding committed first as well. Compared with
  kamailio-registrar.
- kamailio-registrar: usrloc in memory, no authentication, `-x tlsf` (the reference).
- kamailio-registrar-auth: the same with digest authentication (password derived from the
  user name, no database), for the same sipp scenario as the softswitch.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

from . import kamailio_cfg, procs
from .calls import ratios, sweep_target
from .database import fresh_database
from .load import Bench, Load
from .options import Options
from .progress import say
from .provision import REALM, injection_file, provision_network
from .targets import Server, kamailio_path, start_kamailio, start_softswitch

# name: digest authentication (the other registers from a trusted network, without)
SOFTSWITCH_VARIANTS = {"softswitch": True, "softswitch-trusted": False}
KAMAILIO_VARIANTS = {
    "kamailio-registrar": False,
    "kamailio-registrar-auth": True,
}
# each reference and the softswitch that does the same work
COMPARED = {"kamailio-registrar": "softswitch-trusted", "kamailio-registrar-auth": "softswitch"}


def run_register(options: Options) -> dict[str, Any]:
    placement = procs.Placement.for_machine()
    workdir = options.workdir / "register"
    workdir.mkdir(parents=True, exist_ok=True)
    injection = injection_file(workdir / "lines.csv", options.lines)
    result: dict[str, Any] = {
        "placement": placement.describe(),
        "tail": options.tail,
        "targets": {},
    }
    say(f"register: {placement.describe()}, {options.lines} lines")
    with fresh_database(options.database_url) as database:
        database.place(placement.load)
        started = time.monotonic()
        provision_network(
            database.url,
            workdir,
            lines=options.lines,
            uas_port=procs.free_udp_port(),
            uac_port=None,
        )
        result["provisioned"] = {
            "lines": options.lines,
            "seconds": round(time.monotonic() - started, 1),
        }
        bench = Bench(
            workdir,
            placement,
            procs.free_udp_port(),
            procs.free_udp_port(),
            options.settle,
            database,
            options.tail,
        )
        for name, auth in SOFTSWITCH_VARIANTS.items():
            start = partial(
                start_softswitch,
                database.url,
                workdir,
                placement.server,
                port=procs.free_udp_port(),
                settings=None if auth else {"SOFTSWITCH_TRUSTED_NETWORKS": "127.0.0.0/8"},
                name=name,
            )
            with Server(start) as server:
                say(f"{name}: pid {server.target.pid}, {server.target.describe_placement()}")
                result["targets"][name] = sweep(
                    server,
                    bench,
                    options,
                    injection,
                    auth,
                    "digest (MD5), binding committed first"
                    if auth
                    else "none (trusted network), binding committed first",
                    overload=options.overload if auth else 0.0,
                )
        result["bindings_stored"] = database.count("SELECT count(*) FROM bindings")
        result["postgresql"] = database.place(placement.load)
    if options.kamailio and kamailio_path() is not None:
        bench.database = None
        for name, auth in KAMAILIO_VARIANTS.items():
            port = procs.free_udp_port()
            config = kamailio_cfg.registrar(port, auth=auth, realm=REALM)
            start = partial(
                start_kamailio,
                config,
                workdir,
                placement.server,
                name=name,
                port=port,
                memory=["-x", "tlsf"],
            )
            with Server(start) as server:
                say(f"{name}: pid {server.target.pid} -x tlsf")
                result["targets"][name] = sweep(
                    server,
                    bench,
                    options,
                    injection,
                    auth,
                    "digest (MD5), usrloc in memory" if auth else "none, usrloc in memory",
                    also=[result["targets"][COMPARED[name]]["best"]],
                )
    elif options.kamailio:
        result["kamailio"] = "not run: kamailio is not installed"
    result["ratios"] = ratios(result["targets"], COMPARED)
    return result


def sweep(
    server: Server,
    bench: Bench,
    options: Options,
    injection: Path,
    auth: bool,
    described: str,
    **steps: Any,
) -> dict[str, Any]:
    """The rising steps of sipp's registrations (the lines of `injection`), with digest
    authentication or without."""
    scenario = "register_auth.xml" if auth else "register_noauth.xml"
    load = Load(scenario, False, injection=injection)
    found = sweep_target(server, load, bench, options, half=False, **steps)
    found["auth"] = described
    return found
