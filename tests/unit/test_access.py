"""Who may do what, whatever the grant: the role work is priced in, and no self-approval."""

import pytest

from points.access import Role, SelfApproval, serving_role
from points.errors import Forbidden


@pytest.mark.parametrize(
    ("roles", "serving"),
    [
        ({Role.MEMBER, Role.VOLUNTEER, Role.STAFF}, Role.MEMBER),  # party member first
        ({Role.VOLUNTEER, Role.RESIDENT}, Role.VOLUNTEER),
        ({Role.RESIDENT}, Role.RESIDENT),
        ({Role.STAFF, Role.CLERK}, Role.RESIDENT),  # staff are priced as residents
        (set(), Role.RESIDENT),
    ],
)
def test_the_serving_role_prices_the_work(roles: set[Role], serving: Role) -> None:
    assert serving_role(frozenset(roles)) is serving


def test_self_approval_is_forbidden_with_a_code_of_its_own() -> None:
    assert issubclass(SelfApproval, Forbidden)
    assert SelfApproval("nobody approves their own work").code == "self_approval"
