"""The long differential fuzzing run of gradlens_core against PyTorch (run by hand).

    .venv/bin/python scripts/fuzz_long.py                 # 10,000 random programs
    .venv/bin/python scripts/fuzz_long.py -n 2000 --seed 7
    .venv/bin/python scripts/fuzz_long.py --ignore 'grad\\._version'   # look past a known bug
    .venv/bin/python scripts/fuzz_long.py --trace          # also run gradlens_core under gradlens.trace()

Uses the generator and runner of ``tests/fuzz_programs.py`` (the bounded run in
``tests/test_fuzz_torch.py`` uses the same ones). Every program that disagrees is kept;
disagreements are grouped by kind (the failing statement's shape and the fields that
differ), and the smallest program of each kind is shrunk by dropping steps and printed
with torch's and gradlens_core's outcomes. Exit status: 0 if no disagreement, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--examples", type=int, default=10_000, help="programs to run (default 10,000)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, printed)")
    parser.add_argument("--max-steps", type=int, default=None, help="steps per program (default: the generator's)")
    parser.add_argument("--ignore", action="append", default=[], metavar="REGEX", help="skip differences matching")
    parser.add_argument(
        "--trace", action="store_true", help="also run each program under gradlens.trace() and ask gradlens about it"
    )
    parser.add_argument("--all", action="store_true", help="print every disagreeing program, not one per kind")
    parser.add_argument("--no-shrink", action="store_true", help="print programs as found")
    args = parser.parse_args(argv)

    import random

    import torch
    from fuzz_programs import MAX_STEPS, check_tracing, minimize, programs, run_program
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hyp_seed

    seed = args.seed if args.seed is not None else random.randrange(2**32)
    patterns = [re.compile(p) for p in args.ignore]

    def ignore(problem: str) -> bool:
        return any(p.search(problem) for p in patterns)

    found: dict = {}
    internal: list = []
    count = [0]
    failing = [0]

    @hyp_seed(seed)
    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(programs(torch, max_steps=args.max_steps or MAX_STEPS))
    def run(program):
        count[0] += 1
        d = run_program(program, torch, ignore=ignore if patterns else None)
        if d is not None:
            failing[0] += 1
            found.setdefault(d.key, []).append(d)
        if args.trace:
            problems = check_tracing(program)
            if problems:
                internal.append((program, problems))
        if count[0] % 1000 == 0:
            print(f"... {count[0]} programs, {failing[0]} disagreeing, {len(found)} kinds", flush=True)

    print(f"fuzz_long: up to {args.examples} programs, seed {seed}", flush=True)
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    print(f"\nran {count[0]} programs in {elapsed:.0f} s: {failing[0]} disagree with torch, {len(found)} kinds")
    kinds = sorted(found.items(), key=lambda kv: -len(kv[1]))
    for n, (key, ds) in enumerate(kinds, 1):
        print("\n" + "=" * 100)
        print(f"kind {n}/{len(kinds)}: {len(ds)} programs; statement `{key[0]}`, fields {list(key[1])}")
        shown = ds if args.all else [min(ds, key=lambda d: len(d.program.steps))]
        for d in shown:
            if not args.no_shrink:
                d = minimize(d, torch, ignore=ignore if patterns else None)
            print(d.report())
    if internal:
        print("\n" + "=" * 100)
        print(f"{len(internal)} programs where tracing changed something or gradlens failed (--trace):")
        for program, problems in sorted(internal, key=lambda x: len(x[0].steps))[:20]:
            print(program.source())
            print("\n".join(problems))
            print("-" * 60)
    return 1 if found or internal else 0


if __name__ == "__main__":
    sys.exit(main())
