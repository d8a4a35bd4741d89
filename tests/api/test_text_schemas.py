"""Every string field of every schema the API has is text (api/text.py), and the OpenAPI
document says which kind: so a new field can't reach the database unjudged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from flask import Flask

from api import text
from tests.api.openapi_walk import text_fields


def test_every_string_the_api_reads_is_marked_as_text(spec: dict[str, Any]) -> None:
    unmarked = [f for f in text_fields(spec) if "x-text" not in f.prop]
    assert not unmarked, unmarked
    kinds = {f.prop["x-text"] for f in text_fields(spec)}
    assert kinds == {"line", "multiline", "verbatim"}


def fields_of(schema: ma.Schema, *, loaded: bool) -> Iterator[tuple[str, ma.fields.Field]]:
    for name, field in schema.fields.items():
        if not (loaded and field.dump_only):
            yield from inner_fields(name, field, loaded=loaded)


def inner_fields(
    name: str, field: ma.fields.Field, *, loaded: bool
) -> Iterator[tuple[str, ma.fields.Field]]:
    yield name, field
    if isinstance(field, ma.fields.List):
        yield from inner_fields(f"{name}[]", field.inner, loaded=loaded)
    elif isinstance(field, ma.fields.Dict):
        for part, inner in (("keys", field.key_field), ("values", field.value_field)):
            if inner is not None:
                yield from inner_fields(f"{name}.{part}", inner, loaded=loaded)
    elif isinstance(field, ma.fields.Nested) and isinstance(field.schema, ma.Schema):
        for inner_name, inner in fields_of(field.schema, loaded=loaded):
            yield f"{name}.{inner_name}", inner


def api_schemas() -> list[ma.Schema]:
    return [
        cls()
        for name, classes in ma.class_registry._registry.items()
        if "." not in name  # each class is also registered by its full path
        for cls in classes
        if cls.__module__.startswith("api.")
    ]


def schemas_read(app: Flask) -> Iterator[ma.Schema]:
    """The argument schemas of every view (bodies, query strings and files), as
    flask-smorest records them for the document."""
    for view in app.view_functions.values():
        view_class = getattr(view, "view_class", None)
        handlers = (
            [getattr(view_class, m.lower()) for m in view.methods or ()] if view_class else [view]
        )
        for handler in handlers:
            arguments = getattr(handler, "_apidoc", {}).get("arguments", {})
            for parameter in arguments.get("parameters", []):
                schema = parameter["schema"]
                yield schema() if isinstance(schema, type) else schema


def test_no_schema_of_the_api_has_a_plain_string(app: Flask) -> None:
    schemas = api_schemas()
    assert len(schemas) >= 50
    plain = [
        f"{type(schema).__name__}.{name}"
        for schema in schemas
        for name, field in fields_of(schema, loaded=False)
        if isinstance(field, ma.fields.String) and not isinstance(field, text.Text)
    ]
    assert not plain, f"use api.text's Text, MultilineText or VerbatimText: {plain}"


# Free JSON the API takes, and who judges the text in it.
JUDGED_ELSEWHERE = {
    # Parsed by points.rules, which keeps a rule's name (its one free text) to a line
    # of text and refuses every key it doesn't know.
    ("RuleSetSchema", "content"),
    ("RuleSetChangesSchema", "content"),
    ("ContentSchema", "content"),
}


def test_any_other_json_the_api_reads_is_judged_by_a_parser(app: Flask) -> None:
    read = list(schemas_read(app))
    assert len(read) >= 40
    free = [
        (type(schema).__name__, name)
        for schema in read
        for name, field in fields_of(schema, loaded=True)
        if type(field) is ma.fields.Raw
        or (isinstance(field, ma.fields.Dict) and field.value_field is None)
    ]
    assert free, "the rule-set content, at least"
    assert not set(free) - JUDGED_ELSEWHERE, f"say who judges the text in this JSON: {free}"
