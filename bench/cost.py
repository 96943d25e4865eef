"""Cost per file and per day in us-east-1: one crawl and one Glue job run per file ("before") against
the batched design ("after"), from the counts of a local run. Method, prices and sources: docs/cost.md.

    make burst FILES=1000                          # writes .local/burst-counts.jsonl
    python -m bench.cost .local/burst-counts.jsonl [--batch-max-files 1000] [--crawler-dpus 2] [--schedule ...]

Each line of counts.jsonl is one file's result. It carries `batch_id` (null when the file never went
into a batch, or its batch failed: rejected, ignored, failed) and `run`, the counts of the whole run: {"transitions", "crawls",
"glue_job_runs", "lambda_invocations"}. What a local run cannot count (Glue run seconds, crawler DPUs,
Lambda durations, S3/SQS/SNS/DynamoDB requests) is a field with a documented default: an assumption,
not a count. On-demand prices; free tiers are left out (they are per account, not per file).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

MILLION = 1_000_000
RUN_KEYS = ("transitions", "crawls", "glue_job_runs", "lambda_invocations")
SCHEDULES = ("rate(5 minutes)", "rate(15 minutes)", "rate(1 hour)", "cron(0 12 * * ? *)")
FILES_PER_DAY = (1, 1_000, 10_000)


@dataclass(frozen=True)
class Prices:
    """On-demand prices in USD, us-east-1 (the quotes and where they were found: docs/cost.md)."""

    # https://aws.amazon.com/glue/pricing/ : crawlers and Spark jobs $0.44 per DPU-hour, billed per
    # second; a crawler run is billed at least 10 minutes, a Glue 2.0+ Spark job run at least 1 minute.
    crawler_dpu_hour: float = 0.44
    crawler_min_seconds: float = 600
    job_dpu_hour: float = 0.44
    job_min_seconds: float = 60
    # https://aws.amazon.com/step-functions/pricing/ : Standard, $0.025 per 1,000 state transitions.
    transition: float = 0.025 / 1000
    # https://aws.amazon.com/lambda/pricing/ : Arm $0.0000133334 per GB-second, $0.20 per 1M requests.
    lambda_gb_second: float = 0.0000133334
    lambda_request: float = 0.20 / MILLION
    # https://aws.amazon.com/sqs/pricing/ : standard queue $0.40 per 1M requests (64 KB chunks).
    sqs_request: float = 0.40 / MILLION
    # https://aws.amazon.com/sns/pricing/ : standard topic $0.50 per 1M publishes (64 KB chunks).
    sns_publish: float = 0.50 / MILLION
    # https://aws.amazon.com/dynamodb/pricing/on-demand/ : $0.625 per 1M WRU, $0.125 per 1M RRU.
    ddb_write: float = 0.625 / MILLION
    ddb_read: float = 0.125 / MILLION
    # https://aws.amazon.com/eventbridge/pricing/ : Scheduler $1.00 per 1M invocations (14M a month free).
    schedule_invocation: float = 1.00 / MILLION
    # https://aws.amazon.com/s3/pricing/ : S3 Standard $0.005 per 1,000 PUT/COPY/POST/LIST,
    # $0.0004 per 1,000 GET/HEAD (and other) requests.
    s3_put: float = 0.005 / 1000
    s3_get: float = 0.0004 / 1000


@dataclass(frozen=True)
class Fn:
    """A Lambda function's memory (MB) and assumed billed duration (s) per invocation."""

    memory_mb: int
    seconds: float

    @property
    def gb_seconds(self) -> float:
        return self.memory_mb / 1024 * self.seconds


