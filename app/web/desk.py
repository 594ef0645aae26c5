"""/desk: editors add, correct and withdraw articles from a browser, signed in with API_TOKEN.

Every write goes through app/publish.py, as the HTTP write routes do, and each page says what
the index did. A desk error is shown on the desk's own page with its status code.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app import publish
from app.api import ArchiveDep, SettingsDep
from app.config import Settings
from app.errors import (
    DeskRefused,
    NewsroomError,
    TooManyAttempts,
    Unauthorized,
)
from app.publish_api import DocumentIn, clean_note, kept_front_matter, with_metadata, write_path
from app.security import token_matches
from app.web import desk_forms as forms
from app.web import desk_session
from app.web.desk_session import Session
from app.web.templating import templates

router = APIRouter(include_in_schema=False)

OFF = "The desk is off: no API_TOKEN is configured, so nobody can write to the archive."
WRONG_TOKEN = (
    "That is not the desk's token. Check the API_TOKEN the service runs with and try again."
)
SIGN_IN_FIRST = "Sign in with the desk token first."


def _max_age(settings: Settings) -> int:
    return settings.desk_session_minutes * 60


def _session(request: Request, settings: Settings) -> tuple[Session | None, str | None]:
    assert settings.api_token  # every route checks that the desk is on first
    return desk_session.of_request(request, settings.api_token, max_age_s=_max_age(settings))


def _page(
    request: Request, name: str, session: Session | None, status: int = 200, **context: Any
) -> HTMLResponse:
    context |= {"csrf": session.csrf if session else "", "editor": bool(session and session.editor)}
    page = templates.TemplateResponse(request, name, context, status_code=status)
    page.headers["Cache-Control"] = "no-store"  # it holds the session's CSRF token
    return page


def _refused(request: Request, exc: NewsroomError, session: Session | None) -> HTMLResponse:
    page = _page(request, "desk.html", session, exc.status_code, error=str(exc))
    for key, value in (exc.headers or {}).items():
        page.headers[key] = value
    return page


@router.get("/desk", response_class=HTMLResponse)
def desk(request: Request, settings: SettingsDep, out: str = "") -> Response:
    """The desk: the sign-in form, or, signed in, the forms that write to the archive."""
    if not settings.api_token:
        return _page(request, "desk.html", None, 403, error=OFF, off=True)
    session, problem = _session(request, settings)
    notice = "You are signed out." if out else problem
    if session is not None and session.editor:
        return _page(request, "desk.html", session)
    session = session or desk_session.new(editor=False)
    page = _page(request, "desk.html", session, notice=notice)
    desk_session.set_cookie(
        page, request, session, settings.api_token, max_age_s=_max_age(settings)
    )
    return page


@router.post("/desk/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    """The token for an editor's session; wrong ones are told so, and limited per client."""
    if not settings.api_token:
        return _page(request, "desk.html", None, 403, error=OFF, off=True)
    session, problem = _session(request, settings)
    try:
        _take_attempt(request)
        async with request.form(max_files=0, max_fields=4) as form:
            desk_session.check_csrf(session, problem, form.get("csrf"))
            given = form.get("token")
        if not isinstance(given, str) or not token_matches(given.strip(), settings.api_token):
            raise Unauthorized(WRONG_TOKEN)
    except NewsroomError as exc:
        return _refused(request, exc, session)
    editor = desk_session.new(editor=True)  # a fresh CSRF token for the signed-in session
    response = RedirectResponse("/desk", status_code=303)
    desk_session.set_cookie(
        response, request, editor, settings.api_token, max_age_s=_max_age(settings)
    )
    return response


def _take_attempt(request: Request) -> None:
    limiter = request.app.state.sign_ins
    client = request.client.host if request.client else "unknown"
    wait = limiter.take(client) if limiter is not None else 0.0
    if wait > 0:
        seconds = math.ceil(wait)
        exc = TooManyAttempts(f"Too many sign-in attempts; try again in {seconds} s.")
        exc.headers = {"Retry-After": str(seconds)}
        raise exc


