"""述统亮评: every figure of the summary and the league table against the world of
tests/api/report_world.py, counted by hand; XLSX and CSV hold the same numbers as the
JSON; who sees which report; bad input refused with a code."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import event, select

from api import extensions
from api.cli import cli
from points.access import Role, ScopeType
from points.reports import FIGURES
from service.auth.tokens import issue_access_token
from service.config import ConfigError, Settings
from service.db import utcnow
from service.people.directory import ensure_grant
from service.people.models import User
from tests.api.report_world import NOW, build_report_world
from tests.api.world import World
from tests.conftest import AppFactory, Backend

ZERO: dict[str, Any] = {
    **dict.fromkeys(FIGURES, 0),
    "volunteer_hours": 0.0,
    "acknowledge_rate": None,
    "average_rating": None,
    "average_work_rating": None,
}


def figures(**counted: Any) -> dict[str, Any]:
    # The world's work was all checked in: every hour of it is verified, none entered.
    counted.setdefault("verified_hours", counted.get("volunteer_hours", 0.0))
    return {**ZERO, **counted}


# The hand count (see report_world.py), the fourth quarter of 2026.
COMMUNITY_A = figures(
    tasks_published=3,  # T1, T2 and the world's task next week
    tasks_completed=1,  # T1
    participations_approved=4,  # person_A on T1 and T3, the volunteer on T1 and T2
    volunteers=2,
    volunteers_members=1,
    volunteers_volunteers=1,
    volunteer_hours=8.0,  # 2.5 + 1.5 + 3 + 1
    households_visited=2,  # household_A (visit and T1), household_A2
    residents_helped=4,
    demands_received=3,  # demand_A, D1, D2
    demands_closed=2,
    demands_closed_on_time=1,  # D1 (D2 had an overdue stage)
    whistles_received=1,
    whistles_acknowledged_on_time=1,
    acknowledge_rate=1.0,
    ratings=2,
    average_rating=4.0,
    work_ratings=1,  # household A's resident on person_A's part of T1
    average_work_rating=2.0,
    jifen_issued=35,  # person_A 20, the volunteer 15
    xingfubi_issued=40,  # shopper A 30, person_A 10
    xingfubi_redeemed=5,
    xingfubi_expired=3,
)
COMMUNITY_B = figures(
    tasks_published=2,  # T3 and the world's task next week
    tasks_completed=1,
    participations_approved=1,
    volunteers=1,
    volunteers_members=1,
    volunteer_hours=2.0,
    demands_received=2,  # demand_B, D3
    demands_closed=1,
    demands_closed_on_time=1,
    whistles_received=1,
    acknowledge_rate=0.0,  # due since 11 November, never 报到'd
    ratings=1,
    average_rating=4.0,
    jifen_issued=20,
    xingfubi_issued=30,
)
STREET = figures(
    **{
        name: COMMUNITY_A[name] + COMMUNITY_B[name]
        for name in FIGURES
        if name
        not in (
            "acknowledge_rate",
            "average_rating",
            "average_work_rating",
            "volunteers",
            "volunteers_members",
        )
    },
    volunteers=3,
    volunteers_members=2,
    acknowledge_rate=0.5,
    average_rating=4.0,
    average_work_rating=2.0,
)
STREET_BEFORE = figures(  # the third quarter: person_A's 4 hours on T0
    tasks_published=1,
    tasks_completed=1,
    participations_approved=1,
    volunteers=1,
    volunteers_members=1,
    volunteer_hours=4.0,
)
# The department's own branch: person_A's work, wherever it was, and its whistles.
OFFICE = figures(
    participations_approved=2,
    volunteers=1,
    volunteers_members=1,
    volunteer_hours=4.0,
    households_visited=1,
    whistles_received=2,
    whistles_acknowledged_on_time=1,
    acknowledge_rate=0.5,
    jifen_issued=20,
    xingfubi_issued=10,
    xingfubi_expired=3,
    **dict.fromkeys(
        (
            "tasks_published",
            "tasks_completed",
            "demands_received",
            "demands_closed",
            "demands_closed_on_time",
            "ratings",
            "average_rating",
            "work_ratings",
            "average_work_rating",
        ),
        None,
    ),
)
# Community B while paired, 1 to 31 October: T3, person_B's work on it, D3.
B_IN_OCTOBER = figures(
    tasks_published=1,
    tasks_completed=1,
    participations_approved=1,
    volunteers=1,
    volunteers_members=1,
    volunteer_hours=2.0,
    demands_received=1,
    demands_closed=1,
    demands_closed_on_time=1,
    ratings=1,
    average_rating=4.0,
)


@pytest.fixture
def counted(app: Flask, fresh_state: None) -> Iterator[World]:
    with time_machine.travel(NOW, tick=True):
        yield build_report_world(app)


def get(client: FlaskClient, world: World, role: str, which: str, **query: Any) -> Any:
    return client.get(
        f"/api/v1/reports/{which}",
        query_string=query,
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
    )


def download(client: FlaskClient, world: World, which: str, **query: Any) -> tuple[str, bytes]:
    """A file the report sends, read and closed: its type and bytes."""
    with get(client, world, "root", which, **query) as response:
        assert response.status_code == 200
        return response.mimetype, response.data


def summary(client: FlaskClient, world: World, scope: str, **query: Any) -> dict[str, Any]:
    response = get(client, world, "root", "summary", scope=scope, **query)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_a_street_summary_counts_every_figure(client: FlaskClient, counted: World) -> None:
    body = summary(client, counted, f"org:{counted.ids['street']}")
    own = body["own"]
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-12-31")
    assert "2026年第4季度" in body["title"]
    assert "街道" in body["title"]
    assert own["figures"] == STREET
    assert (own["previous_from"], own["previous_to"]) == ("2026-07-01", "2026-09-30")
    assert own["previous"] == STREET_BEFORE
    assert own["change"]["volunteer_hours"] == 6.0
    assert own["change"]["participations_approved"] == 4
    assert own["change"]["acknowledge_rate"] is None  # no rate the quarter before
    assert body["paired"] == []
    by_category = {row["category"]: row for row in own["tasks_by_category"]}
    assert by_category["environment"]["published"] == 1  # T1 (T0 is last quarter's)
    assert by_category["service"] == {
        "category": "service",
        "label": by_category["service"]["label"],
        "published": 3,  # T2 and the two tasks next week
        "completed": 0,
    }
    assert by_category["safety"]["completed"] == 1
    assert sum(row["published"] for row in own["tasks_by_type"]) == 5
    levels = {row["level"]: row for row in own["demands_by_level"]}
    assert levels["grid"]["received"] == 2
    assert levels["grid"]["closed_on_time"] == 2
    assert levels["community"]["closed"] == 1
    assert levels["community"]["closed_on_time"] == 0
    assert levels[""]["received"] == 2  # the world's two, not yet given a level
    assert own["rating_distribution"] == [
        {"score": s, "count": n} for s, n in ((1, 0), (2, 0), (3, 1), (4, 1), (5, 1))
    ]
    # The one rating of task work: a 2 for a clean-up (T1), by the household it reached.
    assert own["work_rating_distribution"] == [
        {"score": s, "count": 1 if s == 2 else 0} for s in range(1, 6)
    ]
    rated = {row["type"]: row for row in own["tasks_by_type"] if row["work_ratings"]}
    assert {t: (r["work_ratings"], r["average_work_rating"]) for t, r in rated.items()} == {
        "cleanup": (1, 2.0)
    }
    top = [(v["name"], v["hours"], v["participations"]) for v in own["top_volunteers"]]
    # A tie in hours and pieces goes to the earlier account.
    assert top == [("居民A", 4.0, 2), ("志愿者小王", 4.0, 2), ("居民B", 2.0, 1)]


def test_communities_and_their_league(client: FlaskClient, counted: World) -> None:
    for side, expected in (("A", COMMUNITY_A), ("B", COMMUNITY_B)):
        body = summary(client, counted, f"org:{counted.ids[f'community_{side}']}")
        assert body["own"]["figures"] == expected
    response = get(
        client, counted, "root", "league", scope=f"org:{counted.ids['street']}",
        sort="volunteer_hours", order="asc",
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    rows = response.get_json()["rows"]
    assert [(row["name"], row["figures"]) for row in rows] == [
        ("社区B", COMMUNITY_B),
        ("社区A", COMMUNITY_A),
    ]
    descending = get(client, counted, "root", "league", scope=f"org:{counted.ids['street']}")
    assert [row["name"] for row in descending.get_json()["rows"]] == ["社区A", "社区B"]


def test_a_members_work_counts_for_residence_and_branch(
    client: FlaskClient, counted: World
) -> None:
    """双报到: person_A's hours on T1 and T3 are community A's (where they live) and
    the department branch's (where they belong); person_B's are community B's and
    community B's branch's."""
    branch_b = summary(client, counted, f"branch:{counted.ids['branch_B']}")["own"]["figures"]
    assert branch_b["volunteer_hours"] == 2.0
    assert branch_b["participations_approved"] == 1
    assert branch_b["jifen_issued"] == 20
    assert branch_b["xingfubi_issued"] == 0
    assert branch_b["tasks_published"] == COMMUNITY_B["tasks_published"]  # its place's
    office = summary(client, counted, f"branch:{counted.ids['office_branch']}")
    assert office["own"]["figures"]["volunteer_hours"] == 4.0
    assert office["own"]["figures"]["tasks_published"] is None  # a department's branch


def test_a_department_sees_its_branches_and_paired_communities_apart(
    client: FlaskClient, counted: World
) -> None:
    body = summary(client, counted, f"dept:{counted.ids['department']}")
    assert body["own"]["figures"] == OFFICE
    paired = {section["name"]: section for section in body["paired"]}
    assert set(paired) == {"社区A", "社区B"}
    assert paired["社区A"]["figures"] == COMMUNITY_A
    assert (paired["社区A"]["from"], paired["社区A"]["to"]) == ("2026-10-01", "2026-12-31")
    # The pairing with B ended on 31 October: B counts for October only.
    assert (paired["社区B"]["from"], paired["社区B"]["to"]) == ("2026-10-01", "2026-10-31")
    assert paired["社区B"]["figures"] == B_IN_OCTOBER
    league = get(client, counted, "root", "league", scope=f"dept:{counted.ids['department']}")
    rows = league.get_json()["rows"]
    assert [(row["name"], row["figures"]["volunteer_hours"]) for row in rows] == [("机关支部", 4.0)]


def test_the_workbook_and_csv_hold_the_json_numbers(client: FlaskClient, counted: World) -> None:
    scope = f"org:{counted.ids['street']}"
    body = summary(client, counted, scope)
    _, data = download(client, counted, "summary", scope=scope, format="xlsx")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[:2] == ["总表", "八微分类"]
    assert "志愿者排行" in book.sheetnames
    sheet = book["总表"]
    assert "街道" in str(sheet["A1"].value)
    assert "2026年第4季度" in str(sheet["A1"].value)
    assert sheet.freeze_panes == "A3"
    assert [cell.value for cell in sheet[2]] == ["指标", "本期", "上期", "变化"]
    table = {row[0]: row[1:] for row in sheet.iter_rows(min_row=3, values_only=True)}
    own = body["own"]
    for name, label in FIGURES.items():
        assert table[label] == (own["figures"][name], own["previous"][name], own["change"][name])
    hours_row = list(FIGURES).index("volunteer_hours") + 3
    assert sheet.cell(row=hours_row, column=2).number_format == "#,##0.00"
    categories = book["八微分类"]
    assert sum(row[1] for row in categories.iter_rows(min_row=3, values_only=True)) == 5

    mimetype, data = download(client, counted, "summary", scope=scope, format="csv")
    assert mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["指标", "代码", "本期", "上期", "变化"]
    for label, name, now, *_ in rows[1:]:
        assert label == FIGURES[name]
        expected = own["figures"][name]
        assert now == ("" if expected is None else str(expected))

    league = get(client, counted, "root", "league", scope=scope).get_json()
    _, data = download(client, counted, "league", scope=scope, format="xlsx")
    sheet = load_workbook(io.BytesIO(data))["排名"]
    assert sheet.freeze_panes == "A3"
    read = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [(row[1], dict(zip(FIGURES, row[2:], strict=True))) for row in read] == [
        (row["name"], row["figures"]) for row in league["rows"]
    ]


def test_a_department_workbook_shows_each_paired_community(
    client: FlaskClient, counted: World
) -> None:
    scope = f"dept:{counted.ids['department']}"
    _, data = download(client, counted, "summary", scope=scope, format="xlsx")
    sheet = load_workbook(io.BytesIO(data))["结对社区"]
    assert [cell.value for cell in sheet[2]] == ["指标", "社区A", "社区B"]
    hours = {row[0]: row[1:] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert hours[FIGURES["volunteer_hours"]] == (8.0, 2.0)


def test_who_sees_which_report(client: FlaskClient, counted: World) -> None:
    ids = counted.ids

    def status(role: str, scope: str, which: str = "summary") -> int:
        return int(get(client, counted, role, which, scope=scope).status_code)

    # Staff of community A: A's report, not B's, nor the street's (404: not theirs).
    assert status("staff", f"org:{ids['community_A']}") == 200
    assert status("staff", f"org:{ids['community_B']}") == 404
    assert status("staff", f"org:{ids['street']}") == 404
    assert status("staff", f"branch:{ids['branch_A']}") == 200  # A's own branch
    assert status("staff", f"branch:{ids['branch_B']}") == 404
    # A department's officer: their department and its branches, no community.
    assert status("dept_officer", f"dept:{ids['department']}") == 200
    assert status("dept_officer", f"dept:{ids['department']}", "league") == 200
    assert status("dept_officer", f"branch:{ids['office_branch']}") == 200
    assert status("dept_officer", f"org:{ids['community_A']}") == 404
    # A member sees where they live, but reports are not theirs to read.
    assert status("member", f"org:{ids['grid_A']}") == 403
    assert status("member", f"org:{ids['grid_B']}") == 404


def test_staff_granted_on_a_branch_see_that_branch(
    app: Flask, client: FlaskClient, counted: World
) -> None:
    """person_B made staff of community B's branch (支部书记): that branch's report, not
    community A's branch's."""
    with app.app_context():
        session = extensions.session()
        secretary = session.get(User, counted.ids["person_B"])
        assert secretary is not None
        ensure_grant(session, secretary, Role.STAFF, ScopeType.BRANCH, counted.ids["branch_B"])
        session.commit()
        counted.tokens["secretary"] = issue_access_token(
            extensions.settings().secret_key,
            user_id=secretary.id,
            token_version=secretary.token_version,
            family="fam-secretary",
            now=utcnow(),
        )
    ok = get(client, counted, "secretary", "summary", scope=f"branch:{counted.ids['branch_B']}")
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["own"]["figures"]["volunteer_hours"] == 2.0
    other = get(client, counted, "secretary", "summary", scope=f"branch:{counted.ids['branch_A']}")
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"scope": "place:1"}, "validation_error"),
        ({"scope": "org:abc"}, "validation_error"),
        ({}, "validation_error"),
        ({"scope": "org:999999"}, "not_found"),
        ({"scope": "dept:999999"}, "not_found"),
        ({"scope": "branch:999999"}, "not_found"),
        ({"scope": "STREET", "from": "2026-12-01", "to": "2026-11-01"}, "invalid_input"),
        ({"scope": "STREET", "from": "2020-01-01", "to": "2026-11-01"}, "invalid_input"),
        ({"scope": "STREET", "from": "yesterday"}, "validation_error"),
        ({"scope": "STREET", "format": "pdf"}, "validation_error"),
    ],
)
def test_bad_input_is_refused_with_a_code(
    client: FlaskClient, counted: World, query: dict[str, Any], code: str
) -> None:
    if query.get("scope") == "STREET":
        query = {**query, "scope": f"org:{counted.ids['street']}"}
    response = get(client, counted, "root", "summary", **query)
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] == code


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"sort": "nonsense"}, "validation_error"),
        ({"order": "sideways"}, "validation_error"),
        ({"scope": "BRANCH"}, "invalid_input"),  # a branch has no parts to compare
    ],
)
def test_bad_league_input_is_refused(
    client: FlaskClient, counted: World, query: dict[str, Any], code: str
) -> None:
    scope = query.pop("scope", "STREET")
    scope = {
        "STREET": f"org:{counted.ids['street']}",
        "BRANCH": f"branch:{counted.ids['branch_A']}",
    }[scope]
    response = get(client, counted, "root", "league", scope=scope, **query)
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] == code


def test_any_period_from_to(client: FlaskClient, counted: World) -> None:
    """10 to 20 October: T1 and T3 and the work on them; the change is against the
    eleven days before."""
    body = summary(
        client,
        counted,
        f"org:{counted.ids['street']}",
        **{"from": "2026-10-10", "to": "2026-10-20"},
    )
    own = body["own"]
    assert own["figures"]["participations_approved"] == 4  # P1, P2 (10th); P4, P5 (20th)
    assert own["figures"]["volunteer_hours"] == 9.0
    assert own["figures"]["tasks_published"] == 2
    assert (own["previous_from"], own["previous_to"]) == ("2026-09-29", "2026-10-09")
    assert own["previous"]["participations_approved"] == 0


def test_reports_read_through_their_own_connection(
    backend: Backend, make_app: AppFactory, counted: World
) -> None:
    """With LIANXIN_REPORTS_DATABASE_URL set (here a second URL for the test database,
    as a replica would be), every figure is read through the reports' engine; the main
    one only authenticates the caller."""
    url = backend.database_url or f"sqlite:///{backend.instance_path / 'lianxin.sqlite3'}"
    app = make_app(reports_database_url=url)
    with app.app_context():
        reports, main = extensions.reports_engine(), app.extensions["sqlalchemy"].engine
    assert reports is not main
    seen: dict[str, list[str]] = {"reports": [], "main": []}
    for name, engine in (("reports", reports), ("main", main)):
        event.listen(
            engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_, name=name: seen[name].append(statement),
        )
    body = summary(app.test_client(), counted, f"org:{counted.ids['street']}")
    assert body["own"]["figures"] == STREET
    assert any("ledger_transfer" in statement for statement in seen["reports"])
    assert any("participation" in statement for statement in seen["reports"])
    assert not any("participation" in statement for statement in seen["main"])


def test_the_reports_url_must_match_the_main_database() -> None:
    settings = Settings(reports_database_url="postgresql://replica/lianxin")
    with pytest.raises(ConfigError, match="LIANXIN_REPORTS_DATABASE_URL"):
        settings.validate()
    assert Settings.from_env(
        {"LIANXIN_REPORTS_DATABASE_URL": "sqlite:///r.db"}
    ).reports_database_url


def test_lianxin_report_writes_the_quarter_as_the_json_has_it(
    app: Flask, client: FlaskClient, counted: World, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    with app.app_context():
        session = extensions.session()
        root = session.scalars(select(User).where(User.name == "root")).one()
        root.openid = "o-root-report"
        session.commit()
    scope = f"dept:{counted.ids['department']}"
    out = tmp_path / "报表.xlsx"
    result = runner.invoke(
        cli,
        ["report", "summary", "--scope", scope, "--quarter", "2026Q4", "--by", "o-root-report",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2026年第4季度" in result.output
    sheet = load_workbook(out)["总表"]
    table = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert {name: table[label] for name, label in FIGURES.items()} == OFFICE
    paired = load_workbook(out)["结对社区"]
    assert [cell.value for cell in paired[2]] == ["指标", "社区A", "社区B"]

    league = tmp_path / "排名.csv"
    result = runner.invoke(
        cli,
        ["report", "league", "--scope", f"org:{counted.ids['street']}", "--quarter", "2026Q4",
         "--by", "o-root-report", "--out", str(league)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(league.read_text(encoding="utf-8-sig"))))
    hours = rows[0].index(FIGURES["volunteer_hours"])
    assert [(row[0], float(row[hours])) for row in rows[1:]] == [("社区A", 8.0), ("社区B", 2.0)]

    for wrong, said in (
        (["--quarter", "2026Q5"], "2026Q4"),
        (["--scope", "street"], "org:{id}"),
        (["--by", "nobody"], "no user 'nobody'"),
        (["--scope", "org:999999"], "place not found"),
    ):
        options = {"--scope": scope, "--by": "o-root-report", "--quarter": "2026Q4"}
        options.update(dict(zip(wrong[::2], wrong[1::2], strict=True)))
        args = [part for pair in options.items() for part in pair]
        failed = runner.invoke(cli, ["report", "summary", *args, "--out", str(out)])
        assert failed.exit_code != 0
        assert said in failed.output