@dataclass(frozen=True)
class Activity:
    """What the batched design does per file, per batch and per idle schedule window.

    The first six fields are counted (`from_counts`); every field with a default is an assumption."""

    transitions_per_file: float
    transitions_per_batch: float
    lambda_invocations_per_file: float
    lambda_invocations_per_batch: float
    crawls_per_batch: float
    job_runs_per_batch: float
    # Glue: G.1X workers (1 DPU each, 2 at least); run seconds = base + per file x files in the batch
    # (10,000 files a day in 288 batches: 90 + 35 = 125 s, about 2 minutes billed).
    job_workers: int = 2
    job_base_seconds: float = 90
    job_seconds_per_file: float = 1.0
    # A crawl of a small prefix takes 60-120 s, so the 10-minute minimum decides; Glue meters a
    # crawl's DPUs itself (ListCrawls DPUHour) and publishes no fixed number: 2 is an assumption.
    crawl_seconds: float = 90
    crawler_dpus: float = 2
    # Lambda, arm64: per file validator + mover + handoff; per batch collect + resume.
    validator: Fn = Fn(2048, 1.0)
    mover: Fn = Fn(512, 0.3)
    handoff: Fn = Fn(128, 0.1)
    collect: Fn = Fn(512, 2.0)
    resume: Fn = Fn(256, 1.0)
    # Requests per file: SQS send, pending count, a share of batched receive and delete (rounded up);
    # one notification; the claim; S3 upload, report, staged CSV, move, Parquet (PUT class) and
    # read, head, job reads (GET class).
    sqs_per_file: float = 3
    sns_per_file: float = 1
    ddb_writes_per_file: float = 1
    ddb_reads_per_file: float = 0
    s3_puts_per_file: float = 5
    s3_gets_per_file: float = 4
    # Per batch: the batch lock taken and released; manifest, results, listings.
    ddb_writes_per_batch: float = 2
    s3_puts_per_batch: float = 3
    s3_gets_per_batch: float = 3
    # A window that fires with nothing pending: CountPending (one SQS call), AnythingToDo, Idle.
    idle_window_transitions: float = 3
    sqs_per_idle_window: float = 1

    @property
    def gb_seconds_per_file(self) -> float:
        return self.validator.gb_seconds + self.mover.gb_seconds + self.handoff.gb_seconds

    @property
    def gb_seconds_per_batch(self) -> float:
        return self.collect.gb_seconds + self.resume.gb_seconds


@dataclass(frozen=True)
class Before:
    """The per-file design: one crawl, one Glue job run (billed at least 1 minute), ~30 transitions
    (crawler polls included); two Lambda functions. Crawl, Lambda and request figures: Activity's
    (its SQS requests and batch lock excepted)."""

    transitions_per_file: float = 30
    job_seconds: float = 60


@dataclass(frozen=True)
class Counts:
    """One run of the local stack: files, distinct batches, and the run's counts."""

    files: int
    batches: int
    transitions: int
    crawls: int
    glue_job_runs: int
    lambda_invocations: int


