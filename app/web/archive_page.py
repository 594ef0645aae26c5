"""GET /archive: the articles, newest first, filtered by dates, section, outlet and headline
words, and paged; plain HTML that works without JavaScript."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app import citations
from app.api import ArchiveDep, SettingsDep
from app.archive import listing
from app.archive.listing import Shelf
from app.errors import BadFilter, BadQuestion
from app.web.templating import day, templates

router = APIRouter(include_in_schema=False)


@router.get("/archive", response_class=HTMLResponse)
def archive_page(
    request: Request,
    archive: ArchiveDep,
    settings: SettingsDep,
    after: str = "",  # text, so that a bad value is said on the page
    before: str = "",
    section: str = "",
    source: str = "",
    words: str = "",
    page: str = "1",
) -> HTMLResponse:
    """The archive's articles, newest first; ?page=N pages through them."""
    fields = {"after": after, "before": before, "section": section, "source": source}
    fields["words"] = words
    context: dict[str, object] = {"fields": fields, "error": None, "found": None, "rows": []}
    status = 200
    try:
        shelf = Shelf(
            section.strip() or None, source.strip() or None, day("after", after),
            day("before", before), words,
        )  # fmt: skip
        number = _page_number(page)
    except (BadFilter, BadQuestion) as exc:
        context["error"], status = str(exc), exc.status_code
    else:
        rows = listing.of_index(archive.reader.index)
        found = listing.page(rows, shelf, number=number, size=settings.archive_page_size)
        context |= {"found": found, "rows": [_row(e) for e in found.entries]}
        context |= _pager(fields, found)
        if number > found.pages:
            context["note"] = f"There are {found.pages} pages; this is the last."
    return templates.TemplateResponse(request, "archive.html", context, status_code=status)


def _page_number(text: str) -> int:
    try:
        number = int(text.strip() or "1")
    except ValueError:
        raise BadQuestion(f"page: {text[:20]!r} is not a page number like 2.") from None
    if number < 1:
        raise BadQuestion(f"page: {number} is not a page; pages count from 1.")
    return number


def _row(entry: listing.Entry) -> dict[str, object]:
    meta = entry.meta
    return {
        "entry": entry,
        "url": f"/documents/{entry.file}",
        "when": citations.human_date(meta.published),
        "about": [p for p in (meta.source, meta.section, meta.author) if p],
    }


def _pager(fields: dict[str, str], found: listing.Page) -> dict[str, str]:
    """Links to the previous and next pages, keeping the filters."""
    kept = {k: v for k, v in fields.items() if v}

    def link(n: int) -> str:
        return "/archive?" + urlencode({**kept, "page": n})

    return {
        "previous": link(found.number - 1) if found.number > 1 else "",
        "next": link(found.number + 1) if found.number < found.pages else "",
    }
