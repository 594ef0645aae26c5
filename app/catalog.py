"""GET /documents: the archive's articles with their metadata, filtered by section, outlet
and publication date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api import ArchiveDep
from app.archive import listing
from app.archive.listing import Shelf
from app.archive.metadata import Meta

router = APIRouter(tags=["documents"])


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
    index = archive.reader.index
    wanted = {e.file for e in listing.admitted(listing.of_index(index), shelf)}
    files = index.manifest.files
    return [document_out(name, info) for name, info in sorted(files.items()) if name in wanted]
