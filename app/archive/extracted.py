"""Articles as cited, whatever the file: a .txt/.md file's own text, or the text extracted
from an HTML page, kept beside the index under extracted/<sha256 of the page's bytes>.md.

The page's bytes name its extracted text, so a page is extracted once (re-indexing an
unchanged page reads the kept text back; a newer trafilatura never renumbers what is already
cited), and the index, the document view and GET /documents/{file}/text all count offsets
into one and the same text.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from app.archive import corpus, html
from app.archive.corpus import PAGE_SUFFIXES, Article
from app.errors import BadDocument, NoArticle
from app.files import write_text_atomically

FOLDER = "extracted"


def folder(index_dir: Path) -> Path:
    return index_dir / FOLDER


def is_page(file: str) -> bool:
    return Path(file).suffix.lower() in PAGE_SUFFIXES


def read_article(path: Path, kept: Path | None = None) -> Article:
    """The article a corpus file holds; an HTML page's from `kept` when it was extracted
    before."""
    if not is_page(path.name):
        return corpus.read_article(path)
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    text = _kept_text(kept, digest) if kept is not None else None
    return page_from(path.name, text or html.page_article(path.name, data), digest)


def page_from(file: str, text: str, digest: str) -> Article:
    """The extracted text parsed like any .md file, under the hash of the page's bytes (what
    publish.reconcile compares with the manifest, without parsing anything)."""
    article = replace(corpus.parse_article(file, text), sha256=digest)
    if not article.body:
        raise NoArticle(f"{file}: no article text found (only navigation or boilerplate)")
    return article


def keep(kept: Path, article: Article) -> None:
    """Store a page's extracted text once; the same bytes always give the same text."""
    target = kept / f"{article.sha256}.md"
    if not target.exists():
        kept.mkdir(parents=True, exist_ok=True)
        write_text_atomically(target, article.text)


def cited_article(index_dir: Path, corpus_dir: Path, file: str, sha256: str) -> Article:
    """The article exactly as indexed: the kept extraction of the page that was indexed (even
    if the page has changed since), else the corpus file read again."""
    if is_page(file):
        text = _kept_text(folder(index_dir), sha256)
        if text is not None:
            return page_from(file, text, sha256)
    return read_article(corpus_dir / file)


def _kept_text(kept: Path, digest: str) -> str | None:
    try:
        return (kept / f"{digest}.md").read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):  # not kept yet (or damaged): extract it again
        return None


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadDocument(f"{path.name}: unreadable ({exc.strerror})") from exc
    if not data.strip():
        raise BadDocument(f"{path.name}: empty")
    return data
