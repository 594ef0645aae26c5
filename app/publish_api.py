"""Write routes: add, correct and withdraw articles over HTTP (bearer token required)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from app import publish, publish_database
from app.api import ArchiveDep, SettingsDep
from app.archive.metadata import front_matter_text, meta_from, read_front_matter
from app.errors import BadDocument, NotText
from app.live import Archive
from app.live_database import DatabaseArchive
from app.publish import Outcome
from app.security import WriterDep

router = APIRouter(tags=["documents"], dependencies=[WriterDep])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not an article name ([A-Za-z0-9._-]+ ending .txt or .md)"},
    401: {"description": "Missing or wrong bearer token"},
    403: {"description": "Writes are disabled (no API_TOKEN configured)"},
    409: {"description": "The name, or the very same text, is already in the archive"},
    413: {"description": "Over the upload limit (2 MB by default)"},
    415: {"description": "Not UTF-8 text"},
    422: {"description": "Nothing to index, or a malformed body"},
}
_UPLOAD_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "name": {"type": "string", "description": "Overrides the upload's file name."},
        "correction": {"type": "string", "description": "PUT: what was corrected."},
    },
    "required": ["file"],
}


class MetadataIn(BaseModel):
    """Written into the article as YAML front matter; the text may carry its own instead."""

    title: str | None = Field(None, description="The headline.")
    published: str | None = Field(None, description="ISO 8601 date or datetime.")
    updated: str | None = Field(None, description="ISO 8601 date or datetime.")
    author: str | list[str] | None = Field(None, description="One byline or a list.")
    section: str | None = None
    source: str | None = Field(None, description="The outlet.")
    url: str | None = Field(None, description="The original story's canonical link.")
    id: str | None = Field(None, description="The newsroom's own id for the story.")


class DocumentIn(MetadataIn):
    file: str = Field(description="The article's name, e.g. budget_2025.txt")
    text: str = Field(description="The article, UTF-8; paragraphs separated by blank lines.")


class CorrectionIn(MetadataIn):
    correction: str | None = Field(
        None, description="What was corrected, shown with the article and its answers."
    )
    text: str = Field(
        description="The corrected article, in full. Without metadata fields or front matter, "
        "the article keeps the front matter it had."
    )


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                "multipart/form-data": {"schema": _UPLOAD_SCHEMA},
            },
        }
    }


class WriteOut(BaseModel):
    action: Literal["added", "replaced", "unchanged", "withdrawn"]
    file: str
    paragraphs: int = Field(description="Paragraphs in the article (indexed, or taken out).")
    chunks: int = Field(description="Chunks embedded (or taken out) for it.")
    url: str


def write_out(outcome: Outcome) -> WriteOut:
    return WriteOut(
        action=outcome.action,  # type: ignore[arg-type]
        file=outcome.file,
        paragraphs=outcome.paragraphs,
        chunks=outcome.chunks,
        url=f"/documents/{outcome.file}",
    )


@dataclass(frozen=True)
class Upload:
    file: str
    text: str
    note: str = ""  # a correction's


async def read_upload(request: Request, *, limit: int, file: str | None) -> Upload:
    """The article from a JSON body or a multipart upload; `file` is the name in the path."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}]
            ) from exc
        if file is None:
            doc = DocumentIn.model_validate(body)
            return Upload(doc.file, _text(with_metadata(doc, doc.file), doc.file, limit))
        fix = CorrectionIn.model_validate(body)
        return Upload(file, _text(with_metadata(fix, file), file, limit), fix.correction or "")
    if kind == "multipart/form-data":
        return await _from_form(request, limit=limit, file=file)
    raise NotText("Send the article as application/json or multipart/form-data.")


