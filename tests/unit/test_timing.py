"""The local stack's model of AWS latency and its time scale (local/etl_local/timing.py)."""

from __future__ import annotations

import threading

import pytest

from etl_local import timing


def test_off_adds_nothing():
    model = timing.TimeModel("off", 60)
    assert model.crawl("c") == model.job_start("j") == model.job_padding(0) == model.cold_start("f") == 0


def test_aws_durations_are_in_range_and_divided_by_the_scale():
    model = timing.TimeModel("aws", 60)
    crawls = [model.crawl("c") for _ in range(50)]
    starts = [model.job_start("j") for _ in range(50)]
    assert all(1.0 <= c <= 2.0 for c in crawls) and len(set(crawls)) > 1  # 60-120 s / 60
    assert all(10 / 60 <= s <= 30 / 60 for s in starts)
    assert model.job_padding(0.25) == pytest.approx(0.75)  # a run lasts at least 60 s / 60
    assert model.job_padding(5.0) == 0
    assert timing.TimeModel("aws", 1).job_padding(0) == 60


def test_cold_start_only_on_the_first_invocation_of_each_function():
    model = timing.TimeModel("aws", 1)
    first = model.cold_start("validator")
    assert 1 <= first <= 3
    assert model.cold_start("validator") == 0
    assert 1 <= model.cold_start("mover") <= 3


def test_draws_are_reproducible_whatever_the_thread_order():
    def draws(model):
        return [model.crawl("a"), model.crawl("b"), model.job_start("j"), model.cold_start("f")]

    assert draws(timing.TimeModel("aws", 60)) == draws(timing.TimeModel("aws", 60))
    assert draws(timing.TimeModel("aws", 60, seed=1)) != draws(timing.TimeModel("aws", 60))
    # Interleaving another crawler's draws does not change this crawler's.
    model = timing.TimeModel("aws", 60)
    threads = [threading.Thread(target=model.crawl, args=("b",)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.crawl("a") == timing.TimeModel("aws", 60).crawl("a")


def test_crawl_override_wins():
    model = timing.TimeModel("off", 60)
    model.crawl_override = 3
    assert model.crawl("c") == 3


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "x", None])
def test_scale_must_be_a_finite_positive_number(bad):
    with pytest.raises(ValueError):
        timing.check_scale(bad)
    with pytest.raises(ValueError):
        timing.TimeModel("off", bad)


def test_latency_must_be_known():
    with pytest.raises(ValueError, match="off, aws"):
        timing.TimeModel("slow", 60)


def test_current_scale_divides_seconds():
    saved = timing.scale()
    try:
        timing.set_scale(60)
        assert timing.scaled(3600) == 60
        assert timing.scaled(None) is None
    finally:
        timing.set_scale(saved)
