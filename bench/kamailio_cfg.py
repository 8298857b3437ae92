"""Kamailio configurations of the reference: one UDP worker, no database.

- `proxy`: a transaction-stateful, record-routing proxy (tm + rr) that sends every new call
  to the sipp UAS and loose-routes the ACK and the BYE, as the softswitch does.
- `registrar`: usrloc in memory; with `auth`, digest authentication with a password derived
  from the user name (no database either), so that it answers the same sipp scenario as the
  softswitch.
"""

from __future__ import annotations

from pathlib import Path

READY = "Listening on"

MODULE_DIRS = [
    *sorted(Path("/usr/lib").glob("*-linux-gnu/kamailio/modules")),
    Path("/usr/lib/kamailio/modules"),
    Path("/usr/lib64/kamailio/modules"),
    Path("/usr/local/lib64/kamailio/modules"),
    Path("/usr/local/lib/kamailio/modules"),
]


def modules_dir() -> str:
    """Where the installed Kamailio keeps its modules (Debian's multiarch folder first)."""
    found = next((d for d in MODULE_DIRS if (d / "tm.so").exists()), MODULE_DIRS[0])
    return f"{found}/"


# The allocators compared: Kamailio's default (q_malloc, 64 MB of shared memory and 8 MB of
# private memory per process); TLSF for the shared memory, 4 GB of it (`-x` leaves each
# process's private memory on q_malloc); and TLSF for both, since profiling showed q_malloc of
# the private memory taking most of the worker's time on this kind of machine.
MEMORY_VARIANTS: dict[str, list[str]] = {
    "kamailio": [],
    "kamailio-tlsf": ["-x", "tlsf", "-m", "4096"],
    "kamailio-tlsf-pkg": ["-x", "tlsf", "-X", "tlsf", "-m", "4096"],
}


def _head(port: int, modules: list[str]) -> str:
    loads = "\n".join(f'loadmodule "{m}.so"' for m in modules)
    return f"""#!KAMAILIO
debug=1
log_stderror=yes
children=1
disable_tcp=yes
auto_aliases=no
dns=no
rev_dns=no
listen=udp:127.0.0.1:{port}
mpath="{modules_dir()}"
{loads}
"""


def proxy(port: int, uas_port: int) -> str:
    return (
        _head(port, ["tm", "sl", "rr", "pv", "maxfwd", "siputils", "textops"])
        + f"""
request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (has_totag()) {{
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) {{
                t_relay();
            }}
            exit;
        }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    t_check_trans();
    if (is_method("INVITE")) {{
        record_route();
    }}
    rewritehostport("127.0.0.1:{uas_port}");
    if (!t_relay()) {{
        sl_reply_error();
    }}
}}
"""
    )


def registrar(port: int, *, auth: bool, realm: str) -> str:
    modules = ["tm", "sl", "pv", "maxfwd", "siputils", "textops", "usrloc", "registrar"]
    check = ""
    if auth:
        modules.append("auth")
        check = f"""
    if (!pv_www_authenticate("{realm}", "pw-$fU", "0")) {{
        www_challenge("{realm}", "0");
        exit;
    }}"""
    return (
        _head(port, modules)
        + f"""
modparam("usrloc", "db_mode", 0)
request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!is_method("REGISTER")) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}{check}
    if (!save("location")) {{
        sl_reply_error();
    }}
}}
"""
    )
