"""The web form and the document view: server-rendered HTML, no JavaScript needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.api import (
    ArchiveDep,
    AskRequest,
    SettingsDep,
    article_as_cited,
    paragraph_url,
    within_limits,
)
from app.errors import BadQuestion
from app.reader.answer import Answer

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def highlight(answer: Answer) -> tuple[str, str, str]:
    """The sentence cut around the answer span, for the template to mark (and escape)."""
    at = answer.sentence.find(answer.answer)
    if at < 0 or answer.answer == answer.sentence:
        return "", answer.sentence, ""
    end = at + len(answer.answer)
    return answer.sentence[:at], answer.answer, answer.sentence[end:]


# HEAD too: uptime monitors probe the front page without a body.
@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def form(
    request: Request,
    archive: ArchiveDep,
    settings: SettingsDep,
    q: str = "",  # its length is checked below, so that the page can say what the limit is
    top_k: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The question form; with ?q= it shows the answers under it."""
    context: dict[str, object] = {
        "q": q, "error": None, "result": None, "items": [],
        "max_chars": settings.max_question_chars,
    }  # fmt: skip
    status = 200
    if q.strip():
        try:
            asked = within_limits(AskRequest(question=q, top_k=top_k), settings)
        except BadQuestion as exc:
            context["error"], status = str(exc), exc.status_code
        else:
            result = archive.reader.ask(asked.question, top_k=asked.top_k)
            context["result"] = result
            context["items"] = [
                (a, highlight(a), paragraph_url(a.citation.file, a.citation.paragraph))
                for a in result.answers
            ]
    return templates.TemplateResponse(request, "index.html", context, status_code=status)


@router.get("/documents/{file}", response_class=HTMLResponse)
def document(
    request: Request, file: str, archive: ArchiveDep, hl: Annotated[int | None, Query()] = None
) -> HTMLResponse:
    """An article, every paragraph numbered and anchored (#pN); ?hl=N marks one."""
    context = {"article": article_as_cited(archive, file), "hl": hl}
    return templates.TemplateResponse(request, "document.html", context)
