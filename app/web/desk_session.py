"""The desk's session: a signed, expiring cookie (HttpOnly, SameSite=Strict) that says whether
its holder signed in with API_TOKEN, and the CSRF token every desk form carries."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from app.errors import DeskRefused

COOKIE = "newsroom_desk"
PATH = "/desk"
_SALT = "newsroom-desk-session"
EXPIRED = "Your desk session has expired; sign in again."
FORGED = "Your desk session is not valid (it was not signed by this server); sign in again."
NO_SESSION = "This form needs a desk session: open the desk page, then send the form again."
NO_CSRF = (
    "This form's security token (CSRF) is missing or does not match your session; "
    "reload the desk page and send the form again."
)


@dataclass(frozen=True)
class Session:
    csrf: str  # sent back with every form of this session
    editor: bool  # signed in with the token


def _signer(token: str) -> URLSafeTimedSerializer:
    # Keyed by API_TOKEN: every worker signs alike, and a new token signs every editor out.
    secret = hmac.new(token.encode(), b"newsroom desk session", hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(secret, salt=_SALT)


def new(*, editor: bool) -> Session:
    return Session(secrets.token_urlsafe(32), editor)


def cookie_value(session: Session, token: str) -> str:
    return _signer(token).dumps({"csrf": session.csrf, "editor": session.editor})


def read(value: str | None, token: str, *, max_age_s: int) -> tuple[Session | None, str | None]:
    """The session the cookie holds, or None and why not (None: there was no cookie)."""
    if not value:
        return None, None
    try:
        data = _signer(token).loads(value, max_age=max_age_s)
    except SignatureExpired:
        return None, EXPIRED
    except BadSignature:
        return None, FORGED
    if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
        return None, FORGED
    return Session(data["csrf"], data.get("editor") is True), None


def of_request(
    request: Request, token: str, *, max_age_s: int
) -> tuple[Session | None, str | None]:
    return read(request.cookies.get(COOKIE), token, max_age_s=max_age_s)


def check_csrf(session: Session | None, problem: str | None, given: object) -> Session:
    """The session a form was sent in, if its CSRF token matches; else DeskRefused (403)."""
    if session is None:
        raise DeskRefused(problem or NO_SESSION)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise DeskRefused(NO_CSRF)
    return session


def set_cookie(
    response: Response, request: Request, session: Session, token: str, *, max_age_s: int
) -> None:
    """The session, signed, as the desk's cookie on the response."""
    response.set_cookie(
        COOKIE,
        cookie_value(session, token),
        max_age=max_age_s,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
