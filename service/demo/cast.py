"""Who and what the demo world holds: its street, communities, people, tasks,
households, demands, stations and goods."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from points.access import Role
from points.rules import (
    Category,
    TaskType,
    WorkUnit,
)
from service.organisation.models import Branch, Department, Pairing

_Row = TypeVar("_Row", Department, Branch, Pairing)

STREET = "连心街道"
DEPARTMENT = "区民政局"
DEPARTMENT_BRANCH = "区民政局机关党支部"
PAIRED_SINCE = date(2026, 1, 1)
# Per community: title, type, category, work unit, hour it starts tomorrow, hours, capacity.
DEMO_TASKS = (
    ("敲门行动：走访独居老人", TaskType.DOOR_KNOCK, Category.SERVICE, WorkUnit.HOUSEHOLDS, 9, 3, 6),
    ("送菜上门", TaskType.ELDER_DELIVERY, Category.CHARITY, WorkUnit.HOURS, 10, 2, 4),
    (
        "反诈宣传：帮居民装国家反诈APP",
        TaskType.ANTI_FRAUD,
        Category.SAFETY,
        WorkUnit.RESIDENTS_HELPED,
        14,
        2,
        8,
    ),
    ("夜间安全巡逻", TaskType.PATROL, Category.SAFETY, WorkUnit.HOURS, 19, 2, 5),
)
# Per grid: door label and needs (党员联户: the households members look after).
DEMO_HOUSEHOLDS = (
    ("1栋1单元101", "独居老人"),
    ("1栋2单元302", "行动不便，需送菜上门"),
    ("2栋1单元501", ""),
)
# Per community: the open demand its first resident reported.
DEMO_DEMANDS = (
    (Category.FACILITY, "3栋楼道路灯不亮，老人晚上下楼不方便"),
    (Category.ENVIRONMENT, "小区东门垃圾桶满溢，气味很大"),
)
# A GCJ-02 point per community, as the mini-program's map would give it.
DEMO_POINTS = ((39.9163, 116.4039), (39.9288, 116.4172))
COMMUNITIES = (
    ("幸福社区", ("幸福第一网格", "幸福第二网格")),
    ("和平社区", ("和平第一网格", "和平第二网格")),
)
ADMIN = ("demo-admin-1", "周建华")
# 工作台: console usernames of the demo only, all with the one password README gives,
# kept (never forced to change) so that anyone trying the demo signs straight in.
CONSOLE_USERNAMES = {"demo-staff-1": "staff1", "demo-clerk-1": "clerk1", "demo-admin-1": "admin1"}
DEMO_CONSOLE_PASSWORD = "lianxin-demo"  # noqa: S105 - the demo's, printed by `demo seed`
# 新就业群体 as 移动探头: a delivery rider who lives elsewhere and holds no role here.
RIDER = ("demo-rider-1", "外卖骑手小陈")
# 吹哨报到: the department's officer, who answers the whistles blown to it.
OFFICER = ("demo-officer-1", "孟凡")
# Per community: a station, its clerk (驿站管理员), and what it hands out. The first
# item costs 5 幸福币, what one door-knocking visit of three households earns.
STATIONS = (
    ("幸福社区小蜜蜂驿站", "幸福路18号", ("demo-clerk-1", "高雪")),
    ("和平社区爱心超市", "和平街6号", ("demo-clerk-2", "罗刚")),
)
# name, description, price in 幸福币, stock, per-member limit per month, members only
DEMO_ITEMS = (
    ("抽纸一提", "三层抽纸，一提6包", 5, 50, 2, False),
    ("洗衣液 2kg", "", 20, 30, 1, False),
    ("大米 5kg", "党员志愿服务专享", 50, 10, 1, True),
)
# Per community: staff (社区工作者), party members (党员), volunteers, residents.
PEOPLE = (
    {
        Role.STAFF: [("demo-staff-1", "王芳")],
        Role.MEMBER: [
            ("demo-member-1", "李建国"),
            ("demo-member-2", "张秀英"),
            ("demo-member-3", "刘伟"),
        ],
        Role.VOLUNTEER: [("demo-volunteer-1", "陈静"), ("demo-volunteer-2", "杨洋")],
        Role.RESIDENT: [("demo-resident-1", "赵桂兰"), ("demo-resident-2", "黄志强")],
    },
    {
        Role.STAFF: [("demo-staff-2", "吴敏")],
        Role.MEMBER: [
            ("demo-member-4", "孙国庆"),
            ("demo-member-5", "马丽"),
            ("demo-member-6", "朱红梅"),
        ],
        Role.VOLUNTEER: [("demo-volunteer-3", "胡海涛"), ("demo-volunteer-4", "郭婷")],
        Role.RESIDENT: [("demo-resident-3", "何淑珍"), ("demo-resident-4", "林志明")],
    },
)
