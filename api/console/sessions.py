"""Signing in to the console, the session cookie, and the CSRF check on every form.

The session lives in the database (service/auth/console_sessions.py); the cookie holds
only its random token: HttpOnly, SameSite=Lax, Secure unless configured off (never in
production). Every POST carries the session's CSRF token in a hidden field; the sign-in
form, before there is a session, carries one that must match a short-lived cookie."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from api import extensions
from api.console.clock import now
from api.errors import status_of
from points.access import Action, Actor, allows
from points.errors import DomainError
from service.auth.console_sessions import (
    ConsoleCaller,
    close_console_session,
    console_caller,
    open_console_session,
)

COOKIE = "lianxin_console"
SIGN_IN_COOKIE = "lianxin_console_sign_in"
OPEN_ENDPOINTS = frozenset({"console.sign_in", "console.static", "console.unknown_page"})
PASSWORD_ENDPOINTS = frozenset({"console.change_password", "console.sign_out"})

SIGN_IN_MESSAGES = {
    "invalid_credentials": "用户名或密码错误。",
    "account_locked": "密码错误次数过多，账号已锁定 15 分钟，请稍后再试。",
    "account_disabled": "该账号已停用，请联系管理员。",
    "rate_limited": "尝试过于频繁，请稍后再试。",
}


def current() -> ConsoleCaller:
    caller: ConsoleCaller = g.console_caller
    return caller


def current_actor() -> Actor:
    return current().actor


def _set_cookie(response: BaseResponse, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="Lax",
        secure=extensions.settings().console_cookie_secure,
    )


def _csrf_matches(expected: str) -> bool:
    sent = request.form.get("csrf_token", "")
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


def _safe_next(target: str | None) -> str:
    # Only a path of the console itself: never an open redirect to another site.
    if target and target.startswith("/console") and not urlsplit(target).netloc:
        return target
    return url_for("console.home")


def register(blp: Blueprint) -> None:
    @blp.before_request
    def identify() -> BaseResponse | None:
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        token = request.cookies.get(COOKIE)
        idle = timedelta(minutes=extensions.settings().console_idle_minutes)
        caller = console_caller(extensions.unit_of_work(), token, idle, now()) if token else None
        if caller is None:
            return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
        if request.method == "POST" and not _csrf_matches(caller.csrf_token):
            abort(400)  # nothing has been done: the use case runs after this
        g.console_caller = caller
        if caller.must_change_password and request.endpoint not in PASSWORD_ENDPOINTS:
            # A temporary password someone else chose opens nothing but its own change.
            return redirect(url_for("console.change_password"))
        return None

    blp.after_request(remember_sign_in_token)

    @blp.app_context_processor
    def page_context() -> dict[str, object]:
        caller: ConsoleCaller | None = g.get("console_caller")
        if caller is None:
            return {"caller": None, "may": frozenset()}
        # Which screens to offer, by the access policy's own table; each use case still
        # checks for itself.
        may = frozenset(
            action.value
            for action in (
                Action.MANAGE_TASKS,
                Action.MANAGE_RULES,
                Action.FULFIL_PICKUPS,
                Action.MANAGE_PEOPLE,
                Action.VIEW_REPORTS,
                Action.ANSWER_WHISTLES,
            )
            if any(allows(grant.role, action) for grant in caller.actor.grants)
        )
        return {"caller": caller, "may": may}

    @blp.route("/sign-in", methods=["GET", "POST"])
    def sign_in() -> BaseResponse | tuple[str, int]:
        if request.method == "GET":
            return _sign_in_form(200, "")
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        if not expected or not _csrf_matches(expected):
            abort(400)
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username or not password:
            return _sign_in_form(422, "请输入用户名和密码。")
        try:
            # The same limit per username as the JSON sign-in, and the same policy.
            extensions.rate_limits_in_force().hit_sign_in_identity("username", username.lower())
            idle = timedelta(minutes=extensions.settings().console_idle_minutes)
            opened = open_console_session(
                extensions.unit_of_work(), username, password, idle, now()
            )
        except DomainError as refused:
            message = SIGN_IN_MESSAGES.get(refused.code, "登录失败。")
            return _sign_in_form(status_of(refused), message, username)
        response = redirect(_safe_next(request.args.get("next")))
        _set_cookie(response, COOKIE, opened.token, None)
        response.delete_cookie(SIGN_IN_COOKIE, path="/console")
        return response

    @blp.route("/sign-out", methods=["POST"])
    def sign_out() -> BaseResponse:
        close_console_session(extensions.unit_of_work(), request.cookies.get(COOKIE, ""))
        response = redirect(url_for("console.sign_in"))
        response.delete_cookie(COOKIE, path="/console")
        return response


def _sign_in_form(status: int, message: str, username: str = "") -> tuple[str, int]:
    token = secrets.token_urlsafe(32)
    page = render_template(
        "console/sign_in.html", csrf_token=token, message=message, username=username
    )
    g.sign_in_csrf = token
    return page, status


def remember_sign_in_token(response: Response) -> Response:
    token = g.get("sign_in_csrf")
    if token:
        _set_cookie(response, SIGN_IN_COOKIE, token, 30 * 60)
    return response
