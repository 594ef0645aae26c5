"""Articles -> numbered paragraphs with character offsets, headings and boilerplate, and chunks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from app.archive.metadata import Meta, read_front_matter
from app.errors import BadDocument

CHUNKING_VERSION = "4"  # 2: a line of spaces and zero-width characters is blank; 4: front matter
SUFFIXES = (".txt", ".md")
PAGE_SUFFIXES = (".html", ".htm")  # news pages: their article is extracted (archive/extracted.py)

# Python's str.strip() misses these, but a person sees nothing there.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_WORD = re.compile(r"\S+")
_TRACKER = re.compile(r"^[a-z0-9_\-]{1,24}$")
_BULLET = re.compile(r"^[•\-*·–]\s")
_NOT_HEADING_END = tuple('.!:;,"”’)')

# A paragraph embedded whole must fit the model's 256-token window, title included.
WINDOW_WORDS = 160
WINDOW_STRIDE = 120


@dataclass(frozen=True)
class Paragraph:
    number: int
    start: int
    end: int
    text: str
    kind: str  # "body" | "heading" | "boilerplate"
    section: str


@dataclass(frozen=True)
class Chunk:
    file: str
    paragraph: int
    title: str
    section: str
    start: int
    end: int
    text: str

    @property
    def context(self) -> str:
        """What gets embedded and matched: the text under its title and heading."""
        head = " — ".join(part for part in (self.title, self.section) if part)
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True)
class Article:
    file: str
    title: str
    text: str
    sha256: str
    paragraphs: tuple[Paragraph, ...]
    meta: Meta = field(default_factory=Meta)
    # What could not be read (a bad date, broken front matter), each naming file and field.
    warnings: tuple[str, ...] = ()

    @property
    def body(self) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.kind == "body"]


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past whitespace and invisible characters at both edges."""
    while start < end and (text[start].isspace() or text[start] in _INVISIBLE):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _INVISIBLE):
        end -= 1
    return start, end


def _is_blank(line: str) -> bool:
    # Every character, not just the edges: "\u200b \u200b" is as blank as an empty line.
    return all(ch.isspace() or ch in _INVISIBLE for ch in line)


def split_blocks(text: str, begin: int = 0) -> list[tuple[int, int]]:
    """Offsets of the blank-line-separated blocks from `begin` on, trimmed, in file order."""
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for match in _LINE.finditer(text, begin):
        if match.start() == match.end():
            break
        content = match.group().rstrip("\r\n")
        if _is_blank(content):
            if start is not None:
                blocks.append(strip_span(text, start, end))
                start = None
            continue
        if start is None:
            start = match.start()
        end = match.start() + len(content)
    if start is not None:
        blocks.append(strip_span(text, start, end))
    return blocks


def _is_repeated_caption(lines: list[str]) -> bool:
    """Photo captions often come twice, the second a copy (or near copy) of the first."""
    if len(lines) != 2:
        return False
    return SequenceMatcher(None, lines[0], lines[1], autojunk=False).ratio() >= 0.9


def classify(block: str, heading_words: int = 14) -> str:
    """Is a block an answerable paragraph, a heading, or boilerplate not worth indexing?"""
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    words = block.split()
    if (len(words) == 1 and _TRACKER.match(block)) or _is_repeated_caption(lines):
        return "boilerplate"
    if len(words) < 3 and not block[:1].isupper():
        return "boilerplate"
    one_line = len(lines) == 1 and len(words) <= heading_words
    if one_line and not _BULLET.match(block) and not block.endswith(_NOT_HEADING_END):
        return "heading"
    if len(words) < 4:
        return "boilerplate"
    return "body"


def title_from_name(file: str) -> str:
    return Path(file).stem.replace("_", " ").strip() or file


def parse_article(file: str, text: str, meta: Meta | None = None) -> Article:
    """Number every block of the body from 1 (front matter is not a paragraph; offsets stay
    offsets into the whole text); a heading becomes the section of the paragraphs under it.
    `meta`: metadata found elsewhere (an HTML page's), instead of front matter."""
    front = read_front_matter(file, text) if meta is None else None
    begin = front.body_start if front else 0
    paragraphs: list[Paragraph] = []
    title = ""
    section = ""
    seen_body = False
    for number, (start, end) in enumerate(split_blocks(text, begin), start=1):
        block = text[start:end]
        # A headline runs longer than a section heading.
        kind = classify(block, heading_words=14 if seen_body or title else 25)
        if kind == "heading":
            if not seen_body and not title:
                title = block
            else:
                section = block
        seen_body = seen_body or kind == "body"
        paragraphs.append(Paragraph(number, start, end, block, kind, section))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    meta = front.meta if front else meta or Meta()
    headline = meta.title or title or title_from_name(file)
    warnings = front.warnings if front else ()
    return Article(file, headline, text, digest, tuple(paragraphs), meta, warnings)


def windows(paragraph: Paragraph) -> Iterator[tuple[int, int]]:
    """File offsets of overlapping word windows covering a paragraph (one if it fits)."""
    spans = [m.span() for m in _WORD.finditer(paragraph.text)]
    first = 0
    while True:
        last = min(first + WINDOW_WORDS, len(spans))
        yield paragraph.start + spans[first][0], paragraph.start + spans[last - 1][1]
        if last == len(spans):
            return
        first += WINDOW_STRIDE


def chunk_article(article: Article) -> list[Chunk]:
    return [
        Chunk(article.file, p.number, article.title, p.section, s, e, article.text[s:e])
        for p in article.body
        for s, e in windows(p)
    ]


def read_text(path: Path) -> str:
    """The file as the citations count it: UTF-8, newlines untouched."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise BadDocument(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise BadDocument(f"{path.name}: unreadable ({exc.strerror})") from exc
    if not text.strip().strip(_INVISIBLE).strip():
        raise BadDocument(f"{path.name}: empty")
    return text


def read_article(path: Path) -> Article:
    return parse_article(path.name, read_text(path))


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The articles in a folder: .txt, .md and .html/.htm files, sorted by name (no subfolders)."""
    kinds = SUFFIXES + PAGE_SUFFIXES
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix.lower() in kinds)
