"""EventBridge Scheduler expressions and fire times on the local stack (local/etl_local/schedules.py)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from etl_local import schedules
from etl_local.schedules import At, Cron, Rate, ScheduleError, next_fire, parse_expression

UTC = timezone.utc
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:batch"


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def _fires(expression, after, tz="UTC", count=3):
    parsed, zone = parse_expression(expression), ZoneInfo(tz)
    found = []
    for _ in range(count):
        after = next_fire(parsed, after, zone)
        found.append(after)
    return found


@pytest.mark.parametrize("text, seconds", [
    ("rate(5 minutes)", 300), ("rate(1 minute)", 60), ("rate(1 hour)", 3600), ("rate(2 hours)", 7200),
    ("rate(1 day)", 86400), ("rate(7 days)", 7 * 86400)])
def test_rate_expressions(text, seconds):
    assert parse_expression(text) == Rate(seconds)


@pytest.mark.parametrize("text", [
    "rate(0 minutes)", "rate(5 seconds)", "rate(-5 minutes)", "rate(1.5 hours)", "rate(5minutes)", "rate()",
    "cron(0 12 * * *)", "cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(0 12 1 * MON *)",
    "cron(0 12 LW * ? *)", "cron(0 12 * * ? 2150)", "cron(0 12 * * ? 1969)", "cron(61 12 * * ? *)",
    "cron(0 12 ? * 8 *)", "cron(0 12 ? * 2#1,3#2 *)", "cron(0 12 ? * 2#6 *)", "cron(0 12 ? * */2 *)",
    "cron(0 12 * * ? * *)", "at(2026-12-01 12:00:00)", "at(2026-13-01T12:00:00)", "every day", "", None])
def test_bad_expressions_are_refused(text):
    with pytest.raises(ScheduleError):
        parse_expression(text)


def test_untranslatable_cron_says_why():
    with pytest.raises(ScheduleError, match="LW"):
        parse_expression("cron(0 12 LW * ? *)")
    with pytest.raises(ScheduleError, match="after 2099"):
        parse_expression("cron(0 12 * * ? 2150)")
    with pytest.raises(ScheduleError, match="exactly one of day-of-month and day-of-week"):
        parse_expression("cron(0 12 * * * *)")


@pytest.mark.parametrize("aws, local", [
    ("0 12 * * ? *", "0 12 * * * 0 *"),
    ("0/15 * ? * MON-FRI *", "0/15 * * * 1-5 0 *"),  # SUN=1 in AWS, 0 in croniter
    ("0 8 ? * 2-6 2027", "0 8 * * 1-5 0 2027"),
    ("0 9 ? * 3#2 *", "0 9 * * 2#2 0 *"),
    ("0 9 ? * 6L *", "0 9 * * L5 0 *"),
    ("0 9 ? * L *", "0 9 * * 6 0 *"),
    ("0 9 L * ? *", "0 9 L * * 0 *"),
    ("0 9 15W * ? *", "0 9 15W * * 0 *"),
    ("0 9 1 JAN,JUL ? *", "0 9 1 JAN,JUL * 0 *"),
])
def test_cron_translation(aws, local):
    assert parse_expression(f"cron({aws})") == Cron(aws, local)


def test_at_expression():
    assert parse_expression("at(2026-12-01T12:00:00)") == At(datetime(2026, 12, 1, 12))


def test_rate_fires_at_creation_then_every_period():
    created = _utc(2026, 12, 1, 9, 3, 20)
    parsed = parse_expression("rate(5 minutes)")
    first = next_fire(parsed, created - timedelta(microseconds=1), ZoneInfo("UTC"), anchor=created)
    assert first == created
    assert next_fire(parsed, first, ZoneInfo("UTC"), anchor=created) == created + timedelta(minutes=5)
    later = created + timedelta(minutes=12)
    assert next_fire(parsed, later, ZoneInfo("UTC"), anchor=created) == created + timedelta(minutes=15)


def test_daily_noon_in_utc():
    assert _fires("cron(0 12 * * ? *)", _utc(2026, 12, 1, 9)) == [
        _utc(2026, 12, 1, 12), _utc(2026, 12, 2, 12), _utc(2026, 12, 3, 12)]
    assert _fires("cron(0 12 * * ? *)", _utc(2026, 12, 1, 12), count=1) == [_utc(2026, 12, 2, 12)]


@pytest.mark.parametrize("tz, utc_hour", [("Europe/Berlin", 11), ("America/New_York", 17),
                                           ("Asia/Kolkata", 6), ("Australia/Sydney", 1)])
def test_daily_noon_in_the_schedules_time_zone(tz, utc_hour):
    fires = _fires("cron(0 12 * * ? *)", _utc(2026, 12, 1, 20), tz=tz, count=2)
    assert [f.astimezone(ZoneInfo(tz)).hour for f in fires] == [12, 12]
    assert all(f.minute == (30 if tz == "Asia/Kolkata" else 0) for f in fires)
    assert fires[0].hour == utc_hour and fires[1] - fires[0] == timedelta(days=1)


def test_daily_noon_keeps_local_time_across_daylight_saving():
    fires = _fires("cron(0 12 * * ? *)", _utc(2026, 3, 27, 13), tz="Europe/Berlin", count=3)
    assert [f.hour for f in fires] == [11, 10, 10]  # CET until 2026-03-29 02:00, then CEST


def test_daylight_saving_gap_is_skipped_and_repeat_fires_once():
    # 02:30 does not exist in Berlin on 2026-03-29; 02:30 happens twice on 2026-10-25.
    spring = _fires("cron(30 2 * * ? *)", _utc(2026, 3, 28, 12), tz="Europe/Berlin", count=2)
    assert [f.astimezone(ZoneInfo("Europe/Berlin")).date().day for f in spring] == [30, 31]
    autumn = _fires("cron(30 2 * * ? *)", _utc(2026, 10, 24, 12), tz="Europe/Berlin", count=2)
    assert autumn == [_utc(2026, 10, 25, 0, 30), _utc(2026, 10, 26, 1, 30)]


def test_cron_wildcards():
    assert _fires("cron(0 9 ? * 3#2 *)", _utc(2026, 12, 1), count=2) == [
        _utc(2026, 12, 8, 9), _utc(2027, 1, 12, 9)]  # second Tuesday
    assert _fires("cron(0 9 L * ? *)", _utc(2027, 2, 1), count=1) == [_utc(2027, 2, 28, 9)]
    assert _fires("cron(0 9 ? * 6L *)", _utc(2026, 12, 1), count=1) == [_utc(2026, 12, 25, 9)]  # last Friday
    assert _fires("cron(0 9 ? * MON-FRI *)", _utc(2026, 12, 4, 10), count=2) == [
        _utc(2026, 12, 7, 9), _utc(2026, 12, 8, 9)]  # Friday after 9 -> Monday, Tuesday
    assert _fires("cron(5/20 * * * ? *)", _utc(2026, 12, 1, 0, 6), count=3) == [
        _utc(2026, 12, 1, 0, 25), _utc(2026, 12, 1, 0, 45), _utc(2026, 12, 1, 1, 5)]
    assert _fires("cron(0 12 1 1 ? 2027)", _utc(2026, 12, 1), count=2) == [_utc(2027, 1, 1, 12), None]


def test_at_fires_once_in_its_time_zone():
    parsed, berlin = parse_expression("at(2026-12-01T12:00:00)"), ZoneInfo("Europe/Berlin")
    assert next_fire(parsed, _utc(2026, 11, 30), berlin) == _utc(2026, 12, 1, 11)
    assert next_fire(parsed, _utc(2026, 12, 1, 11), berlin) is None


def _schedule(**overrides):
    props = {"ScheduleExpression": "rate(5 minutes)", "FlexibleTimeWindow": {"Mode": "OFF"},
             "Target": {"Arn": MACHINE, "RoleArn": "arn:aws:iam::123456789012:role/r", "Input": '{"batch": true}'}}
    return schedules.Schedule.from_properties(props | overrides, default_name="stack-BatchSchedule")


def test_schedule_from_cloudformation_properties():
    schedule = _schedule(ScheduleExpressionTimezone="Europe/Berlin", StartDate="2026-12-01T00:00:00Z")
    assert schedule.name == "stack-BatchSchedule" and schedule.enabled and schedule.group == "default"
    assert schedule.start_date == _utc(2026, 12, 1)
    request = schedule.api_request()
    assert request["ScheduleExpressionTimezone"] == "Europe/Berlin" and request["Target"]["Input"] == '{"batch": true}'
    # Before StartDate a rate schedule waits for it; EndDate ends it.
    assert schedule.next_fire(_utc(2026, 11, 1)) == _utc(2026, 12, 1)
    ended = _schedule(EndDate="2026-12-01T00:07:00Z", StartDate="2026-12-01T00:00:00Z")
    assert ended.next_fire(_utc(2026, 12, 1, 0, 5)) is None


@pytest.mark.parametrize("overrides, message", [
    ({"Target": {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f", "RoleArn": "r"}}, "Step Functions"),
    ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "time zone"),
    ({"State": "PAUSED"}, "ENABLED or DISABLED"),
    ({"Target": {"Arn": MACHINE, "RoleArn": "r", "Input": "not json"}}, "JSON"),
    ({"ScheduleExpression": "rate(5 fortnights)"}, "rate unit")])
def test_schedules_the_local_stack_cannot_run_are_refused(overrides, message):
    with pytest.raises(ScheduleError, match=message):
        _schedule(**overrides)


def test_scaled_clock():
    now = [100.0]
    clock = schedules.ScaledClock(60, start=_utc(2026, 12, 1, 11, 55), monotonic=lambda: now[0])
    assert clock.seconds_until(_utc(2026, 12, 1, 12)) == pytest.approx(5)  # 5 minutes at 60 x
    now[0] += 5
    assert clock.now() == _utc(2026, 12, 1, 12)
    assert clock.seconds_until(_utc(2026, 12, 1, 11)) == 0


def _run(schedule, seconds, scale=3000.0, state=None):
    stop, started, firings = threading.Event(), [], []
    clock = schedules.ScaledClock(scale, start=_utc(2026, 12, 1, 11, 50))

    def start_execution(arn, name, text):
        started.append((arn, name, text))
        return f"{arn.replace(':stateMachine:', ':execution:')}:{name}"

    runner = schedules.ScheduleRunner(schedule, clock, stop, start_execution, firings.append, state=state).start()
    time.sleep(seconds)
    stop.set()
    runner.thread.join(2)
    assert not runner.thread.is_alive()
    return started, firings


def test_runner_fires_a_rate_schedule_every_scaled_period():
    # rate(5 minutes) at 3000 x: every 0.1 s, the first at once.
    started, firings = _run(_schedule(), 0.55)
    assert 3 <= len(firings) <= 7, firings
    assert [f.time - firings[0].time for f in firings[:3]] == [timedelta(minutes=5 * i) for i in range(3)]
    assert all(arn == MACHINE and text == '{"batch": true}' for arn, _, text in started)
    assert len({name for _, name, _ in started}) == len(started)
    assert firings[0].execution_arn.startswith("arn:aws:states:us-east-1:123456789012:execution:batch:")


def test_runner_fires_a_daily_noon_at_the_next_noon_of_the_scaled_clock():
    # The clock starts at 11:50: noon is 10 minutes away, 0.2 s at 3000 x; the next noon 29 s.
    started, firings = _run(_schedule(ScheduleExpression="cron(0 12 * * ? *)"), 0.8)
    assert [f.time for f in firings] == [_utc(2026, 12, 1, 12)]


def test_a_disabled_schedule_does_not_fire():
    started, firings = _run(_schedule(), 0.25, state=lambda: "DISABLED")
    assert started == [] and firings == []
    assert not _schedule(State="DISABLED").enabled


def test_a_deleted_schedule_stops_its_runner():
    started, firings = _run(_schedule(), 0.25, state=lambda: None)
    assert started == []


def test_a_failed_start_is_recorded_and_the_schedule_goes_on():
    stop, firings = threading.Event(), []
    clock = schedules.ScaledClock(3000.0)

    def refuse(arn, name, text):
        raise RuntimeError("throttled")

    runner = schedules.ScheduleRunner(_schedule(), clock, stop, refuse, firings.append).start()
    time.sleep(0.25)
    stop.set()
    runner.thread.join(2)
    assert len(firings) >= 2 and firings[0].execution_arn is None and "throttled" in firings[0].error
