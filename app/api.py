"""JSON routes: ask, documents, health. Thin: validate, call the core, shape the response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.config import Settings
from app.errors import BadQuestion, DocumentNotFound
from app.live import Archive
from app.reader.answer import Answer, Result
from app.reader.scope import Filters, Scope

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


class AnswerOut(BaseModel):
    answer: str = Field(description="Verbatim: the file's text[start:end].")
    sentence: str = Field(description="The verbatim sentence that contains the answer.")
    score: float = Field(ge=0, le=1)
    citation: CitationOut
    passage: str = Field(description="The whole paragraph.")
    newest: bool = Field(False, description="From the latest article, when answers' differ.")


class ScopeOut(BaseModel):
    """How the question's date words were read."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    published_after: date | None
    published_before: date | None
    prefer: Literal["newest"] | None
    from_: str = Field(alias="from", description="The words it was read from.")


class AskResponse(BaseModel):
    question: str
    no_answer: bool
    scope: ScopeOut | None = Field(None, description="Dates read; dates='any' drops it.")
    answers: list[AnswerOut] = Field(description="Best first; candidates when no_answer.")


class DocumentOut(BaseModel):
    file: str
    title: str
    paragraphs: int
    chunks: int


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
        newest=answer.newest,
    )


def scope_out(scope: Scope | None) -> ScopeOut | None:
    if scope is None:
        return None
    # "from" is a Python keyword, so the field is from_ and validated by its alias.
    return ScopeOut.model_validate(
        {
            "published_after": scope.published_after,
            "published_before": scope.published_before,
            "prefer": scope.prefer,
            "from": scope.phrase,
        }
    )


def json_response(model: BaseModel) -> Response:
    """The model as JSON, as it is: returned as a model, FastAPI would validate it again, in
    one more threadpool hop for a sync route."""
    return Response(model.model_dump_json(), media_type="application/json")


def ask_response(result: Result, base: str = "") -> AskResponse:
    return AskResponse(
        question=result.question,
        no_answer=result.no_answer,
        scope=scope_out(result.scope),
        answers=[answer_out(a, base) for a in result.answers],
    )


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


@router.get("/documents", response_model=list[DocumentOut], tags=["documents"])
def documents(archive: ArchiveDep) -> list[DocumentOut]:
    """The indexed articles."""
    files = archive.reader.index.manifest.files
    return [
        DocumentOut(
            file=name, title=info["title"], paragraphs=info["paragraphs"], chunks=info["chunks"]
        )
        for name, info in sorted(files.items())
    ]


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
    """The name as indexed, or 404: only names in the manifest are ever opened."""
    if file not in archive.reader.index.manifest.files:
        raise DocumentNotFound(f"No article named {file!r} in the archive.")
    return file
