"""The application factory."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from api import (
    achievements,
    adjustments,
    approvals,
    audit,
    authentication,
    awards,
    bodies,
    certificates,
    console,
    content,
    demands,
    errors,
    extensions,
    health,
    household_links,
    households,
    imports,
    leaderboards,
    ledger,
    manual_entries,
    me,
    metrics,
    no_shows,
    notifications,
    observability,
    openapi,
    orders,
    organisation,
    participations,
    people,
    places,
    proxies,
    redemptions,
    reports,
    rules,
    sign_in,
    stations,
    task_series,
    tasks,
    uploads,
    work_ratings,
)
from service.config import Settings


def create_app(config: Settings | None = None) -> Flask:
    """Build a configured app. ``config`` defaults to the environment (LIANXIN_*).

    Raises ``ConfigError`` with a one-line reason when the settings are unusable.
    """
    settings = config if config is not None else Settings.from_env()
    settings.validate()

    app = Flask("lianxin", instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        LIANXIN_SETTINGS=settings,
        TESTING=settings.env == "test",
    )
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )

    observability.init_app(app, settings)
    extensions.init_app(app, settings)
    api = openapi.init_app(app)
    errors.init_app(app)
    health.init_app(app, api)
    authentication.init_app(app)
    # After authenticating, as a body schema is only read for someone signed in.
    bodies.init_app(app)
    metrics.init_app(app)
    api.register_blueprint(sign_in.blp)
    api.register_blueprint(me.blp)
    api.register_blueprint(notifications.blp)
    api.register_blueprint(ledger.blp)
    api.register_blueprint(places.blp)
    api.register_blueprint(organisation.blp)
    api.register_blueprint(people.blp)
    api.register_blueprint(rules.blp)
    api.register_blueprint(adjustments.blp)
    api.register_blueprint(awards.blp)
    api.register_blueprint(tasks.blp)
    api.register_blueprint(task_series.blp)
    api.register_blueprint(participations.blp)
    api.register_blueprint(approvals.blp)
    api.register_blueprint(no_shows.blp)
    api.register_blueprint(manual_entries.blp)
    api.register_blueprint(uploads.blp)
    api.register_blueprint(households.blp)
    api.register_blueprint(demands.blp)
    api.register_blueprint(demands.public)
    api.register_blueprint(orders.blp)
    api.register_blueprint(household_links.blp)
    api.register_blueprint(work_ratings.blp)
    api.register_blueprint(stations.blp)
    api.register_blueprint(redemptions.blp)
    api.register_blueprint(proxies.blp)
    api.register_blueprint(leaderboards.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(imports.blp)
    api.register_blueprint(content.blp)
    api.register_blueprint(content.events)
    api.register_blueprint(certificates.blp)
    api.register_blueprint(certificates.verification)
    api.register_blueprint(achievements.blp)
    api.register_blueprint(reports.blp)
    # Beside the API, not in it: its own pages, session cookie and error pages.
    console.init_app(app, settings.console_cookie_secure)
    return app
