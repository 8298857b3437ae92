"""The registration benchmark: sipp registers the 10,000 lines over and over (each REGISTER a
new Call-ID, so each refreshes a binding) in rising steps.

- softswitch: digest authentication (REGISTER, 401, REGISTER with credentials, 200); the binding
  is committed to PostgreSQL before the 200 goes out. It has no way to register without
  authentication, so its CPU per REGISTER is compared with Kamailio's both with and without.
- kamailio-registrar: usrloc in memory, no authentication, `-x tlsf` (the reference).
- kamailio-registrar-auth: the same with digest authentication (password derived from the
  user name, no database), for the same sipp scenario as the softswitch.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from . import kamailio_cfg, procs
from .calls import ratios, sweep_target
from .database import fresh_database
from .load import Bench, Load
from .options import Options
from .progress import say
from .provision import REALM, injection_file, provision_network
from .targets import Server, kamailio_path, start_kamailio, start_softswitch

KAMAILIO_VARIANTS = {
    "kamailio-registrar": False,
    "kamailio-registrar-auth": True,
}


def run_register(options: Options) -> dict[str, Any]:
    placement = procs.Placement.for_machine()
    workdir = options.workdir / "register"
    workdir.mkdir(parents=True, exist_ok=True)
    injection = injection_file(workdir / "lines.csv", options.lines)
    result: dict[str, Any] = {"placement": placement.describe(), "targets": {}}
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
        )
        port = procs.free_udp_port()
        start = partial(start_softswitch, database.url, workdir, placement.server, port=port)
        with Server(start) as server:
            say(f"softswitch: pid {server.target.pid}, {server.target.describe_placement()}")
            load = Load("register_auth.xml", False, injection=injection)
            found = sweep_target(
                server, load, bench, options, half=False, overload=options.overload
            )
            found["auth"] = "digest (MD5), binding committed first"
            result["targets"]["softswitch"] = found
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
            scenario = "register_auth.xml" if auth else "register_noauth.xml"
            with Server(start) as server:
                say(f"{name}: pid {server.target.pid} -x tlsf")
                found = sweep_target(
                    server,
                    Load(scenario, False, injection=injection),
                    bench,
                    options,
                    half=False,
                    also=[result["targets"]["softswitch"]["best"]],
                )
                found["auth"] = (
                    "digest (MD5), usrloc in memory" if auth else "none, usrloc in memory"
                )
                result["targets"][name] = found
    elif options.kamailio:
        result["kamailio"] = "not run: kamailio is not installed"
    result["ratios"] = ratios(result["targets"])
    return result
