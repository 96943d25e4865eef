"""Time on the local stack: a model of AWS latency, and one time scale for every AWS duration.

Locally a crawl takes about a second, a Glue job run starts at once and a Lambda function is
never cold, so a design that waits on these things looks free. `TimeModel` puts AWS-like
durations back (off by default; `etl-local run --latency aws`):

- a crawl takes 60-120 s (a crawl of a small prefix, as measured in AWS: crawler startup dominates;
  one crawler runs one crawl at a time, CrawlerRunningException otherwise);
- a Glue job run starts after 10-30 s and lasts at least 60 s, padded after the real local run.
  Glue 2.0 and later start Spark jobs faster but not at once, and bill them per second with a
  1-minute minimum (https://docs.aws.amazon.com/glue/latest/dg/reduced-start-times-spark-etl-jobs.html,
  https://docs.aws.amazon.com/glue/latest/dg/migrating-version-30.html);
- the first invocation of each Lambda function pays a 1-3 s cold start (Lambda prepares an
  execution environment and runs the init code before the first request, and reuses it for later
  ones: https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html).
  The range is this pipeline's (a pyarrow and pandera package), not a documented figure.

The time scale divides all of those and every duration the state machines declare (Wait
states, Retry delays, Task TimeoutSeconds and HeartbeatSeconds, the state machine's
TimeoutSeconds) and the periods of EventBridge Scheduler schedules: at the default 60 an AWS
minute takes a local second. The scale the moto seams read is this module's current one,
set by the running `LocalStack` (one stack runs per process); it is 1 until a stack sets it.
Work done for real (a Lambda handler, the Spark job, a crawl of the bucket) is not scaled.

Draws come from `random.Random` seeded by (seed, kind, name, draw number), so a run is the same
however its threads interleave.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from typing import Any

LATENCIES = ("off", "aws")
DEFAULT_SCALE = 60.0

# AWS seconds: (low, high) of a uniform draw.
CRAWL_SECONDS = (60.0, 120.0)
JOB_START_SECONDS = (10.0, 30.0)
JOB_MIN_RUN_SECONDS = 60.0
COLD_START_SECONDS = (1.0, 3.0)

_scale = 1.0


def check_scale(value: Any) -> float:
    """The time scale as a float, or ValueError: it must be a finite number above 0."""
    try:
        scale = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"time scale must be a number, not {value!r}") from None
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"time scale must be a finite number above 0, not {value!r}")
    return scale


def set_scale(value: float) -> None:
    """Make `value` the scale the moto seams divide state machine durations by."""
    global _scale
    _scale = check_scale(value)


def scale() -> float:
    return _scale


def scaled(seconds: float | None) -> float | None:
    """AWS seconds as local seconds at the current scale (None, meaning no limit, stays None)."""
    if seconds is None:
        return None
    return seconds / _scale


class TimeModel:
    """AWS-like durations, in local seconds (already divided by the scale); all 0 when off."""

    def __init__(self, latency: str = "off", scale: float = DEFAULT_SCALE, seed: int = 0) -> None:
        if latency not in LATENCIES:
            raise ValueError(f"latency must be one of {', '.join(LATENCIES)}, not {latency!r}")
        self.latency = latency
        self.scale = check_scale(scale)
        self.seed = seed
        # A fixed local crawl time that wins over the model, for tests that need a busy crawler.
        self.crawl_override: float | None = None
        self._draws: Counter[tuple[str, str]] = Counter()
        self._warm: set[str] = set()
        self._lock = threading.Lock()

    @property
    def on(self) -> bool:
        return self.latency == "aws"

    def local(self, aws_seconds: float) -> float:
        return aws_seconds / self.scale

    def _draw(self, kind: str, name: str, bounds: tuple[float, float]) -> float:
        with self._lock:
            self._draws[kind, name] += 1
            count = self._draws[kind, name]
        return self.local(random.Random(f"{self.seed}/{kind}/{name}/{count}").uniform(*bounds))

    def crawl(self, crawler: str) -> float:
        """How long one crawl of `crawler` takes, before the stand-in crawl runs."""
        if self.crawl_override is not None:
            return self.crawl_override
        return self._draw("crawl", crawler, CRAWL_SECONDS) if self.on else 0.0

    def job_start(self, job: str) -> float:
        """How long a run of `job` waits before it starts."""
        return self._draw("job-start", job, JOB_START_SECONDS) if self.on else 0.0

    def job_padding(self, elapsed: float) -> float:
        """How much longer a job run that has run for `elapsed` local seconds lasts."""
        return max(0.0, self.local(JOB_MIN_RUN_SECONDS) - elapsed) if self.on else 0.0

    def cold_start(self, function: str) -> float:
        """The cold start of this invocation of `function`: on its first invocation only."""
        with self._lock:
            cold = function not in self._warm
            self._warm.add(function)
        return self._draw("cold-start", function, COLD_START_SECONDS) if cold and self.on else 0.0
