"""The HTTP edge of Lianxin: app factory, blueprints, schemas, auth, CLI."""

from api.app import create_app

__all__ = ["create_app"]
