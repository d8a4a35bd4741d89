"""The adjustment life cycle: decided once, posted or rejected."""

import pytest

from points.adjustments import ADJUSTMENT_TRANSITIONS, AdjustmentAction, AdjustmentStatus
from points.lifecycle import InvalidTransition, allowed_actions, transition

# Written out by hand, so the tests check the table rather than read it back.
ADJUSTMENT_EDGES = {
    ("pending_confirmation", "post"): "posted",
    ("pending_confirmation", "reject"): "rejected",
}


@pytest.mark.parametrize("status", list(AdjustmentStatus))
@pytest.mark.parametrize("action", list(AdjustmentAction))
def test_every_adjustment_pair(status: AdjustmentStatus, action: AdjustmentAction) -> None:
    expected = ADJUSTMENT_EDGES.get((status.value, action.value))
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            transition(ADJUSTMENT_TRANSITIONS, status, action)
        assert raised.value.code == "invalid_transition"
        # Each action leads to one state only, so the refusal names it.
        towards = ADJUSTMENT_EDGES["pending_confirmation", action.value]
        assert raised.value.message == f"cannot {action}: no way from {status} to {towards}"
    else:
        assert transition(ADJUSTMENT_TRANSITIONS, status, action) == AdjustmentStatus(expected)


def test_a_decided_adjustment_is_final() -> None:
    for final in (AdjustmentStatus.POSTED, AdjustmentStatus.REJECTED):
        assert allowed_actions(ADJUSTMENT_TRANSITIONS, final) == []
