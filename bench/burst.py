"""`make burst FILES=1000`: drop a burst of uploads at once on the local stack with AWS timing.

    python -m bench.burst --files 1000 [--latency aws] [--time-scale 60] [--root PATH] [--counts FILE]

Every file is the orders sample under its own name (one in 20 the bad sample, to be rejected).
Prints how each ended, the wall time, the batches, crawls, Glue job runs, Lambda invocations and
state transitions per file, and writes the `etl-local run --json` lines to `--counts` for
`python -m bench.cost`. `--root` runs another checkout's template, state machines and code on
this local stack (e.g. the per-file design before batching, to see a burst fail it). Exit code
1 when a file did not end as expected or an execution failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "samples" / "orders" / "orders-2026-11-20.csv"
BAD = ROOT / "samples" / "orders" / "orders-bad.csv"
BAD_EVERY = 20


def burst_files(folder: Path, count: int) -> list[tuple[Path, str, str]]:
    """(path, key, expected outcome) for `count` uploads of the orders samples."""
    files = []
    for i in range(count):
        bad = i % BAD_EVERY == BAD_EVERY - 1
        path = folder / f"burst-{i:05d}.csv"
        path.write_bytes((BAD if bad else GOOD).read_bytes())
        files.append((path, f"incoming/orders/{path.name}", "rejected" if bad else "processed"))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--latency", choices=["off", "aws"], default="aws")
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose template and code to run")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the whole burst")
    parser.add_argument("--counts", type=Path, help="write the run's JSON lines here (for bench.cost)")
    args = parser.parse_args(argv)

    from etl_local.stack import LocalStack

    stack = LocalStack(args.root, stack_name="etl-burst", latency=args.latency, time_scale=args.time_scale).start()
    try:
        files = burst_files(Path(tempfile.mkdtemp(prefix="burst-")), args.files)
        started = time.monotonic()
        results = stack.run_files([(path, key) for path, key, _ in files], timeout=args.timeout)
        wall = time.monotonic() - started
        run = stack.run_counts()
    finally:
        stack.stop()
    wrong = [(key, expected, r["outcome"]) for (_, key, expected), r in zip(files, results) if r["outcome"] != expected]
    unnotified = [r["key"] for r in results if len(r["notifications"]) != 1]
    failed = [r["key"] for r in results if r["execution_status"] == "FAILED"]
    batches = {r["batch_id"] for r in results if r.get("batch_id")}
    if args.counts:
        args.counts.write_text("".join(json.dumps(r | {"run": run}, default=str) + "\n" for r in results))
    print(json.dumps({
        "files": args.files, "latency": args.latency, "time_scale": args.time_scale,
        "wall_seconds": round(wall, 1), "outcomes": dict(Counter(r["outcome"] for r in results)),
        "failed_executions": len(failed), "not_as_expected": len(wrong), "not_one_notification": len(unnotified),
        "batches": len(batches), **run, "transitions_per_file": round(run["transitions"] / args.files, 2),
    }, indent=2))
    for key, expected, outcome in wrong[:10]:
        print(f"  {key}: expected {expected}, got {outcome}", file=sys.stderr)
    return 1 if wrong or failed or unnotified else 0


if __name__ == "__main__":
    sys.exit(main())