async def _from_form(request: Request, *, limit: int, file: str | None) -> Upload:
    # The context closes the spooled temporary file the upload was parsed into.
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadDocument("The multipart body needs the article as a part named 'file'.")
        name = file or str(form.get("name") or upload.filename or "")
        note = form.get("correction")
        data = await upload.read(limit + 1)
    text = publish.decode(data, file=name, limit=limit)
    return Upload(publish.check_name(name), text, note if isinstance(note, str) else "")


def with_metadata(body: DocumentIn | CorrectionIn, file: str) -> str:
    """The article's text with the request's metadata as front matter at its head."""
    fields = body.model_dump(exclude={"file", "text", "correction"}, exclude_none=True)
    if not fields:
        return body.text
    if read_front_matter(file, body.text).body_start:
        raise BadDocument(
            f"{file}: the text starts with front matter and the request has metadata fields "
            "too; send the metadata one way."
        )
    meta, problems = meta_from(fields, file=file)
    if problems:
        raise BadDocument("; ".join(problems))
    return front_matter_text(meta) + body.text


def kept_front_matter(archive: Archive, file: str, text: str) -> str:
    """A corrected text with no metadata of its own keeps the article's headline, dates and
    byline: a correction fixes the words, not what the story is."""
    if read_front_matter(file, text).body_start:
        return text
    old = archive.text(file)
    if old is None:  # not there (a 404 follows) or unreadable: nothing to keep
        return text
    return old[: read_front_matter(file, old).body_start] + text


def _text(text: str, file: str, limit: int) -> str:
    publish.check_name(file)
    publish.encode(text, file=file, limit=limit)
    return text


@router.post(
    "/documents",
    status_code=201,
    response_model=WriteOut,
    responses=_ERRORS,
    openapi_extra=_body(DocumentIn),
)
async def add_document(request: Request, archive: ArchiveDep, settings: SettingsDep) -> WriteOut:
    """Add an article: stored in the corpus folder and indexed (only it is embedded)."""
    upload = await read_upload(request, limit=settings.max_upload_bytes, file=None)
    article = publish.article_from(upload.file, upload.text)
    write = write_path(archive).publish
    return write_out(await run_in_threadpool(write, archive, article, replace=False))


@router.put(
    "/documents/{file}",
    response_model=WriteOut,
    responses={**_ERRORS, 404: {"description": "No such article"}},
    openapi_extra=_body(CorrectionIn),
)
async def correct_document(
    file: str, request: Request, archive: ArchiveDep, settings: SettingsDep
) -> WriteOut:
    """Replace an article with its corrected text; `correction` says what was corrected, and
    answers from the paragraphs it changed carry it."""
    publish.check_name(file)
    upload = await read_upload(request, limit=settings.max_upload_bytes, file=file)
    note = clean_note(upload.note, settings.max_correction_chars)
    article = publish.article_from(file, kept_front_matter(archive, file, upload.text))
    return write_out(
        await run_in_threadpool(
            write_path(archive).publish, archive, article, replace=True, note=note
        )
    )


@router.delete(
    "/documents/{file}",
    response_model=WriteOut,
    responses={**_ERRORS, 404: {"description": "No such article"}},
)
async def withdraw_document(
    file: str,
    archive: ArchiveDep,
    settings: SettingsDep,
    note: Annotated[str, Query(description="Why it was withdrawn (shown on its page).")] = "",
) -> WriteOut:
    """Withdraw an article: gone from the corpus folder and from every answer; its page says
    when (410 Gone)."""
    note = clean_note(note, settings.max_correction_chars)
    withdraw = write_path(archive).withdraw
    return write_out(await run_in_threadpool(withdraw, archive, file, note=note))


def write_path(archive: Archive) -> Any:
    """The write path for where the archive lives: the database, or files and an index."""
    return publish_database if isinstance(archive, DatabaseArchive) else publish


def clean_note(note: str, limit: int) -> str:
    """A correction's or a withdrawal's note on one line, within the limit."""
    note = " ".join(note.split())
    if len(note) > limit:
        raise BadDocument(f"The note is {len(note)} characters; notes are limited to {limit}.")
    return note
