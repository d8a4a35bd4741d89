"""Walking the OpenAPI document, for tests whose cases are generated from it so that a
new operation or field can't be forgotten; and the checks such tests make."""

from __future__ import annotations

import io
import re
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api import extensions
from service.models import Base
from tests.api.world import World

WRITES = ("post", "put", "patch", "delete")
# Types the API parses into something else: they are not text.
NOT_TEXT_FORMATS = frozenset({"date", "date-time", "time", "binary"})


def concrete(path: str, parameters: list[dict[str, Any]] | None = None) -> str:
    """The path with every parameter filled in: 1 (an id, or a name that finds nothing),
    or the first of the values the route takes, where it names them."""
    named = {
        p["name"]: str(p["schema"]["enum"][0])
        for p in parameters or ()
        if p.get("in") == "path" and p.get("schema", {}).get("enum")
    }
    return re.sub(r"\{([^}]+)\}", lambda m: named.get(m.group(1), "1"), path)


def all_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every operation."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":  # shared by the path's operations
                yield method, path, operation


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path with ids filled in, JSON body schema) of every operation taking one."""
    for method, path, operation in all_operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        if method in WRITES and "application/json" in content:
            yield method.upper(), concrete(path), content["application/json"]["schema"]


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def rows_everywhere(app: Flask) -> int:
    with app.app_context():
        session = extensions.session()
        total = sum(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        )
        session.rollback()
        return total


def send(client: FlaskClient, world: World, method: str, path: str, **kwargs: Any) -> Any:
    """As the street's admin, who may do nearly anything, with a fresh Idempotency-Key."""
    headers = {
        "Authorization": f"Bearer {world.tokens['root']}",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    return client.open(path, method=method, headers=headers, **kwargs)


# --- the strings a client sends ----------------------------------------------------------


@dataclass(frozen=True)
class TextField:
    method: str
    path: str  # as the document writes it, {ids} and all
    location: str  # "json" or "query"
    at: tuple[str | int, ...]  # from the body's top (or the query's name) to the field
    prop: dict[str, Any]

    @property
    def free(self) -> bool:
        """Free text: what a person writes, with no list, pattern or format to keep to."""
        return self.prop["x-text"] != "verbatim" and not (
            {"enum", "pattern", "format"} & set(self.prop)
        )


def body_of(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    content = operation.get("requestBody", {}).get("content", {})
    return next(iter(content.items()), None)


def strings_in(
    spec: dict[str, Any], schema: dict[str, Any], at: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """(path, schema) of every string a client may send in a body of this schema."""
    schema = resolved(spec, schema)
    if schema.get("readOnly"):
        return
    if schema.get("type") == "object":
        for name, prop in schema.get("properties", {}).items():
            yield from strings_in(spec, prop, (*at, name))
    elif schema.get("type") == "array":
        yield from strings_in(spec, schema.get("items", {}), (*at, 0))
    elif schema.get("type") == "string" and schema.get("format") not in NOT_TEXT_FORMATS:
        yield at, schema


def text_fields(spec: dict[str, Any]) -> Iterator[TextField]:
    for method, path, operation in all_operations(spec):
        body = body_of(operation)
        if body is not None:
            for at, prop in strings_in(spec, body[1]["schema"]):
                yield TextField(method.upper(), path, "json", at, prop)
        for parameter in operation.get("parameters", []):
            prop = parameter.get("schema", {})
            if (
                parameter["in"] == "query"
                and prop.get("type") == "string"
                and prop.get("format") not in NOT_TEXT_FORMATS
            ):
                yield TextField(method.upper(), path, "query", (parameter["name"],), prop)


def example(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value that this schema takes, as small as it allows."""
    schema = resolved(spec, schema)
    kind = schema.get("type")
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        properties = schema.get("properties", {}).items()
        return {
            name: example(spec, p) for name, p in properties if name in schema.get("required", [])
        }
    if kind == "array":
        return [example(spec, schema["items"])] * schema.get("minItems", 0)
    if kind in ("integer", "number"):
        low = max(schema.get("minimum", 1), 1)
        return min(low, schema.get("maximum", low))
    if kind == "boolean":
        return False
    formats = {"date": "2030-01-01", "date-time": "2030-01-01T09:00:00+08:00"}
    if schema.get("format") in formats:
        return formats[schema["format"]]
    assert "pattern" not in schema, f"give the patterned field an example: {schema}"
    return "样" * min(max(schema.get("minLength", 2), 2), schema.get("maxLength", 2))


def placed(body: Any, at: tuple[str | int, ...], value: Any) -> Any:
    """``body`` with ``value`` put at ``at``, making the objects and lists on the way."""
    if not at:
        return value
    head, rest = at[0], at[1:]
    if isinstance(head, int):
        return [placed(None, rest, value)]
    inside = dict(body or {})
    inside[head] = placed(inside.get(head), rest, value)
    return inside


def error_at(errors: Any, at: tuple[str | int, ...]) -> Any:
    for key in at:
        if not isinstance(errors, dict):
            return None
        errors = errors.get(str(key))
    return errors


def with_query(path: str, query: dict[str, Any]) -> str:
    return f"{path}?{urllib.parse.urlencode(query)}" if query else path


def request_for(
    spec: dict[str, Any],
    field: TextField,
    values: dict[tuple[str | int, ...], str],
    *,
    path: str | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """client.open arguments for the field's operation: ``values`` placed in its body or
    query string, on ``body`` (or else the least the schema needs), with the files a
    multipart body requires."""
    operation = spec["paths"][field.path][field.method.lower()]
    parameters = operation.get("parameters", [])
    query = {
        p["name"]: example(spec, p["schema"])
        for p in parameters
        if p["in"] == "query" and p.get("required")
    }
    in_query = {p["name"] for p in parameters if p["in"] == "query"}
    arguments: dict[str, Any] = {}
    media = body_of(operation)
    if media is not None and media[0] == "application/json":
        body = example(spec, media[1]["schema"]) if body is None else body
        for at, value in values.items():
            if at[0] not in in_query:
                body = placed(body, at, value)
        arguments["json"] = body
    elif media is not None:
        schema = resolved(spec, media[1]["schema"])
        arguments["data"] = {
            name: (io.BytesIO(b"phone,amount,reason\n"), f"{name}.csv")
            for name, prop in schema["properties"].items()
            if prop.get("format") == "binary" and name in schema.get("required", [])
        }
    query |= {str(at[0]): value for at, value in values.items() if at[0] in in_query}
    all_parameters = [*spec["paths"][field.path].get("parameters", []), *parameters]
    arguments["path"] = with_query(path or concrete(field.path, all_parameters), query)
    return arguments
