"""The byte budget of request bodies in flight per process (executions.inflight, INGEST_IN_FLIGHT_MAX_BYTES)."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import override_settings

from executions.inflight import UNCOUNTED_BYTES, BudgetExhausted, ByteBudget, ingest_budget


def _in_thread(fn):
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


def test_it_never_reserves_more_than_the_budget_and_serves_in_arrival_order():
    budget = ByteBudget(1000)
    order: list[str] = []

    def take(name: str, nbytes: int):
        def run():
            with budget.reserve(nbytes, timeout=10):
                order.append(name)
                assert budget.used <= 1000
        return run

    with budget.reserve(900, timeout=1):
        big, _ = _in_thread(take("big", 600))
        _until(lambda: budget.waiting == 1, "the big one waits")
        small, _ = _in_thread(take("small", 50))  # fits beside the 900, but the big one came first
        _until(lambda: budget.waiting == 2, "both wait")
        time.sleep(0.1)
        assert order == [] and budget.used == 900
    big.join(10)
    small.join(10)
    assert order == ["big", "small"]
    assert budget.used == 0 and budget.peak == 900


def test_it_admits_a_body_larger_than_the_whole_budget_alone():
    budget = ByteBudget(1000)
    with budget.reserve(5_000, timeout=1):
        assert budget.used == 1000
        with pytest.raises(BudgetExhausted):
            with budget.reserve(1, timeout=0.1):
                pass
    assert budget.used == 0 and budget.refused == 1


def test_it_answers_a_large_request_that_waits_too_long_503_with_retry_after_and_never_holds_small_ones(ingest):
    budget = ingest_budget()
    large = {"status": "success", "output": "x" * (UNCOUNTED_BYTES + 1)}
    with override_settings(INGEST_IN_FLIGHT_WAIT_SECONDS=1), budget.reserve(budget.max_bytes, timeout=1):
        began = time.monotonic()
        response = ingest.task("e1", "t1", large)
        waited = time.monotonic() - began
        # Small bodies and reads take no share of it: they never wait behind large ones.
        assert ingest.task("e1", "t-small", {"status": "success"}).status_code == 201
        assert ingest.get("e1").status_code == 200
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"] == "busy"
    assert waited >= 1
    # Once the bytes are free, the same post is stored.
    assert ingest.task("e1", "t1", large).status_code == 201
