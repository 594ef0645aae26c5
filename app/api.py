"""JSON routes: ask, documents, health. Thin: validate, call the core, shape the response."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator

from app.config import Settings
from app.errors import DocumentNotFound
from app.live import Archive
from app.reader.answer import Answer, Result

router = APIRouter()

MAX_QUESTION = 500
MAX_TOP_K = 10


# Async: a dependency that only reads app.state needs no threadpool hop (a sync one gets one).
async def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ArchiveDep = Annotated[Archive, Depends(get_archive)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


class AskRequest(BaseModel):
    question: str = Field(description="1 to 500 characters after trimming.")
    top_k: int = Field(3, ge=1, le=MAX_TOP_K, description="How many answers, 1 to 10.")

    @field_validator("question")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the question is empty; ask something, e.g. 'Who pays Kosovo?'")
        if len(value) > MAX_QUESTION:
            raise ValueError(
                f"the question is {len(value)} characters; the limit is {MAX_QUESTION}"
            )
        return value


class CitationOut(BaseModel):
    file: str
    paragraph: int = Field(description="The Nth blank-line-separated block of the file, from 1.")
    start: int = Field(description="Character offset of `answer` in the file's text.")
    end: int
    url: str = Field(description="Link to the paragraph in the document view.")


class AnswerOut(BaseModel):
    answer: str = Field(description="Verbatim: the file's text[start:end].")
    sentence: str = Field(description="The verbatim sentence that contains the answer.")
    score: float = Field(ge=0, le=1)
    citation: CitationOut
    passage: str = Field(description="The whole paragraph.")


class AskResponse(BaseModel):
    question: str
    no_answer: bool
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
        ),
        passage=answer.passage,
    )


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
def ask(body: AskRequest, archive: ArchiveDep) -> Response:
    """Answer a question from the archive, with verbatim quotes and citations."""
    return json_response(ask_response(archive.reader.ask(body.question, top_k=body.top_k)))


@router.get("/ask", response_model=AskResponse, tags=["ask"])
def ask_get(
    archive: ArchiveDep,
    q: Annotated[str, Query(description="The question.")],
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 3,
) -> Response:
    """The same as POST /ask, for links and quick checks."""
    body = AskRequest(question=q, top_k=top_k)
    return json_response(ask_response(archive.reader.ask(body.question, top_k=body.top_k)))


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
