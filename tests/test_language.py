"""The language analysis: the same spans however many processes share a large batch."""

from __future__ import annotations

from pathlib import Path

from app.archive import language
from app.archive.corpus import read_article

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def _paragraphs() -> list[tuple[int, str]]:
    return [(p.start, p.text) for f in sorted(SEEDS.glob("*.txt")) for p in read_article(f).body]


def test_worker_processes_find_what_one_process_finds(monkeypatch):
    items = _paragraphs()
    monkeypatch.setattr(language, "PARALLEL_FROM", 2)  # the seeds are a small batch
    monkeypatch.setattr(language, "SHARD", 3)  # several shards, out of order if the map were
    alone = list(language.analyse(items))
    shared = list(language.analyse(items, processes=2))
    assert len(alone) == len(items) > 2 * 3
    assert shared == alone
    assert all(a.sentences for a in alone)


def test_spans_are_file_offsets_of_the_paragraphs_text():
    items = _paragraphs()
    for (base, text), found in zip(items, language.analyse(items), strict=True):
        for start, end in found.sentences:
            assert base <= start < end <= base + len(text)
            assert text[start - base : end - base].strip() == text[start - base : end - base]
