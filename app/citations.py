"""How an answer is cited to a reader: headline, outlet and date, and a line ready to paste."""

from __future__ import annotations

from app.archive.metadata import Meta, human_date
from app.reader.answer import Answer, Citation


def byline(title: str, meta: Meta) -> str:
    """'<Headline>, <Outlet>, <1 Jun 2025>': only the parts the archive knows."""
    return ", ".join(p for p in (title, meta.source, human_date(meta.published)) if p)


def label(citation: Citation) -> str:
    """What a link to the paragraph reads as: the byline, then the stable file name and ¶."""
    where = f"{citation.file} ¶{citation.paragraph}"
    head = byline(citation.title, citation.meta)
    return f"{head} · {where}" if head else where


def copy_line(quote: str, title: str, meta: Meta, paragraph: int, url: str) -> str:
    """'"<sentence>" — <Headline>, <Outlet>, <1 Jun 2025>, ¶15, <url>': what a reporter pastes.
    The original story's link when the archive has one, else ours to the paragraph."""
    parts = [byline(title, meta), f"¶{paragraph}", original_link(meta) or url]
    return f'"{" ".join(quote.split())}" — ' + ", ".join(p for p in parts if p)


def answer_line(answer: Answer, url: str) -> str:
    c = answer.citation
    return copy_line(answer.sentence, c.title, c.meta, c.paragraph, url)


def original_link(meta: Meta) -> str | None:
    """The story's own link, if it is a web address (a front matter `url: javascript:...`
    must never become a link)."""
    url = (meta.url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else None


def about(meta: Meta) -> list[str]:
    """The document view's line under the headline: outlet, dates, byline, section."""
    parts = [meta.source, meta.section]
    if meta.published:
        parts.append(f"Published {human_date(meta.published)}")
    if meta.updated and meta.updated != meta.published:
        parts.append(f"Updated {human_date(meta.updated)}")
    if meta.author:
        parts.append(f"By {meta.author}")
    return [p for p in parts if p]


def corrected_line(answer: Answer) -> str | None:
    """'Corrected 2 Dec 2026: <note>' for an answer from a paragraph a correction changed."""
    mark = answer.corrected
    if mark is None:
        return None
    return f"Corrected {human_date(mark.time)}" + (f": {mark.note}" if mark.note else "")


def also_in_line(answer: Answer) -> str | None:
    """'Also in: <Headline>, 1 Jun 2025 · b.txt ¶4; ...' for the copies an answer stands for."""
    if not answer.also_in:
        return None
    copies = [
        ", ".join(p for p in (a.title, human_date(a.published)) if p)
        + f" · {a.file} ¶{a.paragraph}"
        for a in answer.also_in
    ]
    return "Also in: " + "; ".join(copies)
