"""What speaks for a passage, and for each of its sentences, answering a question.

The numbers here are the inputs of the reader's small models (app/reader/linear.py); the names
in PASSAGE_FEATURES, SENTENCE_FEATURES and QUESTION_FEATURES are the columns the trained
weights refer to. Every table is built by those names (`columns.table`), and the reader
refuses weights trained on other names, so renaming or reordering one means retraining
(train/train_reader.py), never silently feeding a model the wrong column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.reader.columns import table
from app.reader.lexicon import Lexicon
from app.reader.question import Question
from app.reader.retrieve import Candidate
from app.reader.termsets import ranges

PASSAGE_FEATURES = (
    "fused",
    "dense",
    "bm25",
    "bm25_log",
    "inv_rank",
    "fused_gap",
    "sent_cos",
    "sent_overlap",
    "sent_idf",
    "passage_idf",
    "title_idf",
    "type_in_sentence",
    "type_in_passage",
    "dense_gap",
    "sent_cos_gap",
    "sent_idf_gap",
    "passage_idf_gap",
    "bigrams",
    "passage_overlap",
    "sent_unique",
    "sent_unique_gap",
)
# Gaps to the best candidate: a passage competes with the others retrieved for the question.
# A sentence that answers often follows the one that names the subject ("It was ..."), so
# the neighbours' match counts too.
SENTENCE_FEATURES = (
    "cos", "cos_gap", "overlap", "idf", "type", "first", "typed", "prev_cos", "next_cos",
    "prev_idf", "next_idf", "digits", "unique_idf", "log_words",
)  # fmt: skip
# unique_idf: the question's words this sentence has and no other sentence of its paragraph
# does. A word every sentence repeats (the subject) tells them apart no better than the title;
# the one only this sentence has does (dev, held-out articles: right sentence of the gold
# paragraph 0.853 -> 0.871).
# Nothing here may depend on the archive's size: the same model judges a two-article archive
# and a fifty-article one. Raw BM25 and IDF shares do (a word a tiny archive has never seen
# gets the highest IDF, so a fair question looked unanswerable there); plain shares of the
# question's own words and cosines do not.
# Nor on the other candidates: the passage model's logit is relative to them, so it is left out.
QUESTION_FEATURES = (
    "top_dense", "top_sent_cos", "top_overlap", "top_passage_overlap", "top_bigrams",
    "top_type_missing",
)  # fmt: skip


def sentence_features(
    lexicon: Lexicon, question: Question, query: np.ndarray, rows: Sequence[int]
) -> list[np.ndarray]:
    """For each passage row, one row per sentence, columns as SENTENCE_FEATURES."""
    if not len(rows):
        return []
    index = lexicon.index
    passages = np.asarray(rows, dtype=np.int64)
    lo, hi = index.sentence_starts[passages], index.sentence_starts[passages + 1]
    sizes = hi - lo
    ends = np.cumsum(sizes)
    sentences = ranges(lo, hi)
    first = np.zeros(len(sentences), dtype=bool)
    last = np.zeros(len(sentences), dtype=bool)
    first[(ends - sizes)[sizes > 0]] = True
    last[(ends - 1)[sizes > 0]] = True
    cosine = index.sentence_vectors[sentences] @ query
    if len(sentences):
        best = np.maximum.reduceat(cosine, (ends - sizes)[sizes > 0])
        gap = cosine - np.repeat(best, sizes[sizes > 0])
    else:
        gap = cosine
    q = lexicon.weighed(question)
    idf, overlap = q.share(lexicon.sentence_terms, sentences)
    rows_table = table(
        SENTENCE_FEATURES,
        cos=cosine,
        cos_gap=gap,
        overlap=overlap,
        idf=idf,
        type=lexicon.sentence_labels[sentences][:, q.types].any(axis=1),
        first=first,
        typed=np.full(len(sentences), float(bool(question.types))),
        prev_cos=np.where(first, 0.0, np.roll(cosine, 1)),
        next_cos=np.where(last, 0.0, np.roll(cosine, -1)),
        prev_idf=np.where(first, 0.0, np.roll(idf, 1)),
        next_idf=np.where(last, 0.0, np.roll(idf, -1)),
        digits=lexicon.sentence_digits[sentences],
        unique_idf=q.share(lexicon.unique_terms, sentences)[0],
        log_words=lexicon.sentence_log_words[sentences],
    )
    return np.split(rows_table, ends[:-1])


def passage_features(
    lexicon: Lexicon, question: Question, candidates: list[Candidate], best: list[np.ndarray]
) -> np.ndarray:
    """One row per candidate, columns as PASSAGE_FEATURES; `best` is each candidate's
    chosen sentence's feature row."""
    if not candidates:
        return np.zeros((0, len(PASSAGE_FEATURES)), dtype=np.float32)
    rows = np.fromiter((c.row for c in candidates), dtype=np.int64, count=len(candidates))
    score, dense, bm25, raw = np.asarray(
        [(c.score, c.dense, c.bm25, c.bm25_raw) for c in candidates], dtype=np.float64
    ).T
    s = np.vstack(best)
    q = lexicon.weighed(question)
    passage_idf, passage_overlap = q.share(lexicon.passage_terms, rows)
    title_idf, _ = q.share(lexicon.title_terms, rows)
    phrases, _ = lexicon.passage_bigrams.matched(rows, q.bigrams, np.ones(len(q.bigrams)))
    sentence = {name: s[:, i] for i, name in enumerate(SENTENCE_FEATURES)}
    # Rounded to the models' float32 first, gaps after: as the models were trained.
    dense32, sent_cos = _f32(dense), sentence["cos"]
    passage_idf32, sent_idf = _f32(passage_idf), sentence["idf"]
    unique = sentence["unique_idf"]
    return table(
        PASSAGE_FEATURES,
        fused=score,
        dense=dense32,
        bm25=bm25,
        bm25_log=np.log1p(raw),
        inv_rank=1.0 / np.arange(1, len(candidates) + 1),
        fused_gap=score - score[0],
        sent_cos=sent_cos,
        sent_overlap=sentence["overlap"],
        sent_idf=sent_idf,
        passage_idf=passage_idf32,
        title_idf=title_idf,
        type_in_sentence=sentence["type"],
        type_in_passage=lexicon.passage_labels[rows][:, q.types].any(axis=1),
        dense_gap=dense32 - dense32.max(),
        sent_cos_gap=sent_cos - sent_cos.max(),
        sent_idf_gap=sent_idf - sent_idf.max(),
        passage_idf_gap=passage_idf32 - passage_idf32.max(),
        bigrams=phrases / q.n_bigrams,
        passage_overlap=passage_overlap,
        sent_unique=unique,
        sent_unique_gap=unique - unique.max(),
    )


def _f32(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def question_features(passage: np.ndarray | None, question: Question) -> np.ndarray:
    """Columns as QUESTION_FEATURES, from the best passage's PASSAGE_FEATURES row: how well
    it answers at all."""
    if passage is None:
        return np.zeros(len(QUESTION_FEATURES), dtype=np.float32)
    best = dict(zip(PASSAGE_FEATURES, passage, strict=True))
    # A "who" question whose best sentence names no person or organisation is likely asked of
    # the wrong archive, however well its other words match.
    untyped = float(bool(question.types) and not best["type_in_sentence"])
    return table(
        QUESTION_FEATURES,
        top_dense=best["dense"],
        top_sent_cos=best["sent_cos"],
        top_overlap=best["sent_overlap"],
        top_passage_overlap=best["passage_overlap"],
        top_bigrams=best["bigrams"],
        top_type_missing=untyped,
    )[0]
