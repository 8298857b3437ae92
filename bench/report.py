"""The results as JSON (everything) and Markdown (the tables a reader wants)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .steps import MAX_LOSS, MIN_ACHIEVED


def write(results: dict[str, Any], folder: Path, stamp: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{stamp}.json"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    md_path = folder / f"{stamp}.md"
    md_path.write_text(markdown(results))
    return json_path, md_path


def _python_build(build: dict[str, Any] | None) -> str:
    if not build:
        return "not recorded"
    shared = build.get("shared_libpython")
    where = {
        True: "interpreter in a shared libpython",
        False: "interpreter in the executable",
        None: "libpython unknown",
    }[shared]
    options = (("enable_optimizations", "--enable-optimizations"), ("with_lto", "--with-lto"))
    flags = [f"{'with' if build.get(key) else 'without'} {flag}" for key, flag in options]
    return f"{where}; configured {', '.join(flags)}"


def _settings(settings: dict[str, str] | None) -> str:
    if not settings:
        return "none (the defaults)"
    return ", ".join(f"`{name}={value}`" for name, value in settings.items())


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    out = [
        f"# Softswitch benchmark, {machine['date']}",
        "",
        f"Command: `{results['command']}`",
        "",
        _table(
            ["machine", ""],
            [
                ["CPUs (nproc)", machine["nproc"]],
                ["CPU", machine["cpu_model"]],
                ["kernel", machine["kernel"]],
                ["memory", f"{machine['memory_gib']} GiB"],
                ["load average at start", " ".join(map(str, machine["load_average"]))],
                ["Python", machine["python"]],
                ["Python build", _python_build(machine.get("python_build"))],
                ["uvloop", machine["uvloop"] or "not installed"],
                ["Kamailio", machine["kamailio"] or "not installed"],
                ["sipp", machine["sipp"] or "not installed"],
                ["softswitch revision", machine.get("softswitch") or "unknown"],
                ["modules compiled (mypyc)", _compiled(machine.get("compiled"))],
                ["softswitch settings from the environment", _settings(machine.get("settings"))],
            ],
        ),
    ]
    if "calls" in results:
        out += _calls(results["calls"])
    if "calls-auth" in results:
        out += _calls(results["calls-auth"], authenticated=True)
    if "register" in results:
        out += _register(results["register"])
    if "memory" in results:
        out += _memory(results["memory"])
    if "routing" in results:
        out += _routing(results["routing"])
    if "hotpath" in results:
        out += _hotpath(results["hotpath"])
    if results.get("chart"):
        out += ["", f"Chart: `{Path(results['chart']).name}` (beside this file)"]
    return "\n".join(out) + "\n"


def _compiled(modules: list[str] | None) -> str:
    if modules is None:
        return "not recorded"
    if not modules:
        return "none: pure Python"
    packages = sorted({m.split("/")[0] if "/" in m else m for m in modules})
    return f"{len(modules)}, in {', '.join(packages)}"


def _calls(calls: dict[str, Any], *, authenticated: bool = False) -> list[str]:
    flow = (
        "INVITE, 407, ACK, INVITE with digest credentials (MD5, a line of 10,000 from an "
        "injection file), 100, 180, 200, ACK, 1 s, BYE, 200"
        if authenticated
        else "INVITE, 100, 180, 200, ACK, 1 s, BYE, 200"
    )
    out = [
        "",
        "## Calls with digest authentication" if authenticated else "## Calls",
        "",
        f"sipp UAC -> server -> sipp UAS: {flow}; ACK and BYE "
        "loose-routed through the server. "
        + _criteria(calls.get("tail"))
        + f" Placement: {calls['placement']}; "
        f"PostgreSQL: {calls.get('postgresql', '-')}.",
    ]
    if calls.get("kamailio"):
        out += ["", f"Kamailio: {calls['kamailio']}."]
    summary = []
    for name, target in calls["targets"].items():
        out += ["", f"### {name}" + _options(target), ""]
        out.append(_steps_table(target["steps"], latency=True, records=name == "softswitch"))
        half = target.get("half")
        summary.append(
            [
                name,
                _n(target.get("best")),
                _n(half["offered"]) if half else "-",
                *(_lat(half, key) if half else "-" for key in ("latency_100", "latency_180")),
            ]
        )
    out += [
        "",
        "### Best rate, and latency at half of it (ms, p50 / p95 / p99)",
        "",
        _table(["target", "best calls/s", "at calls/s", "INVITE->100", "INVITE->180"], summary),
    ]
    out += _ratios(calls.get("ratios", {}), "call")
    past = calls["targets"].get("softswitch", {}).get("overload")
    if past:
        out += _overload(past, calls["targets"]["softswitch"].get("best"), "call")
    profile = calls["targets"].get("softswitch", {}).get("profile")
    if profile:
        out += _profile(profile)
    return out


def _register(register: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Registrations",
        "",
        "sipp registers 10,000 lines in turn (a new Call-ID each time). "
        + _criteria(register.get("tail"))
        + f" Placement: {register['placement']}; PostgreSQL: {register.get('postgresql', '-')}. "
        f"Bindings in PostgreSQL after the softswitch's run: {register.get('bindings_stored')}.",
    ]
    summary = []
    for name, target in register["targets"].items():
        out += ["", f"### {name} (authentication: {target.get('auth', '-')})", ""]
        out.append(_steps_table(target["steps"], latency=False, records=False, unit="REGISTER"))
        summary.append([name, target.get("auth", "-"), _n(target.get("best"))])
    out += ["", _table(["target", "authentication", "best REGISTER/s"], summary)]
    out += _ratios(register.get("ratios", {}), "REGISTER")
    past = register["targets"].get("softswitch", {}).get("overload")
    if past:
        out += _overload(past, register["targets"]["softswitch"].get("best"), "registration")
    return out


def _memory(memory: dict[str, Any]) -> list[str]:
    rows = [
        [
            label,
            _mib(memory[key]["rss_bytes"]),
            _mib(memory[key]["peak_rss_bytes"]),
            memory[key]["start_seconds"],
        ]
        for label, key in (
            ("no lines", "empty"),
            (f"{memory['lines']} lines", "with_lines"),
            (f"{memory['lines']} lines, {memory['bindings_stored']} bindings", "with_bindings"),
        )
    ]
    return [
        "",
        "## Memory with registered bindings",
        "",
        f"The node loads every line's credentials and every unexpired binding at start. "
        f"About {memory['bytes_per_line']} bytes per line and {memory['bytes_per_binding']} "
        "bytes per binding.",
        "",
        _table(["database holds", "RSS MiB", "peak RSS MiB", "start s"], rows),
    ]


def _routing(routing: dict[str, Any]) -> list[str]:
    if "error" in routing:
        return ["", "## Routing", "", f"failed: {routing['error']}"]
    rows = [
        [label, routing[key]["median_us"], routing[key]["p99_us"]]
        for label, key in (("compiled plan", "compiled"), ("in-order walk", "in_order_walk"))
        if key in routing
    ]
    return [
        "",
        "## Routing decision",
        "",
        f"{routing['rules']} rules (bench/routing.py), {routing['decisions']} decisions on the "
        f"server CPU; loaded in {routing.get('load_seconds')} s, compiled in "
        f"{routing.get('compile_ms')} ms.",
        "",
        _table(["Router.route()", "median µs", "p99 µs"], rows),
    ]


def _hotpath(hotpath: dict[str, Any]) -> list[str]:
    if "error" in hotpath:
        return ["", "## Hot path", "", f"failed: {hotpath['error']}"]
    rows = [[kind, value] for kind, value in hotpath["us_per_message"].items()]
    rows.append(["a call", hotpath["us_per_call"]])
    return [
        "",
        "## Hot path, in one process",
        "",
        "The endpoint, transactions and proxy core on a call's six messages, without sockets "
        f"(bench/hotpath.py): {hotpath['calls']} calls a round, median of {hotpath['rounds']} "
        "rounds, CPU of the thread on the server CPU.",
        "",
        _table(["message", "µs CPU"], rows),
    ]


Column = tuple[str, Callable[[dict[str, Any]], Any]]


def _steps_table(
    steps: Sequence[dict[str, Any]], *, latency: bool, records: bool, unit: str = "call"
) -> str:
    columns: list[Column] = [
        ("offered/s", lambda s: _n(s["offered"])),
        ("achieved/s", lambda s: s["achieved"]),
        ("ok", lambda s: s["successful"]),
        ("failed", lambda s: s["failed"]),
        ("unfinished", lambda s: s["unfinished"]),
        ("retrans", lambda s: s["retransmissions"]),
        ("UDP drops", lambda s: s["udp_drops"]),
        ("server CPU", lambda s: f"{s['server_load']:.0%}"),
        (f"µs CPU/{unit}", lambda s: s["server_cpu_us_per_call"]),
        (f"of it after the step, µs/{unit}", _after),
        (f"of it in the kernel, µs/{unit}", _kernel),
    ]
    if records:
        columns.append((f"PG µs/{unit}", lambda s: s["db_cpu_us_per_call"]))
    columns += [
        ("sipp+PG CPU", lambda s: f"{s['load_side_load']:.0%}"),
        ("others on server CPU", lambda s: f"{s['others_load']:.0%}"),
        ("memory MiB", lambda s: _mib(s["memory_bytes"])),
    ]
    if latency:
        columns += [
            ("INVITE->100 p50/p99 ms", lambda s: _pair(s["latency_100"])),
            ("INVITE->180 p50/p99 ms", lambda s: _pair(s["latency_180"])),
        ]
    if records:
        columns.append(("CDRs", lambda s: s["records"]))
    columns.append(("pass", _verdict))
    rows = [[get(step) for _, get in columns] for step in steps]
    notes = [
        f"- {_n(step['offered'])}/s: {'; '.join(step['notes'])}" for step in steps if step["notes"]
    ]
    table = _table([name for name, _ in columns], rows)
    return "\n".join([table, "", *notes]) if notes else table


def _verdict(step: dict[str, Any]) -> str:
    return "yes" if step["passed"] else "**no**"


def _ratios(ratios: dict[str, Any], unit: str) -> list[str]:
    if not ratios:
        return []
    rows = [
        [
            name,
            r.get("softswitch", "softswitch"),
            r.get("best_rate"),
            _n(r.get("at_rate")),
            r.get("cpu_per_call"),
            r.get("user_cpu_per_call"),
            r.get("memory"),
            r.get("cpu_per_call_at_each_best"),
            r.get("latency_180_p50_at_half"),
        ]
        for name, r in ratios.items()
    ]
    head = [
        "reference",
        "compared with",
        "best rate",
        "same load, /s",
        f"CPU per {unit} there",
        "of it outside the kernel",
        "memory there",
        f"CPU per {unit}, each at its best",
        "INVITE->180 p50 at half best",
    ]
    return [
        "",
        "### softswitch ÷ reference (best rate: below 1, the softswitch reaches less; CPU, "
        "memory, latency: above 1, the softswitch needs more)",
        "",
        _table(head, rows),
    ]


def _overload(step: dict[str, Any], best: float | None, unit: str) -> list[str]:
    """The step past capacity: new calls (registrations) refused with 503 by overload
    control, against those lost to retransmissions and timeouts (a collapse)."""
    other = step["failed"] - step["rejected"] + step["unfinished"]
    rows = [
        [
            _n(step["offered"]),
            step["achieved"],
            step["successful"],
            step["rejected"],
            other,
            step["retransmissions"],
            step["udp_drops"],
            f"{step['server_load']:.0%}",
            _pair(step["latency_180"]),
        ]
    ]
    head = [
        "offered/s",
        "completed/s",
        "completed",
        "refused (503)",
        "lost otherwise",
        "retrans",
        "UDP drops",
        "server CPU",
        "INVITE->180 p50/p99 ms, completed calls",
    ]
    if unit != "call":
        head, rows = head[:-1], [row[:-1] for row in rows]
    return [
        "",
        f"### softswitch past capacity ({_n(best)} {unit}s/s passed)",
        "",
        f"One step at {_n(round(step['offered'] / best, 2)) if best else '-'} times the best "
        f"rate. The node refuses a share of new {unit}s with 503 "
        "(softswitch/overload.py) and carries the rest; without it, such a step collapses "
        "into retransmissions.",
        "",
        _table(head, rows),
    ]


def _profile(profile: dict[str, Any]) -> list[str]:
    if "skipped" in profile or "error" in profile:
        return ["", f"Profile: {profile.get('skipped') or profile.get('error')}"]
    summary = profile.get("summary", {})
    out = [
        "",
        f"### Where the softswitch's time goes at {_n(profile['rate'])} calls/s (py-spy)",
        "",
        f"Flame graph: `{Path(profile['flame_graph']).name}` (beside this file). "
        "Below, shares of the "
        f"{summary.get('samples', 0)} samples (100 Hz, threads holding the GIL: "
        f"{summary.get('cpu_share', 0):.0%} of a CPU) of a second py-spy run in the same step.",
        "",
        _table(["innermost frame in", "% of samples"], summary.get("layers", [])),
        "",
        _table(["function (self)", "%"], summary.get("self", [])),
        "",
        _table(["function (inclusive)", "%"], summary.get("inclusive", [])),
    ]
    return out


def _options(target: dict[str, Any]) -> str:
    return f" ({target['options']})" if target.get("options") else ""


def _criteria(tail: float | None) -> str:
    cpu = (
        f"The server's CPU per call or registration is its CPU over the step and over the "
        f"{tail:g} s after it, less what it uses idle: a transaction waits out 64*T1 (32 s) "
        "after its last message, and ending it is work of the step."
        if tail
        else "The server's CPU per call or registration is its CPU over the step alone."
    )
    return (
        f"A step passes with failed + unfinished calls under {MAX_LOSS:.1%} and at least "
        f"{MIN_ACHIEVED:.0%} of the offered rate achieved. " + cpu
    )


def _after(step: dict[str, Any]) -> str:
    """The share of the CPU per call the server spent after the step (`load.work_left`)."""
    after = step.get("server_cpu_after")
    if after is None or not step["successful"]:
        return "-"
    return f"{after / step['successful'] * 1e6:.1f}"


def _kernel(step: dict[str, Any]) -> str:
    """The server's kernel CPU per call over the step; "-" in results from before it was kept."""
    kernel = step.get("server_kernel_us_per_call")
    return "-" if kernel is None else f"{kernel:.1f}"


def _lat(step: dict[str, Any], key: str) -> str:
    lat = step[key]
    if not lat["count"]:
        return "-"
    return f"{lat['p50']:.2f} / {lat['p95']:.2f} / {lat['p99']:.2f}"


def _pair(lat: dict[str, Any]) -> str:
    return "-" if not lat["count"] else f"{lat['p50']:.2f} / {lat['p99']:.2f}"


def _n(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def _mib(value: int | None) -> str:
    return "-" if not value else f"{value / 2**20:.1f}"


def _table(head: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(str(h) for h in head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join("-" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)
