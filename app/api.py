"""JSON routes: ask, documents, health. Thin: validate, call the core, shape the response."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, field_validator

from app.archive import revisions
from app.archive.corpus import Article
from app.archive.extracted import cited_article
from app.archive.metadata import human_date
from app.archive.revisions import Correction
from app.config import Settings
from app.errors import BadDocument, BadQuestion, DocumentNotFound, Withdrawn
from app.live import Archive
from app.reader.answer import Answer, Result

router = APIRouter()


# Async: a dependency that only reads app.state needs no threadpool hop (a sync one gets one).
async def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ArchiveDep = Annotated[Archive, Depends(get_archive)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


# The limits are settings (max_question_chars, default_top_k, max_top_k), so they are checked
# against the running service's settings in within_limits, not fixed in the schema.
class AskRequest(BaseModel):
    question: str = Field(
        description="1 to NEWSROOM_MAX_QUESTION_CHARS (500 by default) characters after trimming."
    )
    top_k: int | None = Field(
        None,
        ge=1,
        description="How many answers: NEWSROOM_DEFAULT_TOP_K (3) unless given, at most "
        "NEWSROOM_MAX_TOP_K (10).",
    )

    @field_validator("question")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the question is empty; ask something, e.g. 'Who pays Kosovo?'")
        return value


@dataclass(frozen=True)
class Asked:
    """A question the service takes, and how many answers to give."""

    question: str
    top_k: int


def within_limits(body: AskRequest, settings: Settings) -> Asked:
    """The request with top_k filled in, or BadQuestion (422) naming the limit it is over."""
    limit = settings.max_question_chars
    if len(body.question) > limit:
        raise BadQuestion(
            f"The question is {len(body.question)} characters; questions are limited to "
            f"{limit} characters."
        )
    top_k = settings.default_top_k if body.top_k is None else body.top_k
    if top_k > settings.max_top_k:
        raise BadQuestion(f"top_k is {top_k}; it may be at most {settings.max_top_k}.")
    return Asked(body.question, top_k)


class CitationOut(BaseModel):
    file: str
    paragraph: int = Field(description="The Nth blank-line-separated block of the file, from 1.")
    start: int = Field(description="Character offset of `answer` in the file's text.")
    end: int
    url: str = Field(description="Link to the paragraph in the document view.")
    title: str = Field(description="The headline (front matter, the page, or the first line).")
    source: str | None = Field(None, description="The outlet that published it.")
    published: str | None = Field(None, description="ISO 8601 date or datetime, as given.")
    updated: str | None = None
    author: str | None = Field(None, description="The byline; several names comma-separated.")
    section: str | None = None
    source_url: str | None = Field(None, description="The original story's canonical link.")


class CorrectedOut(BaseModel):
    date: str = Field(description="YYYY-MM-DD, UTC.")
    time: str = Field(description="ISO 8601, UTC.")
    note: str


class AlsoInOut(BaseModel):
    file: str
    paragraph: int
    title: str
    published: str | None = None


class AnswerOut(BaseModel):
    answer: str = Field(description="Verbatim: the file's text[start:end].")
    sentence: str = Field(description="The verbatim sentence that contains the answer.")
    score: float = Field(ge=0, le=1)
    citation: CitationOut
    passage: str = Field(description="The whole paragraph.")
    corrected: CorrectedOut | None = Field(
        None, description="Set when a correction changed this paragraph (its words are quoted)."
    )
    also_in: list[AlsoInOut] = Field(
        default_factory=list,
        description="The same paragraph, near word for word, elsewhere; not answered again.",
    )


class AskResponse(BaseModel):
    question: str
    no_answer: bool
    answers: list[AnswerOut] = Field(description="Best first; candidates when no_answer.")


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str


def paragraph_url(file: str, paragraph: int, base: str = "") -> str:
    return f"{base.rstrip('/')}/documents/{quote(file)}?hl={paragraph}#p{paragraph}"


def answer_out(answer: Answer, base: str = "") -> AnswerOut:
    c = answer.citation
    return AnswerOut(
        answer=answer.answer,
        sentence=answer.sentence,
        score=round(answer.score, 4),
        citation=CitationOut(
            file=c.file,
            paragraph=c.paragraph,
            start=c.start,
            end=c.end,
            url=paragraph_url(c.file, c.paragraph, base),
            title=c.title,
            source=c.meta.source,
            published=c.meta.published,
            updated=c.meta.updated,
            author=c.meta.author,
            section=c.meta.section,
            source_url=c.meta.url,
        ),
        passage=answer.passage,
        corrected=_corrected(answer.corrected),
        also_in=[AlsoInOut(**asdict(a)) for a in answer.also_in],
    )


def _corrected(mark: Correction | None) -> CorrectedOut | None:
    return CorrectedOut(date=mark.date, time=mark.time, note=mark.note) if mark else None


def json_response(model: BaseModel) -> Response:
    """The model as JSON, as it is: returned as a model, FastAPI would validate it again, in
    one more threadpool hop for a sync route."""
    return Response(model.model_dump_json(), media_type="application/json")


def ask_response(result: Result, base: str = "") -> AskResponse:
    return AskResponse(
        question=result.question,
        no_answer=result.no_answer,
        answers=[answer_out(a, base) for a in result.answers],
    )


@router.post("/ask", response_model=AskResponse, tags=["ask"])
def ask(body: AskRequest, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Answer a question from the archive, with verbatim quotes and citations."""
    asked = within_limits(body, settings)
    return json_response(ask_response(archive.reader.ask(asked.question, top_k=asked.top_k)))


