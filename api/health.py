"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from marshmallow import Schema, fields

from api import extensions
from api.errors import error_response
from api.openapi import Blueprint
from api.text import Text
from service.health import check_readiness

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


class HealthSchema(Schema):
    status = Text(required=True, metadata={"example": "ok"})
    checks = fields.Dict(keys=Text(), values=Text())


@blp.route("/healthz")
class Liveness(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """The process is up (no dependencies checked)."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="A dependency is down; `errors` names it")
    def get(self) -> Any:
        """The database and Redis answer; 503 names what is down."""
        readiness = check_readiness(extensions.session(), extensions.redis_client())
        if not readiness.ok:
            return error_response(
                503,
                "not_ready",
                f"down: {', '.join(readiness.down)}",
                errors=readiness.checks,
            )
        return {"status": "ok", "checks": readiness.checks}


def init_app(app: Flask, api: Any) -> None:
    # Probes answer at the root (for orchestrators) and under the API base path.
    api.register_blueprint(blp)
    api.register_blueprint(blp, url_prefix="/api/v1", name="health_v1")