def read_counts(path: Path) -> Counts:
    """Read `etl-local run --json` output: one JSON object per file, all of one run."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: no results")
    for number, line in enumerate(lines, 1):
        if not isinstance(line.get("run"), dict) or any(k not in line["run"] for k in RUN_KEYS):
            raise ValueError(f"{path}:{number}: no `run` object with {', '.join(RUN_KEYS)}")
    if len({json.dumps(line["run"], sort_keys=True) for line in lines}) > 1:
        raise ValueError(f"{path}: lines of different runs; give one run's output")
    run = lines[0]["run"]
    batches = {line.get("batch_id") for line in lines} - {None}
    return Counts(len(lines), len(batches), **{k: int(run[k]) for k in RUN_KEYS})


def from_counts(counts: Counts, batch_transitions: float = 12, batch_lambda_invocations: float = 2,
                **assumed: object) -> Activity:
    """Per file and per batch activity from a run. A run counts totals; the batch machine's share is
    taken as its happy path (statemachine/batch.asl.json: CountPending ... ConvertBatch, Resume ...
    Done, 12 states, with collect and resume its two Lambda invocations), the rest is per file."""
    if counts.batches == 0 or counts.files == 0:
        raise ValueError("no file of the run went into a batch: nothing to price")

    def per_file(total: float, per_batch: float, what: str) -> float:
        share = (total - per_batch * counts.batches) / counts.files
        if share < 0:
            raise ValueError(f"{total} {what} is fewer than {per_batch} per batch x {counts.batches} batches")
        return share

    return Activity(
        transitions_per_file=per_file(counts.transitions, batch_transitions, "transitions"),
        transitions_per_batch=batch_transitions,
        lambda_invocations_per_file=per_file(counts.lambda_invocations, batch_lambda_invocations,
                                             "Lambda invocations"),
        lambda_invocations_per_batch=batch_lambda_invocations,
        crawls_per_batch=counts.crawls / counts.batches,
        job_runs_per_batch=counts.glue_job_runs / counts.batches,
        **assumed)  # type: ignore[arg-type]


RATE = re.compile(r"rate\((\d+) (minutes?|hours?|days?)\)")
CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")
UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def windows_per_day(schedule: str) -> float:
    """How many times a day the schedule fires: rate(N minutes) -> 1440/N; a cron that fires every
    day -> minutes listed x hours listed (cron(0 12 * * ? *), daily at 12:00 -> 1)."""
    if match := RATE.fullmatch(schedule.strip()):
        every = int(match[1]) * UNIT_MINUTES[match[2].rstrip("s")]
        if every:
            return 1440 / every
    elif match := CRON.fullmatch(schedule.strip()):
        minutes, hours, *days = match.groups()
        if set(days) <= {"*", "?"}:
            return _listed(minutes, 60) * _listed(hours, 24)
    raise ValueError(f"unsupported schedule {schedule!r}: rate(N minutes|hours|days) or a daily cron(M H * * ? *)")


def _listed(field: str, size: int) -> int:
    if field == "*":
        return size
    if re.fullmatch(r"\d+(,\d+)*", field):
        return len(set(field.split(",")))
    raise ValueError(f"unsupported cron field {field!r}: * or a list of numbers")


def batches_per_day(files: float, windows: float, batch_max_files: int) -> float:
    """Files spread evenly over the day. A window that fires with files pending runs a batch, and a
    batch starts early each time `batch_max_files` are pending, so a window of n = files / windows
    files makes ceil(n / max) batches; with fewer files than windows, each file has a window to itself."""
    if files <= windows:
        return max(files, 0)
    return windows * math.ceil(files / windows / batch_max_files)


def billed(seconds: float, minimum: float) -> float:
    """Per-second billing (whole seconds) with a minimum per run."""
    return max(minimum, math.ceil(seconds))


def job_run_cost(seconds: float, workers: int, p: Prices) -> float:
    return workers * billed(seconds, p.job_min_seconds) / 3600 * p.job_dpu_hour


def crawl_cost(seconds: float, dpus: float, p: Prices) -> float:
    return dpus * billed(seconds, p.crawler_min_seconds) / 3600 * p.crawler_dpu_hour


def lambda_cost(invocations: float, gb_seconds: float, p: Prices) -> float:
    return invocations * p.lambda_request + gb_seconds * p.lambda_gb_second


def _requests(files: float, act: Activity, p: Prices) -> dict[str, float]:
    return {"SNS": files * act.sns_per_file * p.sns_publish,
            "DynamoDB": files * (act.ddb_writes_per_file * p.ddb_write + act.ddb_reads_per_file * p.ddb_read),
            "S3 requests": files * (act.s3_puts_per_file * p.s3_put + act.s3_gets_per_file * p.s3_get)}


def after_daily(files: float, schedule: str, act: Activity, batch_max_files: int = 1000,
                p: Prices = Prices()) -> dict[str, float]:
    """USD a day by service for the batched design."""
    windows = windows_per_day(schedule)
    batches = batches_per_day(files, windows, batch_max_files)
    idle = windows - min(windows, files)  # windows that fire with nothing pending
    job_seconds = act.job_base_seconds + act.job_seconds_per_file * files / batches if batches else 0
    cost = {
        "Glue job": batches * act.job_runs_per_batch * job_run_cost(job_seconds, act.job_workers, p),
        "Glue crawler": batches * act.crawls_per_batch * crawl_cost(act.crawl_seconds, act.crawler_dpus, p),
        "Step Functions": p.transition * (files * act.transitions_per_file + batches * act.transitions_per_batch
                                          + idle * act.idle_window_transitions),
        "Lambda": lambda_cost(files * act.lambda_invocations_per_file + batches * act.lambda_invocations_per_batch,
                              files * act.gb_seconds_per_file + batches * act.gb_seconds_per_batch, p),
        "SQS": p.sqs_request * (files * act.sqs_per_file + idle * act.sqs_per_idle_window),
        **_requests(files, act, p),
        "EventBridge Scheduler": windows * p.schedule_invocation,
    }
    cost["S3 requests"] += batches * (act.s3_puts_per_batch * p.s3_put + act.s3_gets_per_batch * p.s3_get)
    cost["DynamoDB"] += batches * act.ddb_writes_per_batch * p.ddb_write
    return cost


def before_daily(files: float, act: Activity, before: Before = Before(), p: Prices = Prices()) -> dict[str, float]:
    """USD a day by service for the per-file design: a crawl and a job run for every file."""
    return {
        "Glue job": files * job_run_cost(before.job_seconds, act.job_workers, p),
        "Glue crawler": files * crawl_cost(act.crawl_seconds, act.crawler_dpus, p),
        "Step Functions": files * before.transitions_per_file * p.transition,
        "Lambda": files * lambda_cost(2, act.validator.gb_seconds + act.mover.gb_seconds, p),
        **_requests(files, act, p),
    }


def money(usd: float) -> str:
    if usd >= 100:
        return f"${usd:,.0f}"
    if usd >= 1:
        return f"${usd:.2f}"
    return f"${usd:.3g}"


def report(counts: Counts, act: Activity, schedules: tuple[str, ...] = SCHEDULES,
           files_per_day: tuple[int, ...] = FILES_PER_DAY, batch_max_files: int = 1000,
           before: Before = Before(), p: Prices = Prices()) -> str:
    """The markdown tables: cost per file and per day, then what each design pays for."""
    out = [f"Counted: {counts.files:,} files in {counts.batches:,} batches. Per file: transitions "
           f"{act.transitions_per_file:.2f}, Lambda invocations {act.lambda_invocations_per_file:.2f}. Per batch: "
           f"crawls {act.crawls_per_batch:.3g}, Glue job runs {act.job_runs_per_batch:.3g}. Assumed: BatchMaxFiles "
           f"{batch_max_files}, crawler {act.crawler_dpus:g} DPU, a job run {act.job_base_seconds:g} s + "
           f"{act.job_seconds_per_file:g} s a file on {act.job_workers} G.1X.", "",
           "| schedule | files/day | batches/day | after $/file | after $/day | before $/file | before $/day |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for schedule in schedules:
        for files in files_per_day:
            after = sum(after_daily(files, schedule, act, batch_max_files, p).values())
            was = sum(before_daily(files, act, before, p).values())
            batches = batches_per_day(files, windows_per_day(schedule), batch_max_files)
            out.append(f"| {schedule} | {files:,} | {batches:,.0f} | {money(after / files)} | {money(after)} "
                       f"| {money(was / files)} | {money(was)} |")
    files = max(files_per_day)
    after = after_daily(files, schedules[0], act, batch_max_files, p)
    was = before_daily(files, act, before, p)
    total_after, total_before = sum(after.values()), sum(was.values())
    out += ["", f"What the money goes to at {files:,} files a day (after: {schedules[0]}):", "",
            "| service | after $/day | after share | before $/day | before share |", "|---|---:|---:|---:|---:|"]
    for service in sorted(after, key=lambda s: -after[s]):
        out.append(f"| {service} | {money(after[service])} | {after[service] / total_after:.1%} "
                   f"| {money(was.get(service, 0))} | {was.get(service, 0) / total_before:.1%} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", type=Path, help="`etl-local run --json` output, one line per file")
    parser.add_argument("--schedule", action="append", help=f"repeatable; default: {', '.join(SCHEDULES)}")
    parser.add_argument("--batch-max-files", type=int, default=1000, help="the template's BatchMaxFiles")
    parser.add_argument("--batch-transitions", type=float, default=12,
                        help="transitions of one batch run (the rest of the count is per file)")
    parser.add_argument("--crawls-per-batch", type=float,
                        help="instead of the counted rate (a fresh catalog counts first-sight crawls)")
    parser.add_argument("--crawler-dpus", type=float, default=Activity.crawler_dpus)
    parser.add_argument("--job-base-seconds", type=float, default=Activity.job_base_seconds)
    parser.add_argument("--job-seconds-per-file", type=float, default=Activity.job_seconds_per_file)
    args = parser.parse_args(argv)
    try:
        counts = read_counts(args.counts)
        act = from_counts(counts, batch_transitions=args.batch_transitions)
        act = replace(act, crawler_dpus=args.crawler_dpus, job_base_seconds=args.job_base_seconds,
                      job_seconds_per_file=args.job_seconds_per_file)
        if args.crawls_per_batch is not None:
            act = replace(act, crawls_per_batch=args.crawls_per_batch)
        print(report(counts, act, tuple(args.schedule or SCHEDULES), batch_max_files=args.batch_max_files))
    except (OSError, ValueError) as exc:
        print(f"bench.cost: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
