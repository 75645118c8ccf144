"""The API's limiter (pure logic, on a real event loop): one holder, a bounded queue, busy answers, deadlines."""

from __future__ import annotations

import asyncio
import time

import pytest

from rag.telemetry import Metrics
from ui.api_service import Busy, Job, Limiter, Stopped


def test_one_holds_one_waits_the_rest_are_told_busy() -> None:
    async def scenario() -> tuple[list[object], float]:
        limiter = Limiter(1, 1, queue_timeout_s=0.3, metrics=Metrics())
        far = time.monotonic() + 60
        await limiter.acquire(Job(far))  # holds the assistant
        waiting = asyncio.ensure_future(limiter.acquire(Job(far)))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy) as full:
            await limiter.acquire(Job(far))
        outcomes: list[object] = [full.value]
        try:
            await waiting
        except Busy as e:
            outcomes.append(e)
        limiter.release(2.0)
        started = time.monotonic()
        await limiter.acquire(Job(far))  # free again: admitted at once
        return outcomes, time.monotonic() - started

    (full, timed_out), admitted_after = asyncio.run(scenario())
    assert isinstance(full, Busy) and full.status == 429 and full.code == "busy"
    assert full.message.startswith("Fuente is busy") and "retry in" in full.message and full.retry_after >= 1
    assert isinstance(timed_out, Busy) and timed_out.status == 503 and "retry in" in timed_out.message
    assert admitted_after < 0.05


def test_a_waiter_is_admitted_when_the_holder_releases() -> None:
    async def scenario() -> float:
        limiter = Limiter(1, 4, queue_timeout_s=5, metrics=Metrics())
        far = time.monotonic() + 60
        await limiter.acquire(Job(far))
        job = Job(far)
        waiting = asyncio.ensure_future(limiter.acquire(job))
        await asyncio.sleep(0.2)
        limiter.release(0.2)
        await waiting
        return job.queued_s

    assert 0.15 < asyncio.run(scenario()) < 1.0


def test_a_job_stops_at_its_next_token_past_its_deadline_or_when_stopped() -> None:
    job = Job(time.monotonic() + 60)
    job.check()
    job.stop.set()
    with pytest.raises(Stopped):
        job.check()
    late = Job(time.monotonic() - 1)
    with pytest.raises(Stopped, match="deadline"):
        late.check()
