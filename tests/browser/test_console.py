"""The staff console in a real browser: a staff member's day, the clerk's counter, an
admin's rule-set draft, and what the console refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api import extensions
from points.calendar import LOCAL_TIME, local_date
from service.db import utcnow
from service.demands.models import Demand
from service.people.models import User
from service.tasks.models import Participation, Task
from tests.api.world import World, demo_task
from tests.browser.conftest import PASSWORD, ConsoleWorld, Live, screenshot

NewPage = Callable[..., Page]


def sign_in(page: Page, username: str, name: str = "") -> None:
    page.goto("/console/")
    expect(page.get_by_role("heading", name="登录工作台")).to_be_visible()
    if name:
        screenshot(page, name)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def api(live: Live, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method,
        f"{live.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def jifen(live: Live, token: str) -> int:
    accounts = api(live, token, "GET", "/me/accounts").json()["items"]
    return next(a["balance"] for a in accounts if a["currency"] == "jifen")


def local_input(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%dT%H:%M")


def test_a_staff_members_day_from_a_new_task_to_the_members_points(
    console_world: ConsoleWorld, live: Live, new_page: NewPage
) -> None:
    world, page = console_world.world, new_page()
    sign_in(page, "staff-a", "sign-in")
    expect(page.get_by_role("heading", name="今日任务")).to_be_visible()

    page.get_by_role("link", name="发布任务").first.click()
    page.get_by_label("标题").fill("楼道清洁")
    page.get_by_label("地点").select_option(label="社区A")
    page.get_by_label("任务类型").select_option("door_knock")
    page.get_by_label("纬度").fill("39.9163")
    page.get_by_label("经度").fill("116.4039")
    page.get_by_label("签到范围（米）").fill("300")
    starts = utcnow() - timedelta(minutes=10)
    page.get_by_label("开始时间").fill(local_input(starts))
    page.get_by_label("结束时间").fill(local_input(starts + timedelta(hours=2)))
    page.get_by_label("人数上限").fill("5")
    page.get_by_label("签到方式").select_option("code")
    page.get_by_label("计量单位").select_option("households")
    screenshot(page, "task-new")
    page.get_by_role("button", name="保存任务").click()
    expect(page.get_by_role("heading", name="楼道清洁")).to_be_visible()
    expect(page.locator("#task-status")).to_have_text("草稿")
    task_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#task-status")).to_have_text("已发布")
    screenshot(page, "task")

    page.get_by_role("link", name="显示签到码").click()
    digits = page.get_by_test_id("checkin-digits")
    shown = digits.inner_text()
    assert len(shown) == 6
    assert shown.isdigit()
    expect(page.get_by_role("img", name="签到二维码").locator("svg")).to_be_visible()
    screenshot(page, "checkin")
    # Two steps on, the page fetches a code of its own accord (htmx, every 5 s).
    live.move_clock(timedelta(minutes=2))
    expect(digits).not_to_have_text(shown, timeout=15_000)
    live.move_clock(timedelta())
    expect(digits).not_to_have_text(digits.inner_text(), timeout=15_000)
    code = digits.inner_text()

    member = world.tokens["member"]
    before = jifen(live, member)
    signed = api(live, member, "POST", f"/tasks/{task_id}/signups")
    assert signed.status_code == 201, signed.text
    participation = signed.json()["id"]
    checked = api(live, member, "POST", f"/participations/{participation}/checkin", {"code": code})
    assert checked.status_code == 200, checked.text
    out = api(live, member, "POST", f"/participations/{participation}/checkout", {})
    assert out.status_code == 200, out.text
    handed = api(live, member, "POST", f"/participations/{participation}/submit", {"units": 3})
    assert handed.status_code == 200, handed.text

    page.goto("/console/approvals")
    expect(page.get_by_role("button", name=f"通过 #{participation}")).to_be_visible()
    # Names, not ids: the member who did it and the task's title and time.
    row = page.get_by_role("row").filter(has=page.get_by_label(f"选择 #{participation}"))
    expect(row).to_contain_text("member")
    expect(row.get_by_role("link", name="楼道清洁")).to_be_visible()
    expect(row).to_contain_text(local_input(starts).replace("T", " "))
    screenshot(page, "approvals")
    page.get_by_role("button", name=f"通过 #{participation}").click()
    expect(page.get_by_role("status")).to_contain_text(f"已通过 #{participation}")
    expect(page.get_by_role("button", name=f"通过 #{participation}")).to_have_count(0)
    assert jifen(live, member) > before

    # The home page's day is the task's own, even when the test began just after midnight.
    live.move_clock(starts + timedelta(minutes=1) - utcnow())
    page.get_by_role("link", name="首页").click()
    expect(page.get_by_role("link", name="楼道清洁")).to_be_visible()  # today's tasks
    screenshot(page, "home")


def test_a_clerk_hands_over_once_and_a_second_try_is_refused(
    console_world: ConsoleWorld, new_page: NewPage
) -> None:
    world, page = console_world.world, new_page(768)
    sign_in(page, "clerk-a")
    page.get_by_role("link", name="小蜜蜂驿站A 取货核销").click()
    expect(page.get_by_role("heading", name="取货核销 · 小蜜蜂驿站A")).to_be_visible()
    page.get_by_label("取货码（6 位）").fill(world.codes["A"])
    page.get_by_role("button", name="核销").click()
    expect(page.get_by_role("status")).to_contain_text("核销成功")
    expect(page.get_by_role("status")).to_contain_text("洗衣液")
    expect(page.get_by_role("status")).to_contain_text("顾客A")  # whom to hand it to
    screenshot(page, "pickup-768")
    page.get_by_label("取货码（6 位）").fill(world.codes["A"])
    page.get_by_role("button", name="核销").click()
    expect(page.get_by_role("alert")).to_contain_text("已核销过")


def test_a_rule_set_draft_shows_its_error_beside_the_field(
    console_world: ConsoleWorld, new_page: NewPage
) -> None:
    page = new_page()
    sign_in(page, "admin-a")
    page.get_by_role("link", name="积分规则").click()
    page.get_by_label("地点").select_option(label="社区A")
    page.get_by_label("生效日期").fill((local_date(utcnow()) + timedelta(days=30)).isoformat())
    page.get_by_label("规则名称").fill("楼道清洁")
    page.get_by_label("积分（每次）").fill("很多")
    page.get_by_label("幸福币（每次）").fill("3")
    page.get_by_role("button", name="校验并保存草稿").click()
    beside = page.locator(".field", has=page.get_by_label("积分（每次）")).locator(".field-error")
    expect(beside).to_have_text("请填写整数")
    expect(page.get_by_label("积分（每次）")).to_have_attribute("aria-invalid", "true")
    expect(
        page.locator(".field", has=page.get_by_label("规则名称")).locator(".field-error")
    ).to_have_count(0)
    screenshot(page, "rule-set-error")


def test_staff_of_b_get_the_404_page_for_a_task_of_a(
    console_world: ConsoleWorld, new_page: NewPage
) -> None:
    page = new_page()
    sign_in(page, "staff-b")
    task = console_world.world.ids["published_task_A"]
    for path in (f"/console/tasks/{task}", f"/console/tasks/{task}/checkin"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="404 · 页面不存在")).to_be_visible()
    screenshot(page, "not-found")


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    console_world: ConsoleWorld, live: Live, new_page: NewPage
) -> None:
    world, page = console_world.world, new_page()
    sign_in(page, "staff-a")
    task = world.ids["draft_task_A"]
    refused = page.request.post(f"/console/tasks/{task}/publish", form={"x": "1"})
    assert refused.status == 400
    assert "请求无效" in refused.text()
    staff = world.tokens["staff"]
    assert api(live, staff, "GET", f"/tasks/{task}").json()["status"] == "draft"
    page.goto(f"/console/tasks/{task}")
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#task-status")).to_have_text("已发布")


def test_an_admin_gives_a_clerk_a_temporary_password_changed_at_first_sign_in(
    console_world: ConsoleWorld, new_page: NewPage
) -> None:
    page = new_page()
    sign_in(page, "admin-a")
    page.get_by_role("link", name="账号", exact=True).click()
    expect(page.get_by_role("heading", name="工作台账号")).to_be_visible()
    clerk_row = page.get_by_role("row").filter(has_text="驿站管理员 · 小蜜蜂驿站A")
    expect(clerk_row).to_contain_text("clerk-a")
    screenshot(page, "people")
    page.get_by_role("link", name="设置账号 · clerk").click()
    page.get_by_label("用户名").fill("gao xue")
    page.get_by_label("临时密码", exact=True).fill("temporary pw 1")
    page.get_by_label("再次输入临时密码").fill("temporary pw 1")
    page.get_by_role("button", name="保存账号").click()
    beside = page.locator(".field", has=page.get_by_label("用户名")).locator(".field-error")
    expect(beside).to_have_text("3 到 64 个字符，不含空格")
    screenshot(page, "account")
    page.get_by_label("用户名").fill("gaoxue")
    page.get_by_label("临时密码", exact=True).fill("temporary pw 1")
    page.get_by_label("再次输入临时密码").fill("temporary pw 1")
    page.get_by_role("button", name="保存账号").click()
    expect(page.get_by_role("status")).to_contain_text("已为 clerk 设置账号 gaoxue")
    expect(clerk_row).to_contain_text("待改密码")

    clerk = new_page(768)
    clerk.goto("/console/")
    clerk.get_by_label("用户名").fill("gaoxue")
    clerk.get_by_label("密码").fill("temporary pw 1")
    clerk.get_by_role("button", name="登录").click()
    expect(clerk.get_by_role("heading", name="修改密码")).to_be_visible()
    clerk.goto("/console/")  # nothing else opens until it is changed
    expect(clerk.get_by_role("heading", name="修改密码")).to_be_visible()
    clerk.get_by_label("当前密码").fill("not the one")
    clerk.get_by_label("新密码", exact=True).fill("my own password")
    clerk.get_by_label("再次输入新密码").fill("my own password")
    clerk.get_by_role("button", name="保存新密码").click()
    wrong = clerk.locator(".field", has=clerk.get_by_label("当前密码")).locator(".field-error")
    expect(wrong).to_have_text("密码不正确")
    screenshot(clerk, "password-768")
    clerk.get_by_label("当前密码").fill("temporary pw 1")
    clerk.get_by_label("新密码", exact=True).fill("my own password")
    clerk.get_by_label("再次输入新密码").fill("my own password")
    clerk.get_by_role("button", name="保存新密码").click()
    expect(clerk.get_by_role("status")).to_contain_text("密码已修改")
    expect(clerk.get_by_role("link", name="小蜜蜂驿站A 取货核销")).to_be_visible()


def test_staff_of_b_get_the_404_page_for_an_account_of_a_and_csrf_is_checked(
    console_world: ConsoleWorld, live: Live, new_page: NewPage
) -> None:
    clerk = console_world.world.ids["user_clerk"]
    page = new_page()
    sign_in(page, "staff-b")
    response = page.goto(f"/console/people/{clerk}/account")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="404 · 页面不存在")).to_be_visible()

    admin = new_page()
    sign_in(admin, "admin-a")
    form = {
        "username": "forged",
        "password": "forged password",
        "password_again": "forged password",
    }
    refused = admin.request.post(f"/console/people/{clerk}/account", form=form)
    assert refused.status == 400
    admin.goto("/console/people")
    expect(admin.get_by_role("row").filter(has_text="小蜜蜂驿站A")).to_contain_text("clerk-a")


def ended_task_with_no_shows(live: Live, world: World) -> int:
    """A task of community A that ended an hour ago, where member and volunteer signed
    up and never came (marked no-show, as the sweep does)."""
    with live.app.app_context():
        session = extensions.session()
        starts = utcnow() - timedelta(hours=3)
        fields = demo_task(
            world.ids["community_A"], starts_at=starts, ends_at=starts + timedelta(hours=2)
        )
        fields.update(title="周末义诊", status="published")
        task = Task(**fields, created_by_id=world.ids["person_A"])
        session.add(task)
        session.flush()
        for name in ("member", "volunteer"):
            user = session.scalars(select(User).where(User.name == name)).one()
            session.add(
                Participation(
                    task_id=task.id,
                    user_id=user.id,
                    role=name,
                    status="no_show",
                    signed_up_at=starts - timedelta(days=1),
                    no_show_at=starts + timedelta(hours=2),
                )
            )
        session.commit()
        return task.id


def test_staff_run_a_task_list_edit_roster_excuse_manual_entry_and_cancel(
    console_world: ConsoleWorld, live: Live, new_page: NewPage
) -> None:
    world, page = console_world.world, new_page()
    ended = ended_task_with_no_shows(live, world)
    sign_in(page, "staff-a")
    page.get_by_role("link", name="任务", exact=True).click()
    page.get_by_label("状态").select_option(label="草稿")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("link", name="敲门行动")).to_have_count(1)  # the draft only
    expect(page.get_by_role("link", name="周末义诊")).to_have_count(0)
    page.get_by_label("状态").select_option(label="已发布")
    page.get_by_label("日期").fill(local_date(utcnow() - timedelta(hours=3)).isoformat())
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("link", name="周末义诊")).to_be_visible()
    screenshot(page, "task-list")

    # Edit the draft: a field error beside its field, then a stale version is a 409.
    draft = world.ids["draft_task_A"]
    page.goto(f"/console/tasks/{draft}/edit")
    page.get_by_label("标题").fill("敲")
    page.get_by_role("button", name="保存修改").click()
    beside = page.locator(".field", has=page.get_by_label("标题")).locator(".field-error")
    expect(beside).to_have_text("长度不符合要求")
    screenshot(page, "task-edit-error")
    staff = world.tokens["staff"]
    current = api(live, staff, "GET", f"/tasks/{draft}").json()
    changed = api(
        live, staff, "PATCH", f"/tasks/{draft}", {"version": current["version"], "capacity": 9}
    )
    assert changed.status_code == 200, changed.text
    page.get_by_label("标题").fill("敲门行动（改）")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("alert")).to_have_text("任务已被他人修改，请刷新页面后重新编辑。")
    page.goto(f"/console/tasks/{draft}/edit")
    page.get_by_label("标题").fill("敲门行动（改）")
    page.get_by_label("告知报名者（改了什么、为什么）").fill("标题更正")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("heading", name="敲门行动（改）")).to_be_visible()
    assert api(live, staff, "GET", f"/tasks/{draft}").json()["title"] == "敲门行动（改）"

    # The ended task's roster: excuse the member, enter the volunteer's work by hand.
    page.goto(f"/console/tasks/{ended}")
    page.get_by_role("link", name="报名名单").click()
    expect(page.get_by_role("row").filter(has_text="volunteer")).to_contain_text("爽约")
    page.get_by_label("爽约说明 · member").fill("住院，有医院证明")
    page.get_by_role("button", name="记录说明 · member").click()
    expect(page.get_by_role("status")).to_contain_text("已记录爽约说明")
    expect(page.get_by_role("row").filter(has_text="member")).to_contain_text("爽约（已说明）")
    page.get_by_label("参加者").select_option(label="volunteer（爽约）")
    page.get_by_label("时长（小时）").fill("5")
    page.get_by_label("户数/人数").fill("3")
    page.get_by_label("补录原因").fill("手机没电，未能签到")
    page.get_by_label("证明（谁看到了、做了什么）").fill("社区书记在场")
    page.get_by_role("button", name="提交补录").click()
    expect(page.get_by_role("alert")).to_be_visible()  # 5 hours: longer than the task
    expect(
        page.locator(".field", has=page.get_by_label("时长（小时）")).locator(".field-error")
    ).to_have_count(1)
    page.get_by_label("时长（小时）").fill("2")
    page.get_by_role("button", name="提交补录").click()
    expect(page.get_by_role("status")).to_contain_text("已补录，等待审核")
    expect(page.get_by_role("row").filter(has_text="volunteer")).to_contain_text("待审核")
    screenshot(page, "roster")
    page.set_viewport_size({"width": 768, "height": 900})
    screenshot(page, "roster-768")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Cancel the published task of A with a reason.
    published = world.ids["published_task_A"]
    page.goto(f"/console/tasks/{published}")
    page.get_by_label("取消原因").fill("暴雨预警")
    page.get_by_role("button", name="取消任务").click()
    expect(page.locator("#task-status")).to_have_text("已取消")
    screenshot(page, "task-cancelled")


def test_staff_of_b_get_the_404_page_for_the_task_pages_of_a(
    console_world: ConsoleWorld, live: Live, new_page: NewPage
) -> None:
    page = new_page()
    sign_in(page, "staff-b")
    task = console_world.world.ids["published_task_A"]
    for path in (f"/console/tasks/{task}/edit", f"/console/tasks/{task}/participations"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="404 · 页面不存在")).to_be_visible()
    refused = page.request.post(
        f"/console/tasks/{task}/cancel", form={"reason": "forged", "csrf_token": "wrong"}
    )
    assert refused.status == 400
    staff = console_world.world.tokens["staff"]
    assert api(live, staff, "GET", f"/tasks/{task}").json()["status"] == "published"


def an_overdue_demand(live: Live, world: World) -> None:
    with live.app.app_context():
        session = extensions.session()
        reporter = session.scalars(select(User).where(User.name == "member")).one()
        session.add(
            Demand(
                place_id=world.ids["grid_A"],
                category="facility",
                description="3栋楼道路灯不亮，老人晚上下楼不方便",
                reporter_id=reporter.id,
                reporter_role="member",
                status="submitted",
                due_stage="accept",
                due_at=utcnow() - timedelta(hours=5),
            )
        )
        session.commit()


def test_home_shows_overdue_demands_and_the_quarter_and_reports_download(
    console_world: ConsoleWorld, live: Live, new_page: NewPage
) -> None:
    an_overdue_demand(live, console_world.world)
    page = new_page()
    sign_in(page, "staff-a")
    overdue = page.locator("section", has=page.get_by_role("heading", name="超期诉求"))
    expect(overdue).to_contain_text("3栋楼道路灯不亮")
    expect(overdue).to_contain_text("立项超期")
    quarter = page.locator("section", has=page.get_by_role("heading", name="本季度 · 社区A"))
    expect(quarter).to_contain_text("发布任务数")
    screenshot(page, "home-figures")

    page.get_by_role("link", name="报表", exact=True).click()
    expect(page.get_by_role("heading", name="社区A", exact=True)).to_be_visible()
    # The same figures as the JSON report of the community.
    community = console_world.world.ids["community_A"]
    staff = console_world.world.tokens["staff"]
    json_report = api(live, staff, "GET", f"/reports/summary?scope=org:{community}").json()
    figures = json_report["own"]["figures"]
    main = page.get_by_role("table", name="社区A 主要指标")
    for name, label in (("demands_received", "收到诉求数"), ("tasks_published", "发布任务数")):
        row = main.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label))
        expect(row.get_by_role("cell").first).to_have_text(str(figures[name]))
    assert figures["demands_received"] >= 1
    expect(page.get_by_role("table", name="社区A 按类别")).to_be_visible()
    screenshot(page, "reports")
    with page.expect_download() as downloaded:
        page.get_by_role("link", name="下载 Excel 报表").click()
    assert downloaded.value.suggested_filename.endswith(".xlsx")


def test_a_clerk_sees_no_reports(console_world: ConsoleWorld, new_page: NewPage) -> None:
    page = new_page(768)
    sign_in(page, "clerk-a")
    expect(page.get_by_role("link", name="报表", exact=True)).to_have_count(0)
    response = page.goto("/console/reports")
    assert response is not None
    assert response.status == 403


def whistled_demand(live: Live, world: World) -> int:
    """A resident's report, accepted by staff and whistled to the department (吹哨)."""
    body = {
        "category": "facility",
        "description": "小区东门路面塌陷",
        "org_id": world.ids["grid_A"],
    }
    made = api(live, world.tokens["resident"], "POST", "/demands", body)
    assert made.status_code == 201, made.text
    demand = made.json()["id"]
    staff = world.tokens["staff"]
    accepted = api(live, staff, "POST", f"/demands/{demand}/accept", {"level": "street"})
    assert accepted.status_code == 200, accepted.text
    whistle = {"owner": "department", "department_id": world.ids["department"], "note": "请协调"}
    whistled = api(live, staff, "POST", f"/demands/{demand}/assign", whistle)
    assert whistled.status_code == 200, whistled.text
    return int(demand)


