"""A rule-set draft (积分规则草稿) for admins: a form for one rule, validated and drafted
by the same use case as POST /rule-sets, with each problem shown beside its field."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api import extensions
from api.console.sessions import current_actor
from api.console.tasks import CHOICES, place_choices
from points.errors import InvalidInput
from service.rules.rule_sets import draft_rule_set

# Form field → where its value sits in the rule set's content, as the parser names it.
FIELDS = {
    "name": "rules[0].name",
    "task_type": "rules[0].match.task_types",
    "jifen": "rules[0].awards.jifen",
    "xingfubi": "rules[0].awards.xingfubi",
}


def _amount(text: str) -> object:
    # A whole number goes as one; anything else goes as typed, for the parser to name.
    return int(text) if text.strip().lstrip("-").isdigit() else text


def _content(form: Any) -> dict[str, Any]:
    return {
        "rules": [
            {
                "name": form.get("name", ""),
                "match": {"events": ["task_completed"], "task_types": [form.get("task_type", "")]},
                "awards": {
                    "jifen": {"base": _amount(form.get("jifen", ""))},
                    "xingfubi": {"base": _amount(form.get("xingfubi", ""))},
                },
            }
        ]
    }


def beside_fields(errors: dict[str, Any]) -> dict[str, list[str]]:
    """The parser's problems by form field; those of no field under "_form"."""
    placed: dict[str, list[str]] = {}
    for where, problems in errors.items():
        field = next((name for name, path in FIELDS.items() if where.startswith(path)), "_form")
        texts = problems if isinstance(problems, list) else [str(problems)]
        placed.setdefault(field, []).extend(str(text) for text in texts)
    return placed


def register(blp: Blueprint) -> None:
    @blp.route("/rule-sets/new", methods=["GET", "POST"])
    def new_rule_set() -> Response | tuple[str, int] | str:
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            try:
                effective_from = date.fromisoformat(request.form.get("effective_from", ""))
            except ValueError:
                errors["effective_from"] = ["请填写生效日期"]
            place = request.form.get("org_id", "")
            if not place.isdigit():
                errors["org_id"] = ["请选择地点"]
            if not errors:
                try:
                    drafted = draft_rule_set(
                        extensions.unit_of_work(),
                        current_actor(),
                        int(place),
                        _content(request.form),
                        effective_from,
                        request.form.get("note", "").strip(),
                    )
                except InvalidInput as invalid:
                    errors = beside_fields(invalid.errors or {"_form": [invalid.message]})
                else:
                    flash(f"草稿已保存：第 {drafted.version} 版")
                    return redirect(url_for("console.new_rule_set"))
        page = render_template(
            "console/rule_set_new.html",
            places=place_choices(),
            task_types=CHOICES["type"],
            form=request.form,
            errors=errors,
        )
        return (page, 422) if errors else page