@router.get("/ask", response_model=AskResponse, tags=["ask"])
def ask_get(
    archive: ArchiveDep,
    settings: SettingsDep,
    q: Annotated[str, Query(description="The question.")],
    top_k: Annotated[int | None, Query(ge=1, description="As in POST /ask.")] = None,
) -> Response:
    """The same as POST /ask, for links and quick checks."""
    asked = within_limits(AskRequest(question=q, top_k=top_k), settings)
    return json_response(ask_response(archive.reader.ask(asked.question, top_k=asked.top_k)))


@router.get(
    "/documents/{file}/text",
    response_class=PlainTextResponse,
    tags=["documents"],
    responses={404: {"description": "No such article"}},
)
def document_text(file: str, archive: ArchiveDep) -> PlainTextResponse:
    """The article's text as cited: every citation's [start:end] slices it (for an HTML page,
    the text extracted from it)."""
    return PlainTextResponse(article_as_cited(archive, file).text)


@router.get(
    "/healthz",
    response_model=Health,
    tags=["health"],
    responses={503: {"description": "No index loaded"}},
)
def healthz(archive: ArchiveDep) -> Health | JSONResponse:
    """Liveness and what is loaded."""
    if not archive.ready:
        return JSONResponse({"status": "unavailable", "reason": archive.problem}, status_code=503)
    index = archive.reader.index
    return Health(
        status="ok",
        documents=len(index.files),
        chunks=len(index.chunks),
        model=index.manifest.model,
    )


# Uptime monitors probe with HEAD; kept out of the schema so the operation ids stay unique.
router.add_api_route(
    "/healthz", healthz, methods=["HEAD"], response_model=Health, include_in_schema=False
)


def indexed_file(archive: Archive, file: str) -> str:
    """The name as indexed, or 404 (410 for a withdrawn one): only names in the manifest are
    ever opened."""
    if file not in archive.reader.index.manifest.files:
        tombstone = revisions.withdrawn(archive.index_dir, file)
        if tombstone is not None:
            why = f": {tombstone.note}" if tombstone.note else "."
            when = human_date(tombstone.time)
            raise Withdrawn(f"{file} was withdrawn on {when} ({tombstone.time}){why}")
        raise DocumentNotFound(f"No article named {file!r} in the archive.")
    return file


def article_as_cited(archive: Archive, file: str) -> Article:
    """The indexed article whose text the citations count into, or 404."""
    name = indexed_file(archive, file)
    index = archive.reader.index
    sha256 = index.manifest.files[name]["sha256"]
    try:
        return cited_article(archive.index_dir, index.corpus_dir, name, sha256)
    except BadDocument as exc:
        raise DocumentNotFound(f"The article {name!r} is no longer readable.") from exc