def test_an_officer_acknowledges_and_responds_to_a_whistle(
    console_world: ConsoleWorld, live: Live, new_page: NewPage
) -> None:
    world = console_world.world
    demand = whistled_demand(live, world)
    page = new_page(768)
    sign_in(page, "officer-a")
    page.get_by_role("link", name="吹哨报到").click()
    card = page.get_by_role("region", name=f"诉求 {demand}")
    expect(card).to_contain_text("小区东门路面塌陷")
    expect(card).to_contain_text("待报到")
    shown = api(live, world.tokens["dept_officer"], "GET", f"/demands/{demand}").json()
    deadline = datetime.fromisoformat(shown["deadlines"]["acknowledge"])
    expect(card).to_contain_text(deadline.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M"))
    screenshot(page, "whistles-768")
    # Another community's staff, with a good CSRF token, find no such demand.
    other = new_page()
    sign_in(other, "staff-b")
    token = other.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    refused = other.request.post(
        f"/console/demands/{demand}/acknowledge", form={"csrf_token": token, "note": "冒充"}
    )
    assert refused.status == 404
    assert "页面不存在" in refused.text()
    page.get_by_label(f"报到说明 · 诉求 {demand}").fill("已报到，明天到现场")
    page.get_by_role("button", name=f"报到 · 诉求 {demand}").click()
    expect(page.get_by_role("status")).to_contain_text(f"已报到：诉求 {demand}")
    expect(card).to_contain_text("落实中")
    page.get_by_label(f"办理结果 · 诉求 {demand}").fill("已安排施工队修复路面")
    page.get_by_role("button", name=f"反馈 · 诉求 {demand}").click()
    expect(card).to_contain_text("已反馈")
    after = api(live, world.tokens["dept_officer"], "GET", f"/demands/{demand}").json()
    assert (after["status"], after["resolution"]) == ("resolved", "已安排施工队修复路面")
    assert after["acknowledged_at"] is not None


def test_signing_in_and_finding_the_task_list_by_keyboard_alone(
    console_world: ConsoleWorld, new_page: NewPage
) -> None:
    page = new_page(768)
    page.goto("/console/")
    page.get_by_label("用户名").focus()
    page.keyboard.type("staff-a")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    for _ in range(3):  # the brand, 首页, then 任务
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="任务", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="任务列表")).to_be_visible()
    page.get_by_label("状态").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("日期")).to_be_focused()
