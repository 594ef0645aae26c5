"""JSON routes: ask, documents, health. Thin: validate, call the core, shape the response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, field_validator

from app.answers import AskResponse, ask_response
from app.archive.corpus import Article
from app.archive.metadata import human_date
from app.archive.store import Manifest
from app.config import Settings
from app.errors import BadDocument, BadQuestion, DocumentNotFound, Withdrawn
from app.live import Archive
from app.reader.answer import Result
from app.reader.scope import Filters

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
    published_after: date | None = Field(
        default=None, description="Articles published on or after."
    )
    published_before: date | None = Field(default=None, description="Articles published before.")
    section: str | None = Field(default=None, description="Articles of this section (any case).")
    source: str | None = Field(default=None, description="Articles of this outlet (any case).")
    as_of: date | None = Field(
        default=None, description="The archive as it stood then: articles published by that day."
    )
    dates: Literal["read", "any"] = Field(
        default="read", description="'any': the question's date words do not narrow the search."
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
    filters: Filters | None = None
    dates: Literal["read", "any"] = "read"


def filters_of(body: AskRequest) -> Filters:
    """The request's filters, or BadQuestion (422) when the dates leave no day."""
    after, before = body.published_after, body.published_before
    if after is not None and before is not None and after >= before:
        raise BadQuestion(
            f"published_after ({after}) must be earlier than published_before ({before}): "
            "after is inclusive and before exclusive, so this range holds no day."
        )
    section, source = ((v or "").strip() or None for v in (body.section, body.source))
    return Filters(after, before, section, source, body.as_of)


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
    return Asked(body.question, top_k, filters_of(body) or None, body.dates)


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str


def json_response(model: BaseModel) -> Response:
    """The model as JSON, as it is: returned as a model, FastAPI would validate it again, in
    one more threadpool hop for a sync route."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.post("/ask", response_model=AskResponse, tags=["ask"])
def ask(body: AskRequest, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Answer a question from the archive, with verbatim quotes and citations."""
    return json_response(ask_response(answer(archive, within_limits(body, settings))))


@router.get("/ask", response_model=AskResponse, tags=["ask"])
def ask_get(
    archive: ArchiveDep,
    settings: SettingsDep,
    q: Annotated[str, Query(description="The question.")],
    top_k: Annotated[int | None, Query(ge=1, description="As in POST /ask.")] = None,
    published_after: Annotated[date | None, Query()] = None,
    published_before: Annotated[date | None, Query()] = None,
    section: Annotated[str | None, Query()] = None,
    source: Annotated[str | None, Query()] = None,
    as_of: Annotated[date | None, Query()] = None,
    dates: Annotated[Literal["read", "any"], Query()] = "read",
) -> Response:
    """The same as POST /ask, for links and quick checks."""
    body = AskRequest(
        question=q, top_k=top_k, published_after=published_after,
        published_before=published_before, section=section, source=source, as_of=as_of,
        dates=dates,
    )  # fmt: skip
    return json_response(ask_response(answer(archive, within_limits(body, settings))))


def answer(archive: Archive, asked: Asked) -> Result:
    """The one call every way in makes: no filters and no reading are the plain ask."""
    return archive.reader.ask(
        asked.question, top_k=asked.top_k, filters=asked.filters, dates=asked.dates
    )


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
        chunks=chunk_count(index.manifest),
        model=index.manifest.model,
    )


# Uptime monitors probe with HEAD; kept out of the schema so the operation ids stay unique.
router.add_api_route(
    "/healthz", healthz, methods=["HEAD"], response_model=Health, include_in_schema=False
)


def chunk_count(manifest: Manifest) -> int:
    """The archive's chunks, as its manifest (or the database's article list) counts them."""
    return sum(int(info.get("chunks", 0)) for info in manifest.files.values())


def indexed_file(archive: Archive, file: str) -> str:
    """The name as indexed, or 404 (410 for a withdrawn one): only names in the manifest are
    ever opened."""
    if file not in archive.reader.index.manifest.files:
        history = archive.history(file)
        tombstone = history[-1] if history and history[-1].action == "withdrawn" else None
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
        return archive.cited(name, sha256)
    except BadDocument as exc:
        raise DocumentNotFound(f"The article {name!r} is no longer readable.") from exc
