"""EventBridge Scheduler schedules on the local stack: parse, compute fire times, fire.

moto's CloudFormation does not create `AWS::Scheduler::Schedule` and moto never fires a
schedule. `LocalStack._deploy_schedules` creates each one through moto's Scheduler API (so
`aws scheduler list-schedules` shows it) and runs a `ScheduleRunner` thread per ENABLED
schedule, which calls StartExecution on the target state machine with the target's Input at
each fire time.

What is followed, from "Schedule types in EventBridge Scheduler"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), the
CreateSchedule API (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html)
and the resource (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-scheduler-schedule.html):

- `rate(value unit)`: a positive integer and minute(s), hour(s) or day(s); a day is 24 hours.
  Without a StartDate a rate schedule invokes its target at once, then every period.
- `cron(minutes hours day-of-month month day-of-week year)`: six fields, with the wildcards
  `, - * /` everywhere but day-of-week (no `/`), `?` in day-of-month or day-of-week, `L` in both,
  `W` in day-of-month, `#` in day-of-week (SUN=1 ... SAT=7); one of day-of-month and
  day-of-week must be `?` (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html).
  Evaluated with croniter (its 7-field year form); what croniter cannot hold (`LW`, years
  after 2099, ...) is refused with a ScheduleError naming the field.
- `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time.
- Cron and at expressions are read in ScheduleExpressionTimezone (default UTC). Across daylight
  saving time a cron time that does not exist (spring forward) is skipped and one that happens
  twice (fall back) fires once
  (https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst).
- StartDate and EndDate bound the fire times; FlexibleTimeWindow FLEXIBLE delays each firing by
  a seeded random part of MaximumWindowInMinutes; a one-time schedule with ActionAfterCompletion
  DELETE is deleted after it fires. A schedule switched to DISABLED (or deleted) through the API
  stops firing; one created DISABLED gets no thread.

Not modelled: the 60-second precision of real firings (fires exactly on time), retries and
dead-letter queues of failed invocations, targets other than a Step Functions state machine
(refused), and an `at` time already past when the stack deploys (never fires).

Time runs `scale` times faster on the local stack (`ScaledClock`): at 60, rate(5 minutes) fires
every 5 s and cron(0 12 * * ? *) at the next noon of the scaled clock, which starts at the real
time of the deploy. Each firing is recorded with the schedule's time and the real time.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

UTC = timezone.utc
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_RATE = re.compile(r"rate\((\d+) ([a-z]+)\)")
_CRON = re.compile(r"cron\((.*)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
# Allowed characters per field, after names are taken out.
_FIELDS = [("minutes", r"[0-9,*/-]+"), ("hours", r"[0-9,*/-]+"), ("day-of-month", r"[0-9,*/?LW-]+"),
           ("month", r"[0-9,*/-]+"), ("day-of-week", r"[0-9,*?L#-]+"), ("year", r"[0-9,*/-]+")]
CRONITER_LAST_YEAR = 2099  # croniter's year range ends here; AWS's at 2199


class ScheduleError(ValueError):
    """A schedule the local stack cannot run as EventBridge Scheduler would."""


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class Cron:
    fields: str  # as written, AWS's six fields
    croniter: str  # croniter's seven: minute hour day month weekday second year


@dataclass(frozen=True)
class At:
    when: datetime  # wall-clock time, naive, in the schedule's time zone


def parse_expression(expression: str) -> Rate | Cron | At:
    """`rate(...)`, `cron(...)` or `at(...)`, or a ScheduleError saying what is wrong."""
    text = expression.strip() if isinstance(expression, str) else ""
    if match := _RATE.fullmatch(text):
        value, unit = int(match.group(1)), match.group(2)
        if unit not in RATE_UNITS:
            raise ScheduleError(f"{expression!r}: rate unit must be one of {', '.join(RATE_UNITS)}")
        if value < 1:
            raise ScheduleError(f"{expression!r}: rate value must be a positive integer")
        return Rate(value * RATE_UNITS[unit])
    if text.startswith("rate("):
        raise ScheduleError(f"{expression!r}: a rate expression is rate(value unit), e.g. rate(5 minutes)")
    if match := _CRON.fullmatch(text):
        return Cron(match.group(1), translate_cron(match.group(1)))
    if match := _AT.fullmatch(text):
        try:
            return At(datetime.fromisoformat(match.group(1)))
        except ValueError as exc:
            raise ScheduleError(f"{expression!r}: {exc}") from None
    raise ScheduleError(f"{expression!r} is not rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)")


def _day_of_week(value: str) -> int:
    """An AWS day of week (1-7 or SUN-SAT) as croniter's (0-6, Sunday 0)."""
    number = _DAYS[value] if value in _DAYS else int(value)
    if not 1 <= number <= 7:
        raise ScheduleError(f"day-of-week {value!r} is not 1-7 or SUN-SAT")
    return number - 1


