"""Time of one routing decision with a 10,000-rule dialplan.

    python bench/routing.py [--rules 10000] [--calls 200000] [--seed 1]

The plan mixes what a large county network has: exact numbers (night lines, special lines),
prefixes and Asterisk patterns (exchanges, area codes), regexes anchored on a prefix, a few
unanchored regexes (scanned on every lookup), conditions on some rules, and rewrites. The calls
are numbers of each kind plus numbers no rule matches. Prints the median and the 99th
percentile of `Router.route()` (normalization, lookup, rewrites, decision), and the same for
the in-order walk the compiled plan replaces.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time

from softswitch.routing import (
    Caller,
    Directory,
    ExchangeEntry,
    Router,
    compile_dialplan,
    first_match_in_order,
    load_dialplan,
)


def build_plan_text(count: int, rng: random.Random) -> tuple[str, list[str]]:
    """A dialplan of `count` rules, and numbers that exercise it."""
    parts = ['[settings]\ntimezone = "America/Chicago"\n[numbering]\nlocal_length = 3\n']
    numbers: list[str] = []
    used: set[str] = set()

    def rule(name: str, body: str) -> None:
        parts.append(f'[[rule]]\nname = "{name}"\n{body}\n')

    def fresh(digits: int, first: str = "") -> str:
        while True:
            number = first + "".join(rng.choice("0123456789") for _ in range(digits - len(first)))
            if number not in used:
                used.add(number)
                return number

    for i in range(count):
        kind = rng.random()
        if kind < 0.55:  # a special line
            number = fresh(7, "55")
            condition = 'time = "18:00-08:00"\n' if rng.random() < 0.1 else ""
            rule(f"line-{i}", f'exact = "{number}"\n{condition}deliver = {{ line = "{number}" }}')
            numbers.append(number)
        elif kind < 0.75:  # an area code to a carrier
            prefix = fresh(5, "1")
            uri = f"sip:gw{i % 7}.carrier.example"
            rule(f"area-{i}", f'prefix = "{prefix}"\ntrunk = {{ uris = ["{uri}"] }}')
            numbers.append(prefix + "550100")
        elif kind < 0.92:  # an exchange block
            head = fresh(5, "6")
            rule(f"block-{i}", f'pattern = "_{head}[0-4]X"\nqueue = {{ name = "q{i % 20}" }}')
            numbers.append(head + "12")
        elif kind < 0.985:  # a regex anchored on a prefix
            head = fresh(5, "7")
            rule(f"regex-{i}", f"regex = '^{head}(\\d{{2}})$'\nreject = {{ status = 403 }}")
            numbers.append(head + "21")
        elif kind < 0.995:  # a rewrite into the special lines
            head = fresh(4, "8")
            action = 'rewrite = { strip = 2, prepend = "55" }'
            rule(f"rewrite-{i}", f'pattern = "_{head}XXX"\n{action}')
            numbers.append(head + "000")
        else:  # a regex with no literal prefix: scanned on every lookup
            tail = fresh(5, "9")
            rule(f"scan-{i}", f"regex = '{tail}$'\nreject = {{ status = 404 }}")
            numbers.append("3" + tail)
    numbers.extend(fresh(7, "2") for _ in range(len(numbers) // 10))  # no route
    return "\n".join(parts), numbers


def measure(route, calls: list[tuple[Caller, str]], now: float) -> list[int]:
    timings: list[int] = []
    clock = time.perf_counter_ns
    for caller, number in calls:
        start = clock()
        route(caller, number, now)
        timings.append(clock() - start)
    return timings


def report(label: str, timings: list[int]) -> None:
    timings = sorted(timings)
    median = statistics.median(timings) / 1000
    p99 = timings[int(len(timings) * 0.99)] / 1000
    sys.stdout.write(f"{label:<28} median {median:7.2f} µs   p99 {p99:7.2f} µs\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    text, numbers = build_plan_text(args.rules, rng)
    start = time.perf_counter()
    plan = load_dialplan({"bench.toml": text})
    loaded = time.perf_counter()
    compiled = compile_dialplan(plan)
    compiled_at = time.perf_counter()
    directory = Directory([ExchangeEntry("ASH", "5551"), ExchangeEntry("BIR", "5552")])
    router = Router(compiled, directory)
    sys.stdout.write(
        f"{len(plan.rules)} rules: loaded and validated in {loaded - start:.2f} s, "
        f"compiled in {(compiled_at - loaded) * 1000:.0f} ms\n"
    )

    caller = Caller("5551234", "ASH", "residential")
    now = time.time()
    calls = [(caller, rng.choice(numbers)) for _ in range(args.calls)]
    for caller_, number in calls[:1000]:  # the compiled plan agrees with the in-order walk
        walk = router.decide(
            caller_, number, now, lambda n, ctx: first_match_in_order(plan.rules, n, ctx)
        )
        assert walk == router.route(caller_, number, now), number

    gc.collect()
    gc.freeze()
    measure(router.route, calls[:10_000], now)  # warm up
    report("route(), compiled plan", measure(router.route, calls, now))

    def walk_route(caller_: Caller, number: str, now_: float) -> object:
        return router.decide(
            caller_, number, now_, lambda n, ctx: first_match_in_order(plan.rules, n, ctx)
        )

    report("route(), in-order walk", measure(walk_route, calls[:2_000], now))


if __name__ == "__main__":
    main()
