"""bench.cost: the arithmetic on small examples checked by hand (docs/cost.md)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.cost import (
    Activity,
    Counts,
    Prices,
    after_daily,
    batches_per_day,
    before_daily,
    billed,
    crawl_cost,
    from_counts,
    job_run_cost,
    main,
    read_counts,
    windows_per_day,
)

# 1,000 files in 10 batches: 9 transitions and 3 Lambda invocations a file, 12 and 2 a batch, one crawl
RUN = {"transitions": 9_120, "crawls": 1, "glue_job_runs": 10, "lambda_invocations": 3_020}


def only(**kept: float) -> Prices:
    """Prices with every rate zero but the ones named (the minimums keep their defaults)."""
    rates = {f.name: 0.0 for f in dataclasses.fields(Prices) if not f.name.endswith("_min_seconds")}
    return Prices(**{**rates, **kept})


def activity(**changes: object) -> Activity:
    return dataclasses.replace(Activity(transitions_per_file=11, transitions_per_batch=8,
                                        lambda_invocations_per_file=3, lambda_invocations_per_batch=2,
                                        crawls_per_batch=0, job_runs_per_batch=1), **changes)


def write_counts(tmp_path, lines: list[dict]) -> object:
    path = tmp_path / "counts.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(("seconds", "minimum", "expected"), [
    (20, 60, 60),      # a short Glue job run: the 1-minute minimum
    (61.2, 60, 62),    # per second, whole seconds
    (90, 600, 600),    # a 90 s crawl: the 10-minute minimum
    (601, 600, 601),
])
def test_billed_seconds(seconds: float, minimum: float, expected: float) -> None:
    assert billed(seconds, minimum) == expected


def test_glue_run_and_crawl_at_their_minimums() -> None:
    p = Prices()
    assert job_run_cost(20, 2, p) == pytest.approx(2 * 60 / 3600 * 0.44)  # $0.01467
    assert job_run_cost(125, 2, p) == pytest.approx(2 * 125 / 3600 * 0.44)
    assert crawl_cost(90, 1, p) == pytest.approx(600 / 3600 * 0.44)  # $0.07333
    assert crawl_cost(90, 2, p) == pytest.approx(2 * 600 / 3600 * 0.44)


@pytest.mark.parametrize(("schedule", "windows"), [
    ("rate(5 minutes)", 288),
    ("rate(15 minutes)", 96),
    ("rate(1 hour)", 24),
    ("rate(1 minute)", 1440),
    ("rate(2 days)", 0.5),
    ("cron(0 12 * * ? *)", 1),          # daily at 12:00
    ("cron(0,30 8,20 * * ? *)", 4),
    ("cron(15 * * * ? *)", 24),
])
def test_windows_per_day(schedule: str, windows: float) -> None:
    assert windows_per_day(schedule) == windows


@pytest.mark.parametrize("schedule", ["rate(0 minutes)", "cron(0 12 ? * MON-FRI *)", "cron(*/5 * * * ? *)",
                                      "daily", "rate(5 weeks)"])
def test_unsupported_schedules_are_refused(schedule: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        windows_per_day(schedule)


@pytest.mark.parametrize(("files", "windows", "batch_max", "batches"), [
    (0, 288, 100, 0),
    (1, 288, 100, 1),           # one file: one window has it
    (200, 288, 100, 200),       # fewer files than windows: a window each
    (10_000, 288, 100, 288),    # 35 a window: every window, no early start
    (10_000, 96, 100, 192),     # 104 a window: one early batch at 100, the window takes the rest
    (10_000, 1, 100, 100),      # daily: early batches of 100 through the day
    (1_000, 1, 100, 10),
    (1_000, 24, 100, 24),
])
def test_batches_per_day(files: int, windows: float, batch_max: int, batches: float) -> None:
    assert batches_per_day(files, windows, batch_max) == batches


def test_before_is_a_crawl_and_a_job_run_per_file() -> None:
    p = only(crawler_dpu_hour=0.44, job_dpu_hour=0.44, transition=0.025 / 1000)
    one_dpu = sum(before_daily(1, activity(crawler_dpus=1), p=p).values())
    two_dpus = sum(before_daily(1, activity(crawler_dpus=2), p=p).values())
    assert one_dpu == pytest.approx(0.073333 + 0.014667 + 30 * 0.000025, abs=1e-6)  # $0.08875
    assert two_dpus == pytest.approx(0.146667 + 0.014667 + 30 * 0.000025, abs=1e-6)  # $0.16208
    assert sum(before_daily(1_000, activity(crawler_dpus=1), p=p).values()) == pytest.approx(1_000 * one_dpu)


def test_after_10000_files_every_5_minutes_by_hand() -> None:
    p = only(job_dpu_hour=0.44, transition=0.025 / 1000)
    cost = after_daily(10_000, "rate(5 minutes)", activity(), batch_max_files=100, p=p)
    # 288 batches of 34.7 files: ceil(90 + 34.7) = 125 s on 2 DPU; 10,000 x 11 + 288 x 8 transitions
    assert cost["Glue job"] == pytest.approx(288 * 2 * 125 / 3600 * 0.44)  # $8.80
    assert cost["Step Functions"] == pytest.approx((110_000 + 2_304) * 0.000025)  # $2.81
    assert sum(cost.values()) / 10_000 == pytest.approx(0.00116076, rel=1e-5)


def test_idle_windows_are_paid_for() -> None:
    p = only(transition=0.025 / 1000, schedule_invocation=1e-6, sqs_request=0.4e-6, lambda_request=0.2e-6)
    cost = after_daily(1, "rate(5 minutes)", activity(), p=p)
    # one batch; the other 287 windows start the batch machine, count nothing pending and stop:
    # 3 transitions and one SQS call each, no Lambda
    assert cost["Step Functions"] == pytest.approx((11 + 8 + 287 * 3) * 0.000025)
    assert cost["EventBridge Scheduler"] == pytest.approx(288e-6)
    assert cost["SQS"] == pytest.approx((3 + 287) * 0.4e-6)
    assert cost["Lambda"] == pytest.approx((3 + 2) * 0.2e-6)
    daily = after_daily(1, "cron(0 12 * * ? *)", activity(), p=p)
    assert daily["Step Functions"] == pytest.approx((11 + 8) * 0.000025)


def test_a_crawl_is_paid_only_by_the_batches_that_crawl() -> None:
    p = only(crawler_dpu_hour=0.44)
    assert after_daily(10_000, "rate(5 minutes)", activity(), p=p)["Glue crawler"] == 0
    cost = after_daily(10_000, "rate(5 minutes)", activity(crawls_per_batch=0.1, crawler_dpus=2), p=p)
    assert cost["Glue crawler"] == pytest.approx(288 * 0.1 * 2 * 600 / 3600 * 0.44)


def test_read_counts_one_run(tmp_path) -> None:
    path = write_counts(tmp_path, [{"batch_id": "b1", "run": RUN}, {"batch_id": "b1", "run": RUN},
                                   {"batch_id": None, "run": RUN}, {"batch_id": "b2", "run": RUN}])
    assert read_counts(path) == Counts(files=4, batches=2, **RUN)


@pytest.mark.parametrize(("lines", "message"), [
    ([{"batch_id": "b1", "run": RUN}, {"batch_id": "b1", "run": {**RUN, "crawls": 2}}], "different runs"),
    ([{"batch_id": "b1"}], "no `run` object"),
    ([{"batch_id": "b1", "run": {"transitions": 3}}], "no `run` object"),
    ([], "no results"),
])
def test_read_counts_refuses(tmp_path, lines: list[dict], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_counts(write_counts(tmp_path, lines))


def test_from_counts_splits_per_file_and_per_batch() -> None:
    act = from_counts(Counts(files=1_000, batches=10, **RUN))  # 12 transitions and 2 invocations a batch
    assert (act.transitions_per_file, act.lambda_invocations_per_file) == (9, 3)
    assert from_counts(Counts(files=1_000, batches=10, **RUN), batch_transitions=8).transitions_per_file == 9.04
    assert (act.crawls_per_batch, act.job_runs_per_batch) == (0.1, 1)
    assert act.gb_seconds_per_file == pytest.approx(2 * 1.0 + 0.5 * 0.3 + 0.125 * 0.1)
    with pytest.raises(ValueError, match="fewer than"):
        from_counts(Counts(files=1, batches=10, transitions=20, crawls=0, glue_job_runs=10, lambda_invocations=40))
    with pytest.raises(ValueError, match="nothing to price"):
        from_counts(Counts(files=3, batches=0, transitions=30, crawls=0, glue_job_runs=0, lambda_invocations=6))


def test_batching_10000_files_a_day_costs_at_most_a_fifth_of_a_cent(tmp_path) -> None:
    act = from_counts(read_counts(write_counts(tmp_path, [{"batch_id": f"b{i // 100}", "run": RUN}
                                                           for i in range(1_000)])))
    after = sum(after_daily(10_000, "rate(5 minutes)", act).values()) / 10_000
    before = sum(before_daily(10_000, act).values()) / 10_000
    assert after <= 0.002
    assert 0.15 <= before <= 0.17
    assert 0.085 <= sum(before_daily(1, dataclasses.replace(act, crawler_dpus=1)).values()) <= 0.095


def test_cli_prints_the_tables(tmp_path, capsys) -> None:
    path = write_counts(tmp_path, [{"batch_id": f"b{i // 100}", "run": RUN} for i in range(1_000)])
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "| rate(5 minutes) | 10,000 | 288 |" in out
    assert "| cron(0 12 * * ? *) | 10,000 | 10 |" in out  # BatchMaxFiles 1000: early batches through the day
    assert "| Glue job |" in out
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    assert "bench.cost:" in capsys.readouterr().err