def _translate_day_of_week(field: str) -> str:
    if field in ("?", "*"):
        return field
    if field == "L":  # the last day of the week
        return "6"
    if "#" in field:
        if "," in field:
            raise ScheduleError(f"day-of-week {field!r}: with '#' the field holds one expression only")
        day, _, nth = field.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ScheduleError(f"day-of-week {field!r}: the week of the month after '#' must be 1-5")
        return f"{_day_of_week(day)}#{nth}"
    if field.endswith("L"):  # nL: the last day n of the month
        if "," in field or "-" in field:
            raise ScheduleError(f"day-of-week {field!r}: 'L' after a day takes a single day")
        return f"L{_day_of_week(field[:-1])}"
    parts = []
    for item in field.split(","):
        bounds = item.split("-")
        if len(bounds) > 2 or not all(bounds):
            raise ScheduleError(f"day-of-week {field!r}: {item!r} is not a day or a range of days")
        parts.append("-".join(str(_day_of_week(b)) for b in bounds))
    return ",".join(parts)


def translate_cron(fields: str) -> str:
    """AWS's six cron fields as croniter's seven-field year form, or a ScheduleError."""
    values = fields.split()
    if len(values) != 6:
        raise ScheduleError(f"cron({fields}): needs six fields (minutes hours day-of-month month "
                            f"day-of-week year), found {len(values)}")
    values = [v.upper() for v in values]
    minutes, hours, day, month, weekday, year = values
    for (name, allowed), value in zip(_FIELDS, values):
        plain = re.sub(_MONTHS, "1", value) if name == "month" else value
        if name == "day-of-week":
            plain = re.sub("|".join(_DAYS), "1", value)
        if not re.fullmatch(allowed, plain):
            raise ScheduleError(f"cron({fields}): {name} {value!r} has a character AWS does not allow there")
    if (day == "?") == (weekday == "?"):
        raise ScheduleError(f"cron({fields}): exactly one of day-of-month and day-of-week must be '?'")
    if "?" in day and day != "?" or "?" in weekday and weekday != "?":
        raise ScheduleError(f"cron({fields}): '?' stands alone in its field")
    if "LW" in day or re.search(r"L.", day):
        raise ScheduleError(f"cron({fields}): day-of-month {day!r} is not supported locally (croniter has "
                            "L alone and nW, not LW or L-n)")
    years = [int(y) for item in year.split(",") for y in re.findall(r"\d+", item.split("/")[0])]
    if any(not 1970 <= y <= 2199 for y in years):
        raise ScheduleError(f"cron({fields}): year must be 1970-2199")
    if any(y > CRONITER_LAST_YEAR for y in years):
        raise ScheduleError(f"cron({fields}): years after {CRONITER_LAST_YEAR} are valid in AWS but not "
                            "supported locally (croniter)")
    weekday = _translate_day_of_week(weekday)
    expression = " ".join([minutes, hours, day.replace("?", "*"), month, weekday.replace("?", "*"), "0", year])
    try:
        croniter(expression)
    except (CroniterError, ValueError, KeyError) as exc:
        raise ScheduleError(f"cron({fields}): invalid, or not supported locally by croniter ({exc})") from None
    return expression


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"ScheduleExpressionTimezone {name!r} is not a time zone name") from None


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    """False for a wall-clock time that daylight saving time skips in `tz`."""
    aware = wall.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def next_fire(parsed: Rate | Cron | At, after: datetime, tz: ZoneInfo, anchor: datetime | None = None) -> datetime | None:
    """The first fire time strictly after `after` (aware), in UTC, or None if there is none.

    A rate fires at `anchor` (the StartDate, or the time the schedule was created) and every
    period after it.
    """
    after = after.astimezone(UTC)
    if isinstance(parsed, Rate):
        start = (anchor or after).astimezone(UTC)
        if start > after:
            return start
        periods = int((after - start).total_seconds() // parsed.seconds) + 1
        return start + timedelta(seconds=periods * parsed.seconds)
    if isinstance(parsed, At):
        when = parsed.when.replace(tzinfo=tz).astimezone(UTC)
        return when if when > after else None
    wall = after.astimezone(tz).replace(tzinfo=None)
    iterator = croniter(parsed.croniter, wall)
    for _ in range(10_000):
        try:
            candidate = iterator.get_next(datetime)
        except CroniterBadDateError:
            return None
        if not _exists(candidate, tz):
            continue  # spring forward: this time never happens
        when = candidate.replace(tzinfo=tz).astimezone(UTC)  # fold 0: the first of a repeated hour
        if when > after:
            return when
    return None


def _timestamp(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ScheduleError(f"{value!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the resource's dates are UTC


@dataclass
class Schedule:
    """One AWS::Scheduler::Schedule, from its resolved CloudFormation properties."""

    name: str
    expression: str
    timezone: str = "UTC"
    state: str = "ENABLED"
    group: str = "default"
    target: dict[str, Any] = field(default_factory=dict)
    flexible_time_window: dict[str, Any] = field(default_factory=lambda: {"Mode": "OFF"})
    start_date: datetime | None = None
    end_date: datetime | None = None
    action_after_completion: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        self.parsed = parse_expression(self.expression)
        self.zone = zone(self.timezone)
        if self.state not in ("ENABLED", "DISABLED"):
            raise ScheduleError(f"schedule {self.name}: State must be ENABLED or DISABLED, not {self.state!r}")
        arn = str(self.target.get("Arn", ""))
        if not re.fullmatch(r"arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w.-]+", arn):
            raise ScheduleError(f"schedule {self.name}: the local stack fires only Step Functions state machine "
                                f"targets (StartExecution), not {arn!r}")
        if self.input is not None:
            try:
                json.loads(self.input)
            except ValueError:
                raise ScheduleError(f"schedule {self.name}: Target.Input must be JSON text for StartExecution") from None
        mode = self.flexible_time_window.get("Mode", "OFF")
        if mode not in ("OFF", "FLEXIBLE"):
            raise ScheduleError(f"schedule {self.name}: FlexibleTimeWindow.Mode must be OFF or FLEXIBLE")

    @classmethod
    def from_properties(cls, props: dict[str, Any], default_name: str) -> "Schedule":
        for required in ("ScheduleExpression", "FlexibleTimeWindow", "Target"):
            if required not in props:
                raise ScheduleError(f"schedule {props.get('Name', default_name)}: {required} is required")
        return cls(
            name=props.get("Name") or default_name[:64], expression=props["ScheduleExpression"],
            timezone=props.get("ScheduleExpressionTimezone") or "UTC", state=props.get("State") or "ENABLED",
            group=props.get("GroupName") or "default", target=dict(props["Target"]),
            flexible_time_window=dict(props["FlexibleTimeWindow"]),
            start_date=_timestamp(props.get("StartDate")), end_date=_timestamp(props.get("EndDate")),
            action_after_completion=props.get("ActionAfterCompletion"), description=props.get("Description"))

    @property
    def enabled(self) -> bool:
        return self.state == "ENABLED"

    @property
    def input(self) -> str | None:
        value = self.target.get("Input")
        return value if value is None or isinstance(value, str) else json.dumps(value)

    @property
    def window_seconds(self) -> float:
        if self.flexible_time_window.get("Mode") != "FLEXIBLE":
            return 0.0
        return 60.0 * float(self.flexible_time_window.get("MaximumWindowInMinutes", 0))

    def next_fire(self, after: datetime, created: datetime | None = None) -> datetime | None:
        """The next fire time after `after`, within StartDate and EndDate, or None."""
        if self.start_date and after < self.start_date:
            after = self.start_date - timedelta(microseconds=1)
        when = next_fire(self.parsed, after, self.zone, anchor=self.start_date or created)
        if when is None or (self.end_date and when > self.end_date):
            return None
        return when

    def api_request(self) -> dict[str, Any]:
        """The CreateSchedule request for moto's Scheduler."""
        request = {"Name": self.name, "GroupName": self.group, "ScheduleExpression": self.expression,
                   "ScheduleExpressionTimezone": self.timezone, "FlexibleTimeWindow": self.flexible_time_window,
                   "Target": self.target, "State": self.state, "StartDate": self.start_date,
                   "EndDate": self.end_date, "ActionAfterCompletion": self.action_after_completion,
                   "Description": self.description}
        return {k: v for k, v in request.items() if v is not None}


class ScaledClock:
    """Time that runs `scale` times faster than this machine's, from `start` (now by default)."""

    def __init__(self, scale: float, start: datetime | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._origin) * self.scale)

    def seconds_until(self, when: datetime) -> float:
        """Real seconds until the scaled clock reads `when` (0 if it has)."""
        return max(0.0, (when - self.now()).total_seconds() / self.scale)


@dataclass
class Firing:
    """One invocation of a schedule's target."""

    schedule: str
    time: datetime  # the schedule's fire time, on the scaled clock
    fired_at: datetime  # this machine's time
    execution_arn: str | None
    error: str | None = None


class ScheduleRunner:
    """Fires one schedule on a daemon thread until `stop` is set or the schedule ends.

    `start_execution(state_machine_arn, name, input)` returns the execution ARN; `state()`
    returns the schedule's current State, or None once it is deleted; `on_fire` receives each Firing.
    """

    def __init__(self, schedule: Schedule, clock: ScaledClock, stop: threading.Event,
                 start_execution: Callable[[str, str, str | None], str],
                 on_fire: Callable[[Firing], None], state: Callable[[], str | None] | None = None,
                 on_done: Callable[[], None] | None = None, seed: int = 0) -> None:
        self.schedule, self.clock, self.stop = schedule, clock, stop
        self.start_execution, self.on_fire = start_execution, on_fire
        self.state = state or (lambda: schedule.state)
        self.on_done = on_done
        self.created = clock.now()
        self._random = random.Random(f"{seed}/{schedule.name}")
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"schedule-{schedule.name}")

    def start(self) -> "ScheduleRunner":
        self.thread.start()
        return self

    def run(self) -> None:
        after = self.created - timedelta(microseconds=1)
        while not self.stop.is_set():
            when = self.schedule.next_fire(after, created=self.created)
            if when is None:
                return
            delay = self._random.uniform(0, self.schedule.window_seconds) if self.schedule.window_seconds else 0
            if self.stop.wait(self.clock.seconds_until(when + timedelta(seconds=delay))):
                return
            after = when
            state = self.state()
            if state is None:
                return  # deleted
            if state == "ENABLED":
                self.fire(when)
            if isinstance(self.schedule.parsed, At):
                if self.on_done and self.schedule.action_after_completion == "DELETE":
                    self.on_done()
                return

    def fire(self, when: datetime) -> Firing:
        name = f"{self.schedule.name[:40]}-{uuid.uuid4().hex[:20]}"
        try:
            arn, error = self.start_execution(self.schedule.target["Arn"], name, self.schedule.input), None
        except Exception as exc:  # recorded: a failed invocation does not end the schedule
            arn, error = None, f"{type(exc).__name__}: {exc}"
        firing = Firing(self.schedule.name, when, datetime.now(UTC), arn, error)
        self.on_fire(firing)
        return firing
