import pytest


@pytest.fixture(autouse=True)
def _start_from_empty_tables(fresh_state: None) -> None:
    """Service tests share the session's database; each starts from empty tables."""
