"""Which requests are the API's.

The JSON error format, bearer tokens and going without a cookie session belong to the
API, not to the whole app, so another entrypoint registered beside it (the staff
console's server-rendered pages under ``/console``) starts from Flask's defaults and
sets its own.

A request routed to a view is the API's when the view's blueprint is one of the API's.
A URL that matches no route has no blueprint to ask, and the session is opened before
routing, so those go by path: the API answers unless the path lies under the
``url_prefix`` that a blueprint other than the API's was created with (so give the
console its prefix there, not only at registration). An unknown ``/api/v1/…`` or
``/anything`` is the API's 404; an unknown ``/console/…`` is the console's.
"""

from __future__ import annotations

from flask import Flask, current_app, request

API_BLUEPRINTS = "lianxin.api_blueprints"


def include(app: Flask, *names: str) -> None:
    """Count the blueprints registered under ``names`` as the API's."""
    app.extensions.setdefault(API_BLUEPRINTS, set()).update(names)


def owns_path(app: Flask, path: str) -> bool:
    api: set[str] = app.extensions.get(API_BLUEPRINTS, set())
    for name, blueprint in app.blueprints.items():
        prefix = (blueprint.url_prefix or "").rstrip("/")
        if name in api or not prefix:  # a blueprint at the root claims no path of its own
            continue
        if path == prefix or path.startswith(prefix + "/"):
            return False
    return True


def is_api_request() -> bool:
    if request.url_rule is None:
        return owns_path(current_app, request.path)
    return request.blueprint in current_app.extensions.get(API_BLUEPRINTS, set())
