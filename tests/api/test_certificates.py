"""志愿服务记录与证明: the records a member sees, certificates issued on them (once per
period), their PDF (every required field, a page actually drawn), who may read it, the
public verification, and a reversal after issue superseding the certificate."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from typing import Any

import pypdfium2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from api import extensions
from points.calendar import local_date
from service.certificates.document import chinese_date
from service.certificates.models import Certificate
from service.db import utcnow
from service.tasks.models import Participation
from tests.api.certificate_world import Community, build
from tests.conftest import AppFactory

NUMBER = re.compile(r"^LX\d{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


@pytest.fixture
def town(app: Flask) -> Community:
    return build(app)


def test_records_are_the_approved_work_with_its_hours_and_yearly_totals(
    client: FlaskClient, town: Community
) -> None:
    answer = town.call(client, "member", "GET", "/me/service-records").get_json()
    items = answer["items"]
    assert [i["title"] for i in items] == ["河道清洁", "反诈宣传", "送菜上门", "敲门行动"]
    assert [i["hours"] for i in items] == [4.0, 1.75, 2.5, 3.0]
    assert [i["organisation"]["name"] for i in items] == [
        "和谐社区",
        "幸福社区",
        "幸福社区",
        "幸福社区",
    ]
    assert items[0]["place"] == "和谐社区活动室"
    assert items[0]["served_on"] == "2026-05-01"
    assert items[0]["category"] == "service"
    assert answer["years"] == [
        # All checked in: every hour verified, none entered by hand (补录).
        {"year": 2026, "services": 2, "hours": 5.75, "verified_hours": 5.75, "entered_hours": 0.0},
        {"year": 2025, "services": 2, "hours": 5.5, "verified_hours": 5.5, "entered_hours": 0.0},
    ]
    assert answer["next_cursor"] is None
    only_2025 = town.call(client, "member", "GET", "/me/service-records?year=2025").get_json()
    assert [i["title"] for i in only_2025["items"]] == ["送菜上门", "敲门行动"]
    first = town.call(client, "member", "GET", "/me/service-records?limit=3").get_json()
    assert len(first["items"]) == 3
    rest = town.call(
        client, "member", "GET", f"/me/service-records?limit=3&cursor={first['next_cursor']}"
    ).get_json()
    assert [i["title"] for i in rest["items"]] == ["敲门行动"]
    # Someone else's records are theirs alone.
    other = town.call(client, "other", "GET", "/me/service-records").get_json()
    assert [i["title"] for i in other["items"]] == ["帮扶走访"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("year=1999", "year"),
        ("year=二〇二五", "year"),
        ("year=2025.5", "year"),
        ("limit=0", "limit"),
    ],
)
def test_bad_record_queries_are_422(
    client: FlaskClient, town: Community, query: str, field: str
) -> None:
    response = town.call(client, "member", "GET", f"/me/service-records?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def count_certificates(app: Flask) -> int:
    with app.app_context():
        session = extensions.session()
        found = session.scalar(select(func.count()).select_from(Certificate)) or 0
        session.rollback()
        return found


def test_a_period_gets_one_certificate_however_often_it_is_asked_for(
    app: Flask, client: FlaskClient, town: Community
) -> None:
    period = {"from": "2025-01-01", "to": "2025-12-31"}
    first = town.call(client, "member", "POST", "/me/certificates", period)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert NUMBER.match(body["number"])
    assert (body["from"], body["to"]) == ("2025-01-01", "2025-12-31")
    assert body["status"] == "valid"
    assert body["service_count"] == 2
    assert body["total_hours"] == 5.5
    assert [s["title"] for s in body["services"]] == ["敲门行动", "送菜上门"]
    assert body["holder_name"] == "张三丰"
    assert body["holder_contact"] == "138****5678"
    assert body["issuer_name"] == "幸福社区"
    assert body["issued_on"] == local_date(utcnow()).isoformat()
    assert body["pdf_url"] == f"/api/v1/certificates/{body['number']}.pdf"
    assert body["verify_url"].endswith(f"/api/v1/certificates/{body['number']}/verify")
    again = town.call(client, "member", "POST", "/me/certificates", period)
    assert again.status_code == 200
    assert again.get_json() == body
    whole = town.call(
        client, "member", "POST", "/me/certificates", {"from": "2025-01-01", "to": "2026-06-30"}
    )
    assert whole.status_code == 201
    assert whole.get_json()["number"] != body["number"]
    assert whole.get_json()["total_hours"] == 11.25
    assert count_certificates(app) == 2


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"from": "2025-12-31", "to": "2025-01-01"}, 422, "validation_error", "to"),
        ({"from": "2025-02-30", "to": "2025-12-31"}, 422, "validation_error", "from"),
        ({"from": "2025/01/01", "to": "2025-12-31"}, 422, "validation_error", "from"),
        ({"from": "2025-01-01"}, 422, "validation_error", "to"),
        ({"from": 20250101, "to": "2025-12-31"}, 422, "validation_error", "from"),
        ({"from": "2025-01-01", "to": "2025-12-31", "more": 1}, 422, "validation_error", "more"),
        ({"from": "2024-01-01", "to": "2024-12-31"}, 422, "no_service_records", "from"),
    ],
)
def test_bad_periods_are_refused_and_nothing_is_issued(
    app: Flask,
    client: FlaskClient,
    town: Community,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    response = town.call(client, "member", "POST", "/me/certificates", body)
    assert (response.status_code, response.get_json()["code"]) == (status, code)
    assert field in response.get_json()["errors"]
    assert count_certificates(app) == 0


def test_a_period_not_over_yet_is_refused(app: Flask, client: FlaskClient, town: Community) -> None:
    tomorrow = (local_date(utcnow()) + timedelta(days=1)).isoformat()
    response = town.call(
        client, "member", "POST", "/me/certificates", {"from": "2025-01-01", "to": tomorrow}
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "invalid_input")
    assert response.get_json()["errors"] == {"to": ["after today"]}
    assert count_certificates(app) == 0


def issue(client: FlaskClient, town: Community, first: str, last: str) -> dict[str, Any]:
    response = town.call(client, "member", "POST", "/me/certificates", {"from": first, "to": last})
    assert response.status_code == 201, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def pdf_of(client: FlaskClient, town: Community, who: str, number: str) -> Any:
    return town.call(client, who, "GET", f"/certificates/{number}.pdf")


def test_the_pdf_holds_every_required_field_and_a_drawn_page(
    client: FlaskClient, town: Community
) -> None:
    number = issue(client, town, "2025-01-01", "2026-06-30")["number"]
    response = pdf_of(client, town, "member", number)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    content = response.get_data()
    reader = PdfReader(io.BytesIO(content))
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = "".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    required = [
        "志愿服务证明",
        number,
        "张三丰",  # the volunteer's name
        "138****5678",  # and masked phone, never the number
        "幸福社区",  # the issuing organisation
        "2025年1月1日至2026年6月30日",  # the period
        "敲门行动",
        "送菜上门",
        "反诈宣传",
        "河道清洁",  # every service, with its organisation and hours
        "和谐社区",
        "3.00",
        "2.50",
        "1.75",
        "4.00",
        "11.25",  # the total
        "微服务",  # the 八微 category
        f"出具日期：{chinese_date(local_date(utcnow()))}",
        f"/api/v1/certificates/{number}/verify",  # the verification link
        "民政部令第67号",
    ]
    assert [word for word in required if word not in flat] == []
    assert "13812345678" not in flat
    for left_out in ("夜间巡逻", "楼道清理", "旧物回收", "帮扶走访"):
        assert left_out not in flat
    document = pypdfium2.PdfDocument(content)
    try:
        image = document[0].render(scale=1).to_pil().convert("L")
    finally:
        document.close()
    if os.environ.get("LIANXIN_TEST_KEEP_PNG"):  # to look at it: a path to save it to
        image.save(os.environ["LIANXIN_TEST_KEEP_PNG"])
    assert image.size == (round(page.mediabox.width + 0.5), 842)  # A4 in points, at 72 dpi
    dark = sum(image.histogram()[:128])  # pixels darker than mid-grey
    # Text, table rules and a QR code: thousands of dark pixels on an A4 page at 72 dpi.
    assert dark > 5000, dark


def test_only_the_holder_and_staff_of_the_issuing_community_read_the_pdf(
    client: FlaskClient, town: Community
) -> None:
    number = issue(client, town, "2025-01-01", "2025-12-31")["number"]
    assert pdf_of(client, town, "member", number).status_code == 200
    assert pdf_of(client, town, "staff_A", number).status_code == 200
    for stranger in ("other", "staff_B"):
        response = pdf_of(client, town, stranger, number)
        assert (response.status_code, response.get_json()["code"]) == (404, "not_found")
    assert pdf_of(client, town, "member", "LX2025-0000-0000-0000").status_code == 404
    assert pdf_of(client, town, "member", "nonsense").status_code == 404
    assert pdf_of(client, town, None, number).status_code == 401
    # Typed in lower case, with O for 0: still the holder's.
    typed = number.lower().replace("0", "o")
    assert pdf_of(client, town, "member", typed).status_code == 200


def test_anyone_verifies_a_number_without_signing_in_and_learns_only_totals(
    client: FlaskClient, town: Community
) -> None:
    number = issue(client, town, "2025-01-01", "2025-12-31")["number"]
    response = client.get(f"/api/v1/certificates/{number.lower()}/verify")
    assert response.status_code == 200
    assert response.get_json() == {
        "number": number,
        "genuine": True,
        "status": "valid",
        "holder": "张**",
        "issuer_name": "幸福社区",
        "from": "2025-01-01",
        "to": "2025-12-31",
        "issued_on": local_date(utcnow()).isoformat(),
        "service_count": 2,
        "total_hours": 5.5,
    }
    assert "三丰" not in response.get_data(as_text=True)
    for unknown in ("LX2025-0000-0000-0000", "nonsense", "x" * 300):
        missing = client.get(f"/api/v1/certificates/{unknown}/verify")
        assert (missing.status_code, missing.get_json()["code"]) == (404, "not_found")


def test_verification_is_rate_limited_like_the_public_lists(
    make_app: AppFactory, fresh_state: None
) -> None:
    client = make_app(public_rate_limit="2 per minute").test_client()
    answers = [client.get("/api/v1/certificates/LX2025-0000-0000-0000/verify") for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert answers[2].get_json()["code"] == "rate_limited"


def test_a_reversal_after_issue_supersedes_the_certificate(
    app: Flask, client: FlaskClient, town: Community
) -> None:
    # Work approved by staff (crediting points by the rules), certified, then reversed.
    with app.app_context():
        session = extensions.session()
        session.get(Participation, town.ids["夜间巡逻"]).status = "submitted"  # type: ignore[union-attr]
        session.commit()
    approved = town.call(
        client, "staff_A", "POST", f"/participations/{town.ids['夜间巡逻']}/approve"
    )
    assert approved.status_code == 200, approved.get_json()
    certificate = issue(client, town, "2026-01-01", "2026-06-30")
    assert certificate["total_hours"] == 7.75
    number = certificate["number"]
    reversed_ = town.call(
        client,
        "staff_A",
        "POST",
        f"/participations/{town.ids['夜间巡逻']}/reverse",
        {"reason": "重复登记"},
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    verified = client.get(f"/api/v1/certificates/{number}/verify").get_json()
    assert (verified["status"], verified["total_hours"]) == ("superseded", 7.75)
    # Asking again for the period issues a new one, without the reversed work.
    again = town.call(
        client, "member", "POST", "/me/certificates", {"from": "2026-01-01", "to": "2026-06-30"}
    )
    assert again.status_code == 201
    assert again.get_json()["number"] != number
    assert again.get_json()["total_hours"] == 5.75
    assert again.get_json()["status"] == "valid"
    # The old one is still readable (and says superseded); the new one is in force.
    assert pdf_of(client, town, "member", number).status_code == 200
    assert client.get(f"/api/v1/certificates/{number}/verify").get_json()["status"] == "superseded"
    assert count_certificates(app) == 2
    # The holder's own list shows both, newest first, each as it stands.
    mine = town.call(client, "member", "GET", "/me/certificates").get_json()
    assert [(c["number"], c["status"]) for c in mine] == [
        (again.get_json()["number"], "valid"),
        (number, "superseded"),
    ]
    assert town.call(client, "staff_A", "GET", "/me/certificates").get_json() == []


def test_reversing_work_no_certificate_lists_changes_no_certificate(
    app: Flask, client: FlaskClient, town: Community
) -> None:
    number = issue(client, town, "2025-01-01", "2025-12-31")["number"]
    with app.app_context():
        session = extensions.session()
        session.get(Participation, town.ids["夜间巡逻"]).status = "approved"  # type: ignore[union-attr]
        session.commit()
    reversed_ = town.call(
        client,
        "staff_A",
        "POST",
        f"/participations/{town.ids['夜间巡逻']}/reverse",
        {"reason": "有误"},
    )
    assert reversed_.status_code == 200
    assert client.get(f"/api/v1/certificates/{number}/verify").get_json()["status"] == "valid"
