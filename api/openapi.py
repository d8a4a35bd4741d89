"""The OpenAPI document and browsable docs, generated from the marshmallow schemas.

Swagger UI is served from the ``swagger-ui-bundle`` wheel rather than a CDN, so
the docs work on a district intranet with no internet access.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Flask, Request, send_from_directory
from flask_smorest.spec.plugins import integerconverter2paramschema
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from api import boundary
from api.errors import answer_http_error
from api.text import only_text_refused

# JSON nested deeper than this is refused before it is parsed: the decoder recurses
# once per level, and a body nested as deep as the interpreter's limit would crash it.
MAX_JSON_DEPTH = 32


def json_depth_over(body: bytes, limit: int) -> bool:
    """Whether ``body`` nests arrays or objects more than ``limit`` deep."""
    # No body can nest deeper than it has brackets: counting them runs at C speed, and
    # nearly every body stops there.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


class _OneSchemaPerClass(FlaskParser):
    """webargs builds a new instance of an arguments schema class for every request;
    a marshmallow schema is reusable, so each class is built once. A body that is not
    JSON the API can read, for whatever reason, is 400 ``invalid_json``; arguments whose
    only fault is text the API doesn't take are 422 ``invalid_text``."""

    def _raw_load_json(self, req: Request) -> Any:
        if is_json_request(req) and json_depth_over(req.get_data(cache=True), MAX_JSON_DEPTH):
            abort(400, code="invalid_json", message=f"JSON nested over {MAX_JSON_DEPTH} deep")
        return super()._raw_load_json(req)

    def _handle_invalid_json_error(
        self, error: Exception, req: Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        abort(400, code="invalid_json", message="the body is not valid JSON")

    def handle_error(
        self,
        error: ma.ValidationError,
        req: Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        if not only_text_refused(error.messages):
            super().handle_error(
                error,
                req,
                schema,
                error_status_code=error_status_code,
                error_headers=error_headers,
            )
        abort(
            error_status_code or self.DEFAULT_VALIDATION_STATUS,
            code="invalid_text",
            message="Text in the request holds characters it may not; see errors.",
            messages=error.messages,
            headers=error_headers,
        )

    def _get_schema(self, argmap: Any, req: Request) -> ma.Schema:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _schema_of(argmap)
        schema: ma.Schema = super()._get_schema(argmap, req)
        return schema


@cache
def _schema_of(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's blueprint, parsing arguments with schemas built once."""

    ARGUMENTS_PARSER = _OneSchemaPerClass()


class LianxinApi(flask_smorest.Api):  # type: ignore[misc]
    """flask-smorest with our error format instead of its own; what it registers, and
    so documents, is the API."""

    def handle_http_exception(self, error: Any) -> Any:
        return answer_http_error(error)

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        super().register_blueprint(blp, parameters=parameters, **options)
        boundary.include(self._app, options.get("name", blp.name))


class IdConverter(IntegerConverter):
    """A path's ``<int:…>``: an id, at most a BIGINT. A larger number names nothing of
    ours (404) rather than reaching the database, which can't even compare it."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> LianxinApi:
    app.config.update(
        API_TITLE="Lianxin 连心 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/static/",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Backend of the Lianxin WeChat mini-program: tasks, "
                "attendance, points (积分, 幸福币), stations and leaderboards.",
            },
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
        },
    )
    # Before any route is added: every <int:…> in a path is an id.
    app.url_map.converters["int"] = IdConverter
    api = LianxinApi(app)
    api.register_converter(IdConverter, integerconverter2paramschema)

    static = FlaskBlueprint("swagger_ui_static", __name__)

    @static.get("/api/docs/static/<path:filename>")
    def swagger_asset(filename: str) -> Response:
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    app.register_blueprint(static)
    boundary.include(app, "api-docs", static.name)
    return api