@router.post("/desk/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request, settings: SettingsDep) -> Response:
    """End the editor's session."""
    if not settings.api_token:
        return _page(request, "desk.html", None, 403, error=OFF, off=True)
    session, problem = _session(request, settings)
    try:
        async with request.form(max_files=0, max_fields=2) as form:
            desk_session.check_csrf(session, problem, form.get("csrf"))
    except NewsroomError as exc:
        return _refused(request, exc, session)
    response = RedirectResponse("/desk?out=1", status_code=303)
    desk_session.clear_cookie(response, request)
    return response


def _editor(request: Request, settings: Settings, form: FormData) -> Session:
    """The session of a signed-in editor whose form's CSRF token matches; else DeskRefused."""
    session, problem = _session(request, settings)
    session = desk_session.check_csrf(session, problem, form.get("csrf"))
    if not session.editor:
        raise DeskRefused(SIGN_IN_FIRST)
    return session


def _form(request: Request, settings: Settings) -> Any:
    # A pasted article is one form field: the field limit is the article's, not Starlette's 1 MB.
    limit = settings.max_upload_bytes + 4096
    return request.form(max_files=1, max_fields=12, max_part_size=limit)


@router.post("/desk/add", response_class=HTMLResponse)
async def add(request: Request, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Add an article from pasted text or an uploaded file, with its headline, date, byline."""
    if not settings.api_token:
        return _page(request, "desk.html", None, 403, error=OFF, off=True)
    session = None
    try:
        async with _form(request, settings) as form:
            session = _editor(request, settings, form)
            name, text = await forms.article_text(form, settings, forms.name(form))
            doc = DocumentIn(file=name, text=text, **forms.metadata(form))
        text = forms.within(with_metadata(doc, name), name, settings)
        article = publish.article_from(name, text)
        add = write_path(archive).publish
        outcome = await run_in_threadpool(add, archive, article, replace=False)
    except NewsroomError as exc:
        return _refused(request, exc, session)
    return _page(request, "desk.html", session, outcome=forms.outcome_words(outcome), done=outcome)


@router.get("/desk/correct", response_class=HTMLResponse)
def correct_form(
    request: Request, archive: ArchiveDep, settings: SettingsDep, file: str = ""
) -> Response:
    """The article's stored text in an editable box, with a field for the correction note."""
    if not settings.api_token:
        return _page(request, "desk.html", None, 403, error=OFF, off=True)
    session, problem = _session(request, settings)
    try:
        if session is None or not session.editor:
            raise DeskRefused(problem or SIGN_IN_FIRST)
        text = forms.stored_text(archive, file.strip())
    except NewsroomError as exc:
        return _refused(request, exc, session)
    return _page(request, "desk_correct.html", session, file=file.strip(), text=text)


@router.post("/desk/correct", response_class=HTMLResponse)
async def correct(request: Request, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Replace an article with its corrected text (pasted or uploaded) and the note."""
    if not settings.api_token:
        return _page(request, "desk.html", None, 403, error=OFF, off=True)
    session = None
    try:
        async with _form(request, settings) as form:
            session = _editor(request, settings, form)
            file = publish.check_name(forms.field(form, "file"))
            _, text = await forms.article_text(form, settings, file)
            note = clean_note(forms.field(form, "note"), settings.max_correction_chars)
        text = forms.within(kept_front_matter(archive, file, text), file, settings)
        article = publish.article_from(file, text)
        outcome = await run_in_threadpool(
            write_path(archive).publish, archive, article, replace=True, note=note
        )
    except NewsroomError as exc:
        return _refused(request, exc, session)
    return _page(request, "desk.html", session, outcome=forms.outcome_words(outcome), done=outcome)


@router.post("/desk/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Withdraw an article: first a page that asks to confirm, then the withdrawal."""
    if not settings.api_token:
        return _page(request, "desk.html", None, 403, error=OFF, off=True)
    session = None
    try:
        async with _form(request, settings) as form:
            session = _editor(request, settings, form)
            file = forms.field(form, "file")
            note = clean_note(forms.field(form, "note"), settings.max_correction_chars)
            confirmed = forms.field(form, "confirm") == "yes"
        title = forms.title(archive, file)
        if not confirmed:
            return _page(request, "desk_withdraw.html", session, file=file, note=note, title=title)
        outcome = await run_in_threadpool(write_path(archive).withdraw, archive, file, note=note)
    except NewsroomError as exc:
        return _refused(request, exc, session)
    return _page(request, "desk.html", session, outcome=forms.outcome_words(outcome), done=outcome)
