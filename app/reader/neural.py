"""The trained span reader: a MiniLM encoder fine-tuned on SQuAD v1.1 train
(train/train_span_reader.py) to point at the short answer in a short window of a passage, or
at [CLS] when the window does not answer.

It reads the question with the sentence the trees chose and its neighbours, so a wrong choice
between neighbours costs nothing and a request costs a few ms. The window, the tokenising and
the decoding live here so training and serving cut the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# The committed graph (int8 ONNX) and what it was trained on, beside it.
MODEL_DIR = Path(__file__).with_name("span_model")
GRAPH_FILE = "model.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")

MAX_TOKENS = 192  # question + window; a 3-sentence window is ~90 tokens, 99% are under 160
MAX_QUESTION_TOKENS = 48
MAX_ANSWER_TOKENS = 30
REACH = 1  # sentences either side of the chosen one


Span = tuple[int, int]


def window(sentences: Sequence[Span], chosen: int, reach: int = REACH) -> Span:
    """The chosen sentence and `reach` neighbours either side, as (start, end) offsets."""
    lo, hi = max(0, chosen - reach), min(len(sentences) - 1, chosen + reach)
    return sentences[lo][0], sentences[hi][1]


@dataclass(frozen=True)
class Tokenizers:
    """The encoder's WordPiece tokenizer twice: for pairs, set to cut the window (never the
    question) and to pad each batch to its longest pair; and for questions alone, uncut."""

    pairs: Any
    questions: Any


def tokenizer(model_dir: Path) -> Tokenizers:
    from tokenizers import Tokenizer

    path = str(Path(model_dir) / "tokenizer.json")
    pairs = Tokenizer.from_file(path)
    pairs.enable_truncation(max_length=MAX_TOKENS, strategy="only_second")
    pairs.enable_padding(pad_id=0, pad_token="[PAD]")
    questions = Tokenizer.from_file(path)
    questions.no_truncation()
    questions.no_padding()
    return Tokenizers(pairs, questions)


@dataclass(frozen=True)
class Encoded:
    """A batch of (question, window) pairs as the model takes them, and where each token of
    the window came from (character offsets into the window; -1 for other tokens)."""

    feed: dict[str, np.ndarray]
    starts: np.ndarray  # (batch, tokens)
    ends: np.ndarray


def encode(tok: Tokenizers, questions: Sequence[str], windows: Sequence[str]) -> Encoded:
    # One request's windows share its question: each distinct question is measured once.
    clipped = {q: _clip_question(tok.questions, q) for q in dict.fromkeys(questions)}
    questions = [clipped[q] for q in questions]
    encodings = tok.pairs.encode_batch(list(zip(questions, windows, strict=True)))
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    starts = np.full(ids.shape, -1, dtype=np.int64)
    ends = np.full(ids.shape, -1, dtype=np.int64)
    for row, e in enumerate(encodings):
        for col, (seq, (a, b)) in enumerate(zip(e.sequence_ids, e.offsets, strict=True)):
            if seq == 1 and b > a:
                starts[row, col], ends[row, col] = a, b
    feed = {
        "input_ids": ids,
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    return Encoded(feed, starts, ends)


def _clip_question(tok: Any, question: str) -> str:
    """A question of more than MAX_QUESTION_TOKENS is cut there (rare: a pasted paragraph)."""
    e = tok.encode(question, add_special_tokens=False)
    if len(e.ids) <= MAX_QUESTION_TOKENS:
        return question
    return question[: e.offsets[MAX_QUESTION_TOKENS - 1][1]]


@dataclass(frozen=True)
class Pick:
    """The reader's best span in one window: character offsets into the window, its logit
    (start + end) and the no-answer logit ([CLS] as start and end)."""

    start: int
    end: int
    span_logit: float
    null_logit: float
    probability: float  # the span's share of all spans and the null, under the model

    @property
    def margin(self) -> float:
        return self.span_logit - self.null_logit


def decode(encoded: Encoded, start_logits: np.ndarray, end_logits: np.ndarray) -> list[Pick]:
    """Each row's best span: start <= end, both in the window, at most MAX_ANSWER_TOKENS."""
    picks = []
    n = start_logits.shape[1]
    upper = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(
        np.ones((n, n), dtype=bool), MAX_ANSWER_TOKENS
    )
    for row in range(start_logits.shape[0]):
        inside = encoded.starts[row] >= 0
        s, e = start_logits[row], end_logits[row]
        scores = s[:, None] + e[None, :]
        allowed = upper & inside[:, None] & inside[None, :]
        null = float(s[0] + e[0])
        if not allowed.any():
            picks.append(Pick(0, 0, -1e9, null, 0.0))
            continue
        masked = np.where(allowed, scores, -np.inf)
        a, b = np.unravel_index(int(np.argmax(masked)), masked.shape)
        best = float(masked[a, b])
        # log-sum-exp over every allowed span and the null: the share the best one takes.
        every = np.append(masked[allowed], null)
        top = every.max()
        share = float(np.exp(best - top) / np.exp(every - top).sum())
        picks.append(
            Pick(int(encoded.starts[row, a]), int(encoded.ends[row, b]), best, null, share)
        )
    return picks


class SpanModel:
    """The committed int8 graph, run by ONNX Runtime."""

    def __init__(self, model_dir: Path = MODEL_DIR, *, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(Path(model_dir) / GRAPH_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._tok = tokenizer(model_dir)
        logger.info("loaded the span reader from %s", model_dir)

    def read(self, questions: Sequence[str], windows: Sequence[str]) -> list[Pick]:
        """One Pick per (question, window) pair, in one model call."""
        if not questions:
            return []
        encoded = encode(self._tok, questions, windows)
        start, end = self._session.run(["start_logits", "end_logits"], encoded.feed)
        return decode(encoded, start, end)


class BatchingSpanModel:
    """A SpanModel whose concurrent read() calls share one model call (app/archive/batching.py)."""

    def __init__(
        self, inner: SpanModel, *, max_wait_ms: float = 0.0, max_batch: int = 32, timeout_s: float
    ) -> None:
        from app.archive.batching import Batcher

        self._batcher: Batcher[tuple[str, str], Pick] = Batcher(
            lambda pairs: inner.read([q for q, _ in pairs], [w for _, w in pairs]),
            what="the span reader",
            max_wait_ms=max_wait_ms,
            max_batch=max_batch,
            timeout_s=timeout_s,
        )

    @property
    def batches(self) -> list[int]:
        return self._batcher.batches

    def read(self, questions: Sequence[str], windows: Sequence[str]) -> list[Pick]:
        if not questions:
            return []
        return list(self._batcher.submit(list(zip(questions, windows, strict=True))))

    def close(self) -> None:
        self._batcher.close()
