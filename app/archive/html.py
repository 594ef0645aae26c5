"""News pages to articles: the main text (no navigation, ads or captions) and the page's own
metadata, by trafilatura; the article comes out as front matter and blank-line-separated
paragraphs, so it is numbered, quoted and cited like any .md file."""

from __future__ import annotations

import logging
from typing import Any

import htmldate
import lxml.html
import trafilatura
from lxml import etree

from app.archive.metadata import Meta, front_matter_text, iso_date, meta_from
from app.errors import NoArticle

logger = logging.getLogger(__name__)

# Each of these starts a paragraph of its own: HTML's blocks and trafilatura's XML elements.
_BLOCKS = {
    *("p", "div", "section", "article", "header", "footer", "main", "aside", "blockquote"),
    *("pre", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "figure", "figcaption"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "head", "list", "item", "quote", "row", "code"),
}
_GAPS = {"br", "lb", "td", "th", "cell"}  # inline breaks: a space, not a new paragraph
_SKIP = {"script", "style", "noscript", "template", "iframe", "img", "graphic"}


def page_article(file: str, data: bytes) -> str:
    """The article of a saved page as the text to cite: its metadata as front matter, then its
    paragraphs. NoArticle when the page holds no article (a section front, a login page)."""
    # Precision over recall: a page of links must give nothing rather than its menu.
    doc: Any = trafilatura.bare_extraction(
        data,
        favor_precision=True,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
    )
    blocks = _blocks(doc.body) if doc is not None and doc.body is not None else []
    if not any(len(b.split()) >= 4 for b in blocks):
        raise NoArticle(f"{file}: no article text found (only navigation or boilerplate)")
    meta = page_meta(doc, data, file=file)
    return front_matter_text(meta) + "\n\n".join(blocks) + "\n"


def page_meta(doc: Any, data: bytes, *, file: str) -> Meta:
    """trafilatura's metadata mapped onto Meta: site name -> source, first category -> section."""
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    fields: dict[str, Any] = {
        "title": doc.title,
        "published": doc.date,
        "author": authors or None,
        "section": (doc.categories or [None])[0],
        "source": doc.sitename,
        "url": doc.url,
    }
    # htmldate's newest date on the page: the last update, when it is later than publication.
    latest = iso_date(htmldate.find_date(data, original_date=False) or "")
    if latest and doc.date and latest > doc.date:
        fields["updated"] = latest
    meta, warnings = meta_from(fields, file=file)
    for warning in warnings:
        logger.info("%s", warning)
    return meta


def fragment_text(markup: str) -> str:
    """A feed item's HTML (paragraphs, lists, links) as blank-line-separated paragraphs."""
    if not markup.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(markup.split())
    return "\n\n".join(_blocks(root))


def _blocks(root: Any) -> list[str]:
    """The text of an element tree, one paragraph per block element, spaces normalised."""
    pieces: list[list[str]] = [[]]
    _walk(root, pieces)
    texts = (" ".join("".join(parts).split()) for parts in pieces)
    return [t for t in texts if t]


def _walk(element: Any, pieces: list[list[str]]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""  # comments have no name
    if tag and tag not in _SKIP:
        block = tag in _BLOCKS
        if block:
            pieces.append([])
        pieces[-1].append(element.text or "")
        for child in element:
            _walk(child, pieces)
        if block:
            pieces.append([])
        elif tag in _GAPS:
            pieces[-1].append(" ")
    pieces[-1].append(element.tail or "")
