"""GET /documents/{file}/revisions: an article's history of additions, corrections and its
withdrawal, newest first."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api import ArchiveDep
from app.errors import DocumentNotFound

router = APIRouter(tags=["documents"])


class RevisionOut(BaseModel):
    action: str = Field(description="added | corrected | withdrawn")
    time: str = Field(description="ISO 8601, UTC.")
    sha256: str = Field(description="The text it left (withdrawn: the last text held).")
    note: str
    changed_paragraphs: list[int] = Field(
        description="corrected: the paragraphs whose words this correction changed."
    )


@router.get(
    "/documents/{file}/revisions",
    response_model=list[RevisionOut],
    responses={404: {"description": "No such article, now or before"}},
)
def article_revisions(file: str, archive: ArchiveDep) -> list[RevisionOut]:
    """An article's revisions, newest first; still listed after it is withdrawn. An article
    indexed from the corpus folder and never changed through the API has none."""
    found = archive.history(file)
    if not found and file not in archive.reader.index.manifest.files:
        raise DocumentNotFound(f"No article named {file!r} in the archive, now or before.")
    return [
        RevisionOut(
            action=r.action,
            time=r.time,
            sha256=r.sha256,
            note=r.note,
            changed_paragraphs=sorted(n for n, m in r.marks.items() if m.time == r.time),
        )
        for r in reversed(found)
    ]
