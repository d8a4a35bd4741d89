"""Console accounts (账号): an admin gives a staff member or clerk of their scope a
username and a temporary password; whoever signed in with a temporary one chooses
their own before anything else (service/auth/console_accounts.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api import extensions
from api.console.clock import now
from api.console.sessions import current, current_actor
from points.access import Role
from points.errors import Conflict, InvalidInput
from service.auth.console_accounts import (
    change_own_password,
    console_people,
    console_person,
    give_console_account,
)

ROLE_NAMES = {
    Role.STAFF: "社区工作者",
    Role.CLERK: "驿站管理员",
    Role.ADMIN: "管理员",
    Role.DEPT_OFFICER: "部门联络员",
}


def _beside(refused: InvalidInput | Conflict, field: str) -> dict[str, list[str]]:
    """The use case's problems by field; the password's own under the form's name."""
    errors: dict[str, list[str]] = {}
    for key, texts in (refused.errors or {}).items():
        errors[field if key == "password" else key] = [
            str(text) for text in (texts if isinstance(texts, list) else [texts])
        ]
    return errors or {"_form": [refused.message]}


def role_name(role: Role) -> str:
    return ROLE_NAMES.get(role, role.value)


def register(blp: Blueprint) -> None:
    blp.add_app_template_filter(role_name, "role_name")

    @blp.route("/people")
    def people() -> str:
        listed = console_people(extensions.session(), current_actor())
        return render_template("console/people.html", people=listed)

    @blp.route("/people/<int:user_id>/account", methods=["GET", "POST"])
    def account(user_id: int) -> Response | tuple[str, int] | str:
        actor = current_actor()
        person = console_person(extensions.session(), actor, user_id)
        errors: dict[str, list[str]] = {}
        status = 422
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            password = request.form.get("password", "")
            if password != request.form.get("password_again", ""):
                errors["password_again"] = ["两次输入的密码不一致"]
            else:
                try:
                    give_console_account(
                        extensions.unit_of_work(), actor, user_id, username, password
                    )
                except (InvalidInput, Conflict) as refused:
                    errors = _beside(refused, "password")
                    status = 409 if isinstance(refused, Conflict) else 422
                else:
                    flash(f"已为 {person.user.name} 设置账号 {username}，首次登录须修改密码")
                    return redirect(url_for("console.people"))
        page = render_template(
            "console/account.html", person=person, form=request.form, errors=errors
        )
        return (page, status) if errors else page

    @blp.route("/password", methods=["GET", "POST"])
    def change_password() -> Response | tuple[str, int] | str:
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            new = request.form.get("new_password", "")
            if new != request.form.get("new_password_again", ""):
                errors["new_password_again"] = ["两次输入的密码不一致"]
            else:
                try:
                    change_own_password(
                        extensions.unit_of_work(),
                        current_actor(),
                        request.form.get("current_password", ""),
                        new,
                        now(),
                        keep_session=current().session_key,
                    )
                except InvalidInput as refused:
                    errors = _beside(refused, "new_password")
                else:
                    flash("密码已修改")
                    return redirect(url_for("console.home"))
        page = render_template("console/password.html", errors=errors)
        return (page, 422) if errors else page
