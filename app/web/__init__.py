"""The web form and the document view: server-rendered HTML, no JavaScript needed."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app import citations
from app.answers import paragraph_url
from app.api import (
    ArchiveDep,
    AskRequest,
    SettingsDep,
    answer,
    article_as_cited,
    within_limits,
)
from app.archive.corpus import Article
from app.archive.revisions import Revision
from app.errors import BadQuestion, Withdrawn
from app.reader.scope import Scope
from app.web.cards import cards
from app.web.templating import day, templates

router = APIRouter(include_in_schema=False)


# HEAD too: uptime monitors probe the front page without a body.
@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def form(
    request: Request,
    archive: ArchiveDep,
    settings: SettingsDep,
    q: str = "",  # its length is checked below, so that the page can say what the limit is
    top_k: Annotated[int | None, Query(ge=1)] = None,
    after: str = "",  # dates as text, so that a bad one is said on the page
    before: str = "",
    section: str = "",
    source: str = "",
    dates: Literal["read", "any"] = "read",
) -> HTMLResponse:
    """The question form; with ?q= it shows the answers under it."""
    files = archive.reader.index.files.values()
    filterable = archive.reader.retriever.dated or any(f.meta.section for f in files)
    fields = {"after": after, "before": before, "section": section, "source": source}
    context: dict[str, object] = {
        "q": q, "error": None, "result": None, "cards": None, "fields": fields,
        "max_chars": settings.max_question_chars, "scope_words": "", "drop_url": "",
        "filterable": filterable,
    }  # fmt: skip
    status = 200
    if q.strip():
        try:
            body = AskRequest(
                question=q, top_k=top_k, published_after=day("after", after),
                published_before=day("before", before), section=section or None,
                source=source or None, dates=dates,
            )  # fmt: skip
            asked = within_limits(body, settings)
        except BadQuestion as exc:
            context["error"], status = str(exc), exc.status_code
        else:
            result = answer(archive, asked)
            context["result"] = result
            if result.scope is not None:
                context["scope_words"] = scope_words(result.scope)
                context["drop_url"] = "/?" + urlencode({"q": q, **fields, "dates": "any"})
            context["cards"] = cards(
                result, str(request.base_url), min_score=settings.form_min_score
            )
    return templates.TemplateResponse(request, "index.html", context, status_code=status)


def scope_words(scope: Scope) -> str:
    """The scope as the page says it: 'Articles published in 2022 (read from “in 2022”)'."""
    after, before = scope.published_after, scope.published_before
    if after and before:
        last = before - timedelta(days=1)
        when = f"published from {after:%-d %B %Y} to {last:%-d %B %Y}"
    elif after:
        when = f"published on or after {after:%-d %B %Y}"
    elif before:
        when = f"published before {before:%-d %B %Y}"
    else:
        when = ""
    newest = "the newest first" if scope.prefer == "newest" else ""
    said = ", ".join(w for w in (when, newest) if w)
    return f"Articles {said} (read from “{scope.phrase}”)"


@router.get("/documents/{file}", response_class=HTMLResponse)
def document(
    request: Request, file: str, archive: ArchiveDep, hl: Annotated[int | None, Query()] = None
) -> HTMLResponse:
    """An article, every paragraph numbered and anchored (#pN); ?hl=N marks one."""
    try:
        article = article_as_cited(archive, file)
    except Withdrawn as exc:
        gone = {"file": file, "message": str(exc)}
        return templates.TemplateResponse(request, "withdrawn.html", gone, status_code=410)
    context: dict[str, object] = {
        "article": article,
        "hl": hl,
        "about": citations.about(article.meta),
        "original": citations.original_link(article.meta),
        "cite": _paragraph_line(article, hl, str(request.base_url)),
        "corrections": _corrections(archive.history(article.file)),
    }
    return templates.TemplateResponse(request, "document.html", context)


def _corrections(found: list[Revision]) -> list[str]:
    """'Corrected on 2 Dec 2026: <note>', newest first."""
    return [
        f"Corrected on {citations.human_date(r.time)}" + (f": {r.note}" if r.note else "")
        for r in reversed(found)
        if r.action == "corrected"
    ]


def _paragraph_line(article: Article, number: int | None, base: str) -> str | None:
    paragraph = next((p for p in article.paragraphs if p.number == number), None)
    if paragraph is None:
        return None
    url = paragraph_url(article.file, paragraph.number, base)
    return citations.copy_line(paragraph.text, article.title, article.meta, paragraph.number, url)
