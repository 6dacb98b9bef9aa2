"""The per-account token bucket and the backoff around gateway calls."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable

import pytest

from billing.gateways import throttle
from billing.gateways.base import GatewayRateLimited, GatewayTimeout, GatewayUnavailable
from billing.gateways.throttle import TokenBucket, with_backoff

RATE, BURST, EACH = 40.0, 4, 40  # two takers × 40 tokens at 40/s: about two seconds


def _assert_paced(stamps: list[float], *, rate: float, burst: int) -> None:
    """No one-second window holds more than ``rate + burst`` grants, and the
    whole takes as long as the rate says (so no taker had a bucket of its own)."""
    stamps = sorted(stamps)
    for i, start in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t < start + 1.0)
        assert in_window <= rate + burst, f"{in_window} grants within a second"
    span = stamps[-1] - stamps[0]
    assert span >= (len(stamps) - burst) / rate - 0.05, f"{len(stamps)} grants in {span:.2f} s"
    assert span < (len(stamps) - burst) / rate + 1.5, f"too slow: {span:.2f} s"


def _take_in_child(name: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    throttle._script_for.cache_clear()  # a connection of this process's own
    bucket = TokenBucket(name, rate=RATE, burst=BURST)
    stamps = []
    for _ in range(count):
        bucket.take()
        stamps.append(time.time())
    out.put(stamps)


@pytest.mark.redis
def test_two_processes_sharing_redis_keep_to_one_rate_together() -> None:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    name = f"test:{time.time_ns()}"
    children = [context.Process(target=_take_in_child, args=(name, EACH, out)) for _ in range(2)]
    for child in children:
        child.start()
    stamps = [out.get(timeout=30), out.get(timeout=30)]
    for child in children:
        child.join(timeout=10)
        assert child.exitcode == 0

    _assert_paced(stamps[0] + stamps[1], rate=RATE, burst=BURST)
    # Both were served all along, not one after the other.
    assert abs(max(stamps[0]) - max(stamps[1])) < 0.5


def _in_threads(bucket_for: Callable[[], TokenBucket], count: int) -> list[float]:
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        bucket = bucket_for()
        for _ in range(count):
            bucket.take()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return stamps


@pytest.mark.redis
def test_threads_with_buckets_of_their_own_share_the_rate_through_redis() -> None:
    name = f"test:{time.time_ns()}"
    stamps = _in_threads(lambda: TokenBucket(name, rate=RATE, burst=BURST), EACH)

    _assert_paced(stamps, rate=RATE, burst=BURST)


def test_without_redis_the_bucket_paces_this_process(settings) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    name = f"test:{time.time_ns()}"
    stamps = _in_threads(lambda: TokenBucket(name, rate=RATE, burst=BURST), EACH)

    _assert_paced(stamps, rate=RATE, burst=BURST)


def test_with_redis_down_the_bucket_still_paces_locally(settings) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # fmt: skip
    bucket = TokenBucket(f"test:{time.time_ns()}", rate=10, burst=1)

    assert bucket.reserve() == 0
    assert bucket.reserve() == pytest.approx(0.1, abs=0.02)


@pytest.mark.redis
def test_a_turn_further_than_the_longest_wait_is_refused_and_not_reserved() -> None:
    bucket = TokenBucket(f"test:{time.time_ns()}", rate=2, burst=1, max_wait=0.6)

    assert bucket.reserve() == 0
    assert bucket.reserve() == pytest.approx(0.5, abs=0.05)
    with pytest.raises(GatewayRateLimited):
        bucket.reserve()  # a full second away
    time.sleep(0.5)
    assert bucket.reserve() == pytest.approx(0.5, abs=0.05)  # the refusal took no turn


def test_each_stripe_account_has_its_own_bucket_at_its_modes_rate(settings) -> None:  # type: ignore[no-untyped-def]
    from billing.gateways.stripe import account_bucket

    settings.STRIPE_RATE_LIMIT_LIVE, settings.STRIPE_RATE_LIMIT_TEST = 80.0, 20.0
    live = account_bucket("sk_live_51AccountOne")
    test = account_bucket("sk_test_51AccountOne")
    other = account_bucket("sk_test_51AccountTwo")

    assert (live.rate, live.burst, test.rate, test.burst) == (80.0, 20, 20.0, 5)
    assert len({live.name, test.name, other.name}) == 3
    assert all("AccountOne" not in b.name for b in (live, test))  # a digest, never the key


def test_every_stripe_request_takes_a_turn() -> None:
    from billing.gateways.stripe import StripeGateway
    from tests.support.fake_stripe import running

    class Counting(TokenBucket):
        taken = 0

        def take(self, **kw) -> float:  # type: ignore[no-untyped-def]
            Counting.taken += 1
            return super().take(**kw)

    with running() as fake:
        bucket = Counting(f"test:{time.time_ns()}", rate=1000, burst=10)
        gateway = StripeGateway("sk_test_ciclo", "whsec_x", fake.api_base, bucket=bucket)
        result = gateway.charge(
            token="pm_card_visa", amount_minor=100, currency="BRL", idempotency_key="k:1"
        )
        gateway.fetch_charge(idempotency_key="k:1", gateway_ref=result.gateway_ref)
        gateway.fetch_charge(idempotency_key="k:2")

    assert Counting.taken == len(fake.requests) == 3  # create, retrieve, search


# --- backoff ---------------------------------------------------------------------------


def _flaky(failures: list[Exception]) -> Callable[[], str]:
    def call() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    return call


def test_rate_limits_and_lost_answers_are_retried_with_growing_jittered_delays() -> None:
    delays: list[float] = []
    failures: list[Exception] = [GatewayRateLimited("429"), GatewayTimeout("lost")] * 2

    result = with_backoff(
        _flaky(failures), attempts=5, base_delay=0.5, max_delay=1.5, sleep=delays.append
    )

    assert result == "done"
    assert len(delays) == 4
    for n, delay in enumerate(delays):
        assert 0 <= delay <= min(1.5, 0.5 * 2**n)


def test_after_the_last_try_the_failure_propagates() -> None:
    delays: list[float] = []
    failures: list[Exception] = [GatewayRateLimited("429")] * 3

    with pytest.raises(GatewayRateLimited):
        with_backoff(_flaky(failures), attempts=3, base_delay=0.1, sleep=delays.append)
    assert len(delays) == 2


def test_other_gateway_failures_are_not_retried_here() -> None:
    delays: list[float] = []
    failures: list[Exception] = [GatewayUnavailable("500")]

    with pytest.raises(GatewayUnavailable):
        with_backoff(_flaky(failures), attempts=5, base_delay=0.1, sleep=delays.append)
    assert delays == []


def test_a_stripe_request_whose_turn_is_too_far_is_not_sent() -> None:
    from billing.gateways.stripe import StripeGateway
    from tests.support.fake_stripe import running

    with running() as fake:
        bucket = TokenBucket(f"test:{time.time_ns()}", rate=1, burst=1, max_wait=0.2)
        gateway = StripeGateway("sk_test_ciclo", "whsec_x", fake.api_base, bucket=bucket)
        charge = {"token": "pm_card_visa", "amount_minor": 100, "currency": "BRL"}
        gateway.charge(**charge, idempotency_key="k:1")

        with pytest.raises(GatewayRateLimited):
            gateway.charge(**charge, idempotency_key="k:2")

    assert len(fake.requests) == 1
    assert fake.payment_intents_created == 1
