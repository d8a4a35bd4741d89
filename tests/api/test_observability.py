import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from api.observability import json_handler


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = json_handler()
    handler.setStream(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def request_logs(stream: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line.get("logger") == "lianxin.request"]


def test_a_given_request_id_is_echoed_and_logged(
    client: FlaskClient, log_lines: io.StringIO
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "mp-7f3a.2"})
    assert response.headers["X-Request-ID"] == "mp-7f3a.2"
    [entry] = request_logs(log_lines)
    assert entry["request_id"] == "mp-7f3a.2"
    assert entry["path"] == "/healthz"
    assert entry["status"] == 200
    assert entry["method"] == "GET"
    assert isinstance(entry["duration_ms"], float)
    assert isinstance(entry["pid"], int)


@pytest.mark.parametrize("given", [None, "", "has space", "x" * 200, "<script>", "a;b=c"])
def test_a_missing_or_unsafe_request_id_is_replaced(client: FlaskClient, given: str | None) -> None:
    headers = {"X-Request-ID": given} if given is not None else {}
    response = client.get("/api/v1/nowhere", headers=headers)
    generated = response.headers["X-Request-ID"]
    assert generated
    assert generated != given
    assert len(generated) == 32
    assert response.get_json()["request_id"] == generated


def test_every_request_gets_its_own_id(client: FlaskClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5
