"""Peak memory of the validator on hostile inputs: an all-bad file, a gzip bomb, one huge line.

    python -m bench.memory [--runs 3] [--python PYTHON] [--keep DIR]

Writes the three inputs in a temporary folder (deleted afterwards unless --keep), then validates
each `--runs` times, each run its own process under `time -v` (GNU time; without it, the same
figure from os.wait4): `python -m bench.memory --child FILE CONTRACT`, which is `bench.method`'s
`ours` (the Lambda's code path on a local file) plus the reasons the report gives. Prints every
run and a table of medians. Run it where numpy is (the generator needs it) and pass the Lambda's
environment, without pandas, as --python: pandera imports pandas when it can, about 60 MB more.

1. all-bad: 1,000 MB from bench.generate with --bad-rate 1 (one fault in every row after the
   first 1,000), bench/orders_bench.yaml;
2. bomb: a .csv.gz of 64 gzip members, each 256 MiB of the first row repeated (16 GiB once
   inflated, about 58 MB stored), against orders_bench.yaml without its max_bytes: the default
   limit applies;
3. one-line: the header, then one line of 600 MB (a single field, no line end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = Path(__file__).resolve().parent / "orders_bench.yaml"
ALL_BAD_BYTES = 1_000_000_000
BOMB_MEMBER, BOMB_MEMBERS = 256 << 20, 64
LINE_BYTES = 600_000_000


def all_bad(folder: Path) -> Path:
    from bench import generate

    generate.DATA = folder  # not the cache in bench/data
    return generate.generate(ALL_BAD_BYTES / (1 << 30), seed=7, bad_rate=1.0)


def bomb(folder: Path, rows_from: Path) -> tuple[Path, Path]:
    """The gzip bomb and a copy of the bench contract without max_bytes (same name: it must match)."""
    with rows_from.open("rb") as file:
        header, row = file.readline(), file.readline()
    member = gzip_member(row * (BOMB_MEMBER // len(row)))  # one row: the shortest match distance
    path = folder / "bomb.csv.gz"
    with path.open("wb") as out:
        out.write(gzip_member(header))
        for _ in range(BOMB_MEMBERS):
            out.write(member)
    contract = folder / "default_limit" / CONTRACT.name
    contract.parent.mkdir()
    contract.write_text(re.sub(r"(?m)^max_bytes:.*\n", "", CONTRACT.read_text()))
    return path, contract


def gzip_member(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
    return packer.compress(data) + packer.flush()


def one_line(folder: Path, header: bytes) -> Path:
    path, piece = folder / "one_line.csv", b"x" * (1 << 20)
    with path.open("wb") as out:
        out.write(header)
        for start in range(0, LINE_BYTES, len(piece)):
            out.write(piece[:LINE_BYTES - start])
    return path


def run_once(python: str, path: Path, contract: Path, grace: float = 60) -> dict:
    """One child under `time -v`. Its wall time ends when it prints its report; a child still there
    `grace` s later is killed, its peak RSS read first (a one-line run hung so at exit once)."""
    timer = shutil.which("time")
    command = [python, "-m", "bench.memory", "--child", str(path), str(contract)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started, reported, hwm = time.perf_counter(), None, None
        proc = subprocess.Popen([timer, "-v", *command] if timer else command, cwd=ROOT,
                                stdout=out, stderr=err, start_new_session=True)
        while not (done := os.wait4(proc.pid, os.WNOHANG))[0]:
            time.sleep(0.05)
            if reported is None and os.fstat(out.fileno()).st_size:
                reported = time.perf_counter()
            elif reported and time.perf_counter() - reported > grace and not hwm:
                try:
                    hwm = _peak_kib(_child_of(proc.pid) if timer else proc.pid)
                except (OSError, IndexError):  # it has just ended after all
                    continue
                os.killpg(proc.pid, signal.SIGKILL)
        _, status, usage = done
        out.seek(0), err.seek(0)
        report, log = out.read().decode(), err.read().decode()
    if not report:
        raise SystemExit(f"{path.name}: no report, exit status {status}\n{log[-2000:]}")
    result = json.loads(report.splitlines()[-1])
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)  # else the same figure, os.wait4's
    exit_code = os.waitstatus_to_exitcode(status)
    result.update(rss_mib=int(hwm or (found[1] if found else usage.ru_maxrss)) / 1024,
                  wall=(reported or time.perf_counter()) - started,
                  exit=f"hung after its report, killed after {grace:.0f} s" if hwm else
                  f"exit code {exit_code} after its report" if exit_code else "")
    return result


def _child_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])


def _peak_kib(pid: int) -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1])


def outcome(result: dict) -> str:
    whole = [f"{f['reason']} ({f['check']}{', line ' + str(f['line']) if f['line'] else ''})"
             for f in result["file"]]
    rows = f"{len(result['checks'])} row checks failed, {result['failed_rows']:,} failed rows"
    return "; ".join([*whole, rows] if result["checks"] else whole or ["accepted"])


def child(path: Path, contract_path: Path) -> None:
    """`bench.method`'s `ours`, keeping the Reading for its reasons."""
    from bench import method
    from etl_validator import validation

    readings = []
    validate = validation.validate

    def keep(*args):
        readings.append(validate(*args))
        return readings[-1]

    validation.validate = keep  # run_ours imports it when it runs
    contract = method.load_contract(contract_path)
    started = time.perf_counter()
    method.run_ours(path, contract)
    seconds = time.perf_counter() - started
    report = readings[0].report
    file_level = [{"check": f.check, "reason": str(f.reason), "message": f.cases[0]["value"],
                   "line": f.cases[0].get("line")} for f in report.failures.values() if f.column is None]
    checks = {f"{f.column}:{f.check}": f.count for f in report.failures.values() if f.column is not None}
    print(json.dumps({"seconds": seconds, "rows": readings[0].rows, "failed_rows": report.failed_row_count,
                      "file": file_level, "checks": checks}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=sys.executable, help="the validator's environment")
    parser.add_argument("--keep", type=Path, help="write the inputs here and keep them")
    parser.add_argument("--child", nargs=2, type=Path, metavar=("FILE", "CONTRACT"))
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        bad = all_bad(folder)
        bomb_path, default_contract = bomb(folder, bad)
        line = one_line(folder, bad.open("rb").readline())
        print(f"inputs written in {time.perf_counter() - started:.0f} s", flush=True)
        cases = [("all-bad", bad, CONTRACT), ("bomb", bomb_path, default_contract), ("one-line", line, CONTRACT)]
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}")
        table = []
        for name, path, contract in cases:
            runs = []
            for i in range(args.runs):
                r = run_once(args.python, path, contract)
                runs.append(r)
                print(f"  {name} run {i + 1}: peak RSS {r['rss_mib']:.0f} MiB, {r['wall']:.1f} s wall "
                      f"({r['seconds']:.1f} s validating), {r['rows']:,} rows: {outcome(r)}"
                      f"{'; ' + r['exit'] if r['exit'] else ''}", flush=True)
            for f in runs[-1]["file"]:
                print(f"    {f['reason']}: {f['message']}")
            table.append((name, path.stat().st_size, runs))
        print(f"\n{'input':10} {'bytes':>15} {'runs':>4} {'peak RSS MiB (median)':>22} {'wall s (median)':>16}  outcome")
        for name, size, runs in table:
            rss, wall = statistics.median(r["rss_mib"] for r in runs), statistics.median(r["wall"] for r in runs)
            print(f"{name:10} {size:>15,} {len(runs):>4} {rss:>22.0f} {wall:>16.1f}  {outcome(runs[-1])}"
                  f"{'' if rss < 600 else '  OVER 600 MB'}")
    finally:
        if not args.keep:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
