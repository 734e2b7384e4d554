from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.steps import System
from sync_engine.errors import BusinessError, ContractError, TransientError
from sync_engine.retry import DEFAULT_POLICIES, RetryPolicy, decide, delay, policies

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=10.0, multiplier=2.0, jitter=0.5)


def test_only_transient_errors_retry_and_only_until_attempts_run_out() -> None:
    transient = TransientError("HTTP_503", "down")
    assert decide(POLICY, BusinessError("LOCKED", "x"), 1, NOW, 0.5) is None
    assert decide(POLICY, ContractError("BAD", "x"), 1, NOW, 0.5) is None
    assert decide(POLICY, transient, 4, NOW, 0.0) is not None
    assert decide(POLICY, transient, 5, NOW, 0.0) is None


def test_delays_grow_exponentially_up_to_the_cap_with_jitter() -> None:
    # draw 1.0 is the top of the jitter band: the full exponential delay.
    assert [delay(POLICY, n, 1.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert delay(POLICY, 3, 0.0) == 2.0  # half of 4 is randomised away at the bottom


def test_retry_after_is_a_lower_bound_up_to_the_policy_limit() -> None:
    limited = TransientError("RATE_LIMITED", "slow down", retry_after=7)
    assert decide(POLICY, limited, 1, NOW, 1.0) == NOW + timedelta(seconds=7)
    capped = POLICY.model_copy(update={"max_retry_after": 3.0})
    assert decide(capped, limited, 1, NOW, 1.0) == NOW + timedelta(seconds=3)


@given(
    attempt=st.integers(1, 50),
    draw=st.floats(0, 1, exclude_max=True),
    base=st.floats(0.01, 5),
    cap=st.floats(0.01, 100),
)
def test_a_delay_stays_within_the_jittered_band(
    attempt: int, draw: float, base: float, cap: float
) -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=base, max_delay=cap, jitter=0.5)
    full = min(cap, base * 2 ** (attempt - 1))
    assert full * 0.5 - 1e-9 <= delay(policy, attempt, draw) <= full + 1e-9


def test_policies_override_field_by_field_and_validate() -> None:
    merged = policies({"procurement": {"max_attempts": 2}})
    assert merged[System.PROCUREMENT].max_attempts == 2
    assert merged[System.PROCUREMENT].base_delay == DEFAULT_POLICIES[System.PROCUREMENT].base_delay
    assert merged[System.ERP] == DEFAULT_POLICIES[System.ERP]
    with pytest.raises(ValueError):
        policies({"erp": {"max_attempts": 0}})
