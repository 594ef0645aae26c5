"""The desk's forms read: the article's name, text and metadata, and what each write did."""

from __future__ import annotations

import re

from starlette.datastructures import FormData, UploadFile

from app import publish
from app.archive.ingest import copy_of
from app.config import Settings
from app.errors import BadDocument, DocumentNotFound
from app.live import Archive
from app.publish import Outcome

_SLUG = re.compile(r"[^a-z0-9]+")


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def name(form: FormData) -> str:
    """The article's file name: as typed, else the upload's, else made from the headline."""
    name = field(form, "name")
    upload = form.get("upload")
    if not name and isinstance(upload, UploadFile) and upload.filename:
        name = upload.filename
    if not name and field(form, "title"):
        name = _SLUG.sub("-", field(form, "title").casefold()).strip("-")[:80] + ".md"
    if not name:
        raise BadDocument("Give the article a file name or a headline (the name is made from it).")
    return publish.check_name(name)


async def article_text(form: FormData, settings: Settings, name: str) -> tuple[str, str]:
    """The uploaded file's text if one was chosen, else the pasted text."""
    upload = form.get("upload")
    limit = settings.max_upload_bytes
    if isinstance(upload, UploadFile) and upload.filename:
        return name, publish.decode(await upload.read(limit + 1), file=name, limit=limit)
    # Browsers send a textarea's line ends as CRLF; the archive's paragraphs split on LF.
    text = field(form, "text").replace("\r\n", "\n")
    if not text:
        raise BadDocument("Paste the article's text or choose a file to upload.")
    return name, text + "\n"


def metadata(form: FormData) -> dict[str, str]:
    names = ("title", "published", "author", "section", "source", "url")
    return {n: field(form, n) for n in names if field(form, n)}


def within(text: str, file: str, settings: Settings) -> str:
    publish.encode(text, file=file, limit=settings.max_upload_bytes)
    return text


def stored_text(archive: Archive, file: str) -> str:
    """The article's file as stored (front matter included), for correcting in place; from
    the corpus folder or the database, whichever holds the archive."""
    text = archive.text(file) if file in archive.reader.index.files else None
    if text is None:
        raise DocumentNotFound(f"No article named {file[:200]!r} in the archive.")
    return text


def title(archive: Archive, file: str) -> str:
    """The headline of the article (or of the article an exact copy is of) to withdraw."""
    index = archive.reader.index
    known = index.files.get(file) or copy_of(index, file)
    if known is None:
        raise DocumentNotFound(f"No article named {file[:200]!r} in the archive.")
    return known.title


def outcome_words(outcome: Outcome) -> str:
    """What the index did, in a sentence."""
    o = outcome
    counts = f"{o.paragraphs} paragraphs, {o.chunks} passages"
    return {
        "added": f"Added {o.file}: {counts} indexed; answers can quote it now.",
        "replaced": f"Corrected {o.file}: {counts} indexed again; answers from the paragraphs "
        "that changed carry the correction note.",
        "unchanged": f"{o.file} is unchanged: the text is the same; the index was left as it was.",
        "withdrawn": f"Withdrew {o.file}: its {counts} are out of the index and of every answer; "
        "its page says it was withdrawn.",
    }[o.action]
