"""The API keeps no cookie session: tokens carry who is calling."""

import pytest
from flask import Flask, session


def test_there_is_no_cookie_session_to_write_to(app: Flask) -> None:
    with app.test_request_context("/api/v1/me", headers={"Cookie": "session=forged"}):
        assert not session  # a forged cookie is not read
        with pytest.raises(RuntimeError):
            session["user_id"] = 1
