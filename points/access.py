"""Roles and the kinds of object a role can be granted on (DESIGN.md §4)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"  # 党员
    VOLUNTEER = "volunteer"  # 志愿者
    RESIDENT = "resident"  # 居民
    STAFF = "staff"  # 社区工作者
    CLERK = "clerk"  # 驿站管理员
    DEPT_OFFICER = "dept_officer"  # 部门报到负责人
    ADMIN = "admin"


class ScopeType(StrEnum):
    """What a grant is attached to; a grant covers that object's subtree."""

    ORG = "org"  # a node of the place tree
    DEPARTMENT = "department"
    BRANCH = "branch"
    STATION = "station"
