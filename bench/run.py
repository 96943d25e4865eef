"""`make bench`: ours (the Lambda's streaming validator) vs pandas+pandera vs DuckDB SQL.

    BENCH_SIZES=1,4 BENCH_REPEATS=3 python -m bench.run      # sizes in GB (0.1 for a quick run)
    BENCH_SIZES=1,4 BENCH_REPEATS=3,1 python -m bench.run    # repeats per size

Per size: the CSV is generated once (cached in bench/data/), then each method runs REPEATS times,
each time as its own process; its wall time comes from inside the process (imports excluded) and
its peak RSS from os.wait4. Prints the failure counts of every method (they must agree), a table
of median MB/s and max peak RSS, and PASS/MISS per target. A miss never fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import psutil

from .generate import generate

METHODS = ["ours", "pandas", "duckdb"]
PANDAS_RSS_PER_BYTE = 5.5  # pandas+pandera peaked at about 5x the file size (docs/performance.md)


def run_once(method: str, path: Path) -> dict:
    proc = subprocess.Popen([sys.executable, "-m", "bench.method", method, str(path)],
                            stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        return {"method": method, "error": f"exit code {proc.returncode}", "rss_mb": usage.ru_maxrss / 1024}
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    return result


def pandas_fits(size_bytes: int) -> bool:
    return size_bytes * PANDAS_RSS_PER_BYTE < psutil.virtual_memory().available * 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "1,4"))
    parser.add_argument("--repeats", default=os.environ.get("BENCH_REPEATS", "3"),
                        help="runs per method: one number, or one per size (e.g. 3,1)")
    parser.add_argument("--bad-rate", type=float, default=float(os.environ.get("BENCH_BAD_RATE", "0.01")))
    parser.add_argument("--methods", default=os.environ.get("BENCH_METHODS", ",".join(METHODS)))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    methods = [m for m in args.methods.split(",") if m]
    repeats = [int(r) for r in args.repeats.split(",")]
    repeats = dict(zip(sizes, repeats if len(repeats) == len(sizes) else [repeats[0]] * len(sizes)))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, python {platform.python_version()}")
    print(f"sizes {sizes} GB, repeats {list(repeats.values())}, bad rows {args.bad_rate:.2%}", flush=True)

    results: dict[tuple[float, str], list[dict]] = {}
    mb: dict[float, float] = {}
    for gb in sizes:
        path = generate(gb, args.seed, args.bad_rate)
        size = path.stat().st_size
        mb[gb] = size / 1e6
        print(f"\n== {gb:g} GB: {path.name} ({size / 1e6:,.0f} MB)", flush=True)
        for method in methods:
            if method == "pandas" and not pandas_fits(size):
                print(f"  pandas: skipped, would need about {size * PANDAS_RSS_PER_BYTE / 2**30:.1f} GiB")
                continue
            runs = results.setdefault((gb, method), [])
            for i in range(repeats[gb]):
                r = run_once(method, path)
                runs.append(r)
                if "error" in r:
                    print(f"  {method} run {i + 1}: FAILED {r['error']}", flush=True)
                    break
                print(f"  {method} run {i + 1}: {r['seconds']:.1f} s, {mb[gb] / r['seconds']:.0f} MB/s, "
                      f"peak RSS {r['rss_mb']:.0f} MB, {r['rows']:,} rows", flush=True)
        _correctness(gb, methods, results)

    table = _table(sizes, methods, results, mb)
    _targets(sizes, table)
    out = path.parent / f"results-{args.sizes.replace(',', '_')}gb.json"
    out.write_text(json.dumps({f"{gb:g}:{m}": runs for (gb, m), runs in results.items()}, indent=1))
    print(f"\nraw results: {out}")


def _correctness(gb: float, methods: list[str], results) -> None:
    counts = {m: results[(gb, m)][0].get("failures") for m in methods
              if results.get((gb, m)) and "error" not in results[(gb, m)][0]}
    if not counts:
        return
    keys = sorted(set().union(*(c.keys() for c in counts.values())))
    print(f"  failure counts ({gb:g} GB):")
    print("    " + f"{'column:check':28}" + "".join(f"{m:>10}" for m in counts))
    for key in keys:
        print("    " + f"{key:28}" + "".join(f"{counts[m].get(key, 0):>10,}" for m in counts))
    agree = len({json.dumps(c, sort_keys=True) for c in counts.values()}) == 1
    print(f"  methods agree on every count: {'YES' if agree else 'NO'}", flush=True)


def _table(sizes, methods, results, mb) -> dict:
    table = {}
    print(f"\n{'size':>6} {'method':8} {'runs':>4} {'MB/s (median)':>14} {'peak RSS MB (max)':>18}")
    for gb in sizes:
        for m in methods:
            runs = [r for r in results.get((gb, m), []) if "error" not in r]
            if not runs:
                print(f"{gb:>5g}G {m:8} {'-':>4} {'skipped/failed':>14}")
                continue
            speed = mb[gb] / statistics.median(r["seconds"] for r in runs)
            rss = max(r["rss_mb"] for r in runs)
            table[(gb, m)] = (speed, rss)
            print(f"{gb:>5g}G {m:8} {len(runs):>4} {speed:>14.0f} {rss:>18.0f}")
    return table


def _targets(sizes, table) -> None:
    print("\ntargets:")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    for gb in sizes:
        ours = table.get((gb, "ours"))
        if not ours:
            continue
        if (gb, "pandas") in table:
            ratio = ours[0] / table[(gb, "pandas")][0]
            print(f"  {gb:g} GB ours/pandas throughput {ratio:.2f}x (target >= 4x): {verdict(ratio >= 4)}")
        if (gb, "duckdb") in table:
            ratio = ours[0] / table[(gb, "duckdb")][0]
            print(f"  {gb:g} GB ours/duckdb throughput {ratio:.2f}x (target >= 0.8x): {verdict(ratio >= 0.8)}")
        print(f"  {gb:g} GB ours peak RSS {ours[1]:.0f} MB (target < 600 MB): {verdict(ours[1] < 600)}")
    if (1.0, "ours") in table and (4.0, "ours") in table:
        growth = table[(4.0, "ours")][1] / table[(1.0, "ours")][1]
        print(f"  ours peak RSS 4 GB / 1 GB {growth:.2f}x (target <= 1.10x): {verdict(growth <= 1.10)}")
    else:
        print("  ours peak RSS 4 GB vs 1 GB: not measured (needs BENCH_SIZES with 1 and 4)")


if __name__ == "__main__":
    main()
