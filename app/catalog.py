"""GET /documents: the archive's articles with their metadata, filtered by section, outlet
and publication date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api import ArchiveDep
from app.archive.metadata import Meta
from app.errors import BadFilter

router = APIRouter(tags=["documents"])


@dataclass(frozen=True)
class Shelf:
    """Which articles to list: each field that is set must match (section and outlet without
    regard to case; dates inclusive, and an undated article matches no date bound)."""

    section: str | None = None
    source: str | None = None
    published_after: date | None = None
    published_before: date | None = None

    def __post_init__(self) -> None:
        after, before = self.published_after, self.published_before
        if after and before and after > before:
            raise BadFilter(
                f"published_after {after} is later than published_before {before}: "
                "no article can be in that range."
            )

    def admits(self, meta: Meta) -> bool:
        if not _same(self.section, meta.section) or not _same(self.source, meta.source):
            return False
        day = meta.published_on
        if self.published_after and (day is None or day < self.published_after):
            return False
        return not (self.published_before and (day is None or day > self.published_before))


def _same(wanted: str | None, value: str | None) -> bool:
    return wanted is None or (value or "").casefold() == wanted.strip().casefold()


class DocumentOut(BaseModel):
    file: str = Field(description="The stable id: the file's name in the corpus folder.")
    title: str
    paragraphs: int
    chunks: int
    source: str | None = None
    published: str | None = None
    updated: str | None = None
    author: str | None = None
    section: str | None = None
    source_url: str | None = None
    id: str | None = None


def document_out(file: str, info: dict[str, Any]) -> DocumentOut:
    meta = Meta.from_dict(info.get("meta"))
    return DocumentOut(
        file=file,
        title=info["title"],
        paragraphs=info["paragraphs"],
        chunks=info["chunks"],
        source=meta.source,
        published=meta.published,
        updated=meta.updated,
        author=meta.author,
        section=meta.section,
        source_url=meta.url,
        id=meta.id,
    )


@router.get("/documents", response_model=list[DocumentOut])
def documents(
    archive: ArchiveDep,
    section: Annotated[str | None, Query(description="Only this section (any case).")] = None,
    source: Annotated[str | None, Query(description="Only this outlet (any case).")] = None,
    published_after: Annotated[date | None, Query(description="On or after, YYYY-MM-DD.")] = None,
    published_before: Annotated[date | None, Query(description="On or before.")] = None,
) -> list[DocumentOut]:
    """The indexed articles, by file name, with their headline, outlet, dates and byline."""
    shelf = Shelf(section, source, published_after, published_before)
    files = archive.reader.index.manifest.files
    return [
        document_out(name, info)
        for name, info in sorted(files.items())
        if shelf.admits(Meta.from_dict(info.get("meta")))
    ]
