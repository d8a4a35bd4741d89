"""Response headers for every console page: no inline script, no framing, no sniffing."""

from __future__ import annotations

from flask import Blueprint, Response

# htmx's indicator styles would be inline: they are turned off (base.html), so style-src
# needs no 'unsafe-inline' either. The QR code is an inline SVG, which is markup.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def register(blp: Blueprint) -> None:
    @blp.after_request
    def harden(response: Response) -> Response:
        for name, value in HEADERS.items():
            if name == "Cache-Control" and response.mimetype in ("text/css", "text/javascript"):
                continue  # the static files may be cached
            response.headers.setdefault(name, value)
        return response
