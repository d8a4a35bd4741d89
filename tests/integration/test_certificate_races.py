"""Twenty requests for one period's certificate at the same instant, on both backends:
one certificate, every answer the same number, exactly one of them 201, none a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from api import extensions
from service.certificates.models import Certificate, CertificateService
from tests.all_at_once import all_at_once
from tests.api.certificate_world import build
from tests.conftest import AppFactory


@pytest.fixture
def racing_app(make_app: AppFactory) -> Flask:
    return make_app(db_pool_size=30)


def test_one_period_asked_for_twenty_times_at_once_is_one_certificate(racing_app: Flask) -> None:
    town = build(racing_app)
    period = {"from": "2025-01-01", "to": "2026-06-30"}

    def worker(index: int, go: Callable[[], None]) -> tuple[int, str]:
        client = racing_app.test_client()
        go()
        response = town.call(client, "member", "POST", "/me/certificates", period)
        return response.status_code, response.get_json().get("number", "")

    answers = all_at_once(20, worker, timeout=60)
    assert sorted(status for status, _ in answers) == [200] * 19 + [201]
    assert len({number for _, number in answers}) == 1
    with racing_app.app_context():
        session = extensions.session()
        assert session.scalar(select(func.count()).select_from(Certificate)) == 1
        assert session.scalar(select(func.count()).select_from(CertificateService)) == 4
