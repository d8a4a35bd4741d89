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
_OTHER_PREFIXES = "lianxin.other_entrypoint_prefixes"


def include(app: Flask, *names: str) -> None:
    """Count the blueprints registered under ``names`` as the API's."""
    app.extensions.setdefault(API_BLUEPRINTS, set()).update(names)
    app.extensions.pop(_OTHER_PREFIXES, None)


def _other_prefixes(app: Flask) -> tuple[str, ...]:
    # Worked out once, not per request (every request opens a session and asks), and
    # again only if a blueprint was registered since.
    known: tuple[int, tuple[str, ...]] | None = app.extensions.get(_OTHER_PREFIXES)
    if known is None or known[0] != len(app.blueprints):
        api: set[str] = app.extensions.get(API_BLUEPRINTS, set())
        prefixes = tuple(
            prefix
            for name, blueprint in app.blueprints.items()
            # a blueprint at the root claims no path of its own
            if name not in api and (prefix := (blueprint.url_prefix or "").rstrip("/"))
        )
        known = app.extensions[_OTHER_PREFIXES] = (len(app.blueprints), prefixes)
    return known[1]


def owns_path(app: Flask, path: str) -> bool:
    return not any(
        path == prefix or path.startswith(prefix + "/") for prefix in _other_prefixes(app)
    )


def is_api_endpoint(app: Flask, endpoint: str) -> bool:
    """Whether a routed request's view (``blueprint.view``) is the API's."""
    return endpoint.rpartition(".")[0] in app.extensions.get(API_BLUEPRINTS, ())


def is_api_request() -> bool:
    endpoint = request.endpoint  # None when no route matched
    if endpoint is None:
        return owns_path(current_app, request.path)
    return is_api_endpoint(current_app, endpoint)
