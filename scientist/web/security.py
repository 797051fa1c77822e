"""Who may use the web view: the access token, the CSRF token and the Host check.

- On a loopback address (the default) no token is needed, but the ``Host`` header must name a
  loopback host, so a page on another site cannot reach the server through DNS rebinding.
- On any other address a token is required on every request: the ``?token=`` of the address
  printed at start (it then becomes an HttpOnly cookie), the cookie, or ``Authorization: Bearer``.
- Every state-changing request is a POST carrying the CSRF token (form field ``csrf`` or header
  ``X-CSRF-Token``), which only the server's own pages contain.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

TOKEN_COOKIE = "scientist_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """The server's secrets and the checks made on each request."""

    def __init__(self, host: str, token: str | None = None) -> None:
        self.loopback = is_loopback(host)
        self.token = token if token is not None else (None if self.loopback else secrets.token_urlsafe(24))
        self.csrf = secrets.token_urlsafe(24)

    def refuse(self, request: Request) -> Response | None:
        """A response refusing the request, or ``None`` to let it through."""
        if self.loopback and (request.url.hostname or "") not in LOOPBACK_NAMES and not is_loopback(
                request.url.hostname or ""):
            return PlainTextResponse("refused: this server answers only to a loopback Host", status_code=403)
        if self.token is None:
            return None
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given, self.token) and request.method == "GET":
            # the printed address: remember the token in a cookie and drop it from the address bar
            clean = URL(str(request.url)).remove_query_params("token")
            response = RedirectResponse(str(clean), status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return response
        presented = request.cookies.get(TOKEN_COOKIE) or _bearer(request.headers.get("authorization", ""))
        if presented and hmac.compare_digest(presented, self.token):
            return None
        return PlainTextResponse("refused: a token is required; open the address `scientist serve` printed "
                                 "(it ends in ?token=...)", status_code=401)

    def csrf_ok(self, request: Request, form_value: str | None) -> bool:
        presented = form_value or request.headers.get("x-csrf-token") or ""
        return hmac.compare_digest(presented, self.csrf)


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
