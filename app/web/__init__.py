"""The web form and the document view: server-rendered HTML, no JavaScript needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.api import MAX_QUESTION, ArchiveDep, AskRequest, indexed_file, paragraph_url
from app.archive.corpus import parse_article, read_text
from app.errors import BadDocument, DocumentNotFound
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
    q: Annotated[str, Query(max_length=10 * MAX_QUESTION)] = "",
    top_k: Annotated[int, Query(ge=1, le=10)] = 3,
) -> HTMLResponse:
    """The question form; with ?q= it shows the answers under it."""
    context: dict[str, object] = {"q": q, "error": None, "result": None, "items": []}
    status = 200
    if q.strip():
        if len(q.strip()) > MAX_QUESTION:
            context["error"] = f"Questions are limited to {MAX_QUESTION} characters."
            status = 422
        else:
            result = archive.reader.ask(AskRequest(question=q, top_k=top_k).question, top_k=top_k)
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
    name = indexed_file(archive, file)
    try:
        article = parse_article(name, read_text(archive.reader.index.corpus_dir / name))
    except BadDocument as exc:
        raise DocumentNotFound(f"The article {name!r} is no longer readable.") from exc
    context = {"article": article, "hl": hl}
    return templates.TemplateResponse(request, "document.html", context)
