"""The trained span reader: its window, its decoding, the committed graph, its batching, and the
reader with it or with the trees (NEWSROOM_READER)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from app.archive.batching import Batcher
from app.errors import ModelUnavailable
from app.reader import neural
from app.reader.neural_spans import Calibration, NeuralSpans, features


@pytest.fixture(scope="module")
def model() -> neural.SpanModel:
    return neural.SpanModel()


def test_the_window_is_the_chosen_sentence_and_its_neighbours():
    sentences = [(0, 10), (11, 20), (21, 30), (31, 40)]
    assert neural.window(sentences, 0) == (0, 20)
    assert neural.window(sentences, 2) == (11, 40)
    assert neural.window(sentences, 3) == (21, 40)
    assert neural.window([(5, 9)], 0) == (5, 9)


def test_tokens_map_back_to_the_window_and_only_the_window(model):
    tok = neural.tokenizer(neural.MODEL_DIR)
    window = "Denmark paid Kosovo 200 million euros."
    enc = neural.encode(tok, ["Who paid Kosovo?"], [window])
    inside = enc.starts[0] >= 0
    pieces = [window[a:b] for a, b in zip(enc.starts[0][inside], enc.ends[0][inside], strict=True)]
    assert pieces[0] == "Denmark" and "euros" in pieces
    assert not inside[0]  # [CLS]
    assert inside.sum() < len(inside) - 3  # the question's tokens are not the window's


def test_a_long_question_is_cut_and_the_window_kept():
    tok = neural.tokenizer(neural.MODEL_DIR)
    question = "why " * 300
    enc = neural.encode(tok, [question], ["The answer is here."])
    assert enc.feed["input_ids"].shape[1] <= neural.MAX_TOKENS
    assert (enc.starts[0] >= 0).sum() == 5  # the, answer, is, here, .


def _encoded(starts: list[int], ends: list[int]) -> neural.Encoded:
    ids = np.zeros((1, len(starts)), dtype=np.int64)
    return neural.Encoded({"input_ids": ids}, np.array([starts]), np.array([ends]))


def test_decode_takes_the_best_span_within_the_window_with_start_before_end():
    # tokens: [CLS] q [SEP] w0 w1 w2 [SEP]; window offsets 0-2, 3-5, 6-8
    enc = _encoded([-1, -1, -1, 0, 3, 6, -1], [-1, -1, -1, 2, 5, 8, -1])
    start = np.array([[0.0, 9.0, 0.0, 1.0, 5.0, 2.0, 9.0]])  # question and [SEP] are not allowed
    end = np.array([[0.0, 9.0, 0.0, 6.0, 1.0, 4.0, 9.0]])  # best end before the best start
    (pick,) = neural.decode(enc, start, end)
    assert (pick.start, pick.end) == (3, 8)  # w1..w2: 5 + 4 beats w0..w0 (1 + 6)
    assert pick.span_logit == 9.0 and pick.null_logit == 0.0 and pick.margin == 9.0
    assert 0 < pick.probability < 1


def test_decode_prefers_the_null_span_when_the_model_does():
    enc = _encoded([-1, 0, 3], [-1, 2, 5])
    (pick,) = neural.decode(enc, np.array([[8.0, 0.0, 0.0]]), np.array([[8.0, 0.0, 0.0]]))
    assert pick.margin < 0 and pick.probability < 0.01


def test_decode_of_an_empty_window_says_no_span():
    enc = _encoded([-1, -1], [-1, -1])
    (pick,) = neural.decode(enc, np.zeros((1, 2)), np.zeros((1, 2)))
    assert pick.end <= pick.start and pick.margin < -1e6


def test_the_committed_model_points_at_the_answer(model):
    window = (
        "Kosovo declared independence in 2008. In 2022, Kosovo agreed to house 300 prisoners "
        "from Denmark in exchange for about 200 million euros. The deal was controversial."
    )
    who, much = model.read(
        ["Which country will send prisoners to Kosovo?", "How much will Denmark pay?"],
        [window, window],
    )
    assert window[who.start : who.end] == "Denmark"
    assert "200 million euros" in window[much.start : much.end]
    assert who.margin > 0


def test_the_committed_model_says_when_the_window_does_not_answer(model):
    window = "The ministry published its annual report on road safety on Tuesday."
    (pick,) = model.read(["What is the population of Kosovo?"], [window])
    (answered,) = model.read(["When did the ministry publish its report?"], [window])
    assert pick.margin < answered.margin


def test_the_graph_is_small_enough_to_commit():
    assert (neural.MODEL_DIR / neural.GRAPH_FILE).stat().st_size < 30_000_000


def test_the_calibration_is_for_the_features_the_code_builds(tmp_path):
    Calibration.load()  # the committed one
    bad = tmp_path / "calibration.json"
    bad.write_text(
        '{"passage_weight": 1, "threshold": 0.5, "confidence": {"features": ["x"], '
        '"mean": [0], "scale": [1], "weights": [1], "bias": 0}}'
    )
    with pytest.raises(ValueError, match="refit"):
        Calibration.load(bad)


class _Counting:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.gate = threading.Event()

    def read(self, questions: Sequence[str], windows: Sequence[str]) -> list[neural.Pick]:
        self.gate.wait(5)
        self.calls.append(len(questions))
        return [neural.Pick(0, len(w), 1.0, 0.0, 0.5) for w in windows]


def test_concurrent_reads_share_one_model_call_and_each_gets_its_own_picks():
    inner = _Counting()
    batched = neural.BatchingSpanModel(inner, timeout_s=10)  # type: ignore[arg-type]
    found: dict[int, list[neural.Pick]] = {}

    def ask(n: int) -> None:
        found[n] = batched.read(["q"] * n, ["x" * n] * n)

    threads = [threading.Thread(target=ask, args=(n,)) for n in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    inner.gate.set()
    for t in threads:
        t.join(10)
    batched.close()
    assert {n: [p.end for p in picks] for n, picks in found.items()} == {
        n: [n] * n for n in (1, 2, 3, 4)
    }
    assert sum(inner.calls) == 10 and len(inner.calls) < 4
    with pytest.raises(ModelUnavailable, match="span reader is shut down"):
        batched.read(["q"], ["w"])


def test_a_failing_model_call_reaches_every_waiting_caller():
    def broken(items: list[int]) -> list[int]:
        raise RuntimeError("graph failed")

    batcher: Batcher[int, int] = Batcher(broken, what="the span reader", timeout_s=5)
    with pytest.raises(RuntimeError, match="graph failed"):
        batcher.submit([1, 2])
    batcher.close()


def test_confidence_rises_with_the_margin_and_the_share():
    calibration = Calibration.load()
    spans = NeuralSpans(neural.SpanModel(), calibration)
    from app.reader.neural_spans import NeuralSpan

    weak = NeuralSpan((0, 9), (0, 4), -3.0, 0.05)
    strong = NeuralSpan((0, 9), (0, 4), 8.0, 0.9)
    assert spans.confidence(0.9, 0.9, strong, True) > spans.confidence(0.9, 0.9, weak, True)
    assert spans.confidence(0.9, 0.9, strong, True) > spans.confidence(0.9, 0.05, strong, True)
    row = features(1.0, 0.0, weak, False)
    assert row.shape == (5,) and np.isfinite(row).all()


@pytest.fixture(scope="module")
def readers(seeds_index, embedder):
    from app.config import Settings
    from app.live import Archive
    from app.reader import neural_spans

    found = {}
    for kind in ("neural", "trees"):
        settings = Settings(index_dir=seeds_index, reader=kind)
        archive = Archive(seeds_index, embedder, span_reader=neural_spans.load(settings))
        archive.load()
        found[kind] = archive.reader
    return found


def test_the_span_reader_quotes_verbatim_with_the_sentence_that_holds_the_span(readers):
    result = readers["neural"].ask("How much did Denmark pay Kosovo?", top_k=3)
    assert not result.no_answer
    for a in result.answers:
        c = a.citation
        assert a.answer in a.sentence and a.sentence in a.passage
        assert 0.0 <= a.score <= 1.0 and c.end - c.start == len(a.answer)
    assert any("million" in a.answer for a in result.answers)


def test_reader_trees_keeps_the_path_before_the_span_reader(readers):
    neural_reader, trees = readers["neural"], readers["trees"]
    assert trees.span_reader is None and neural_reader.span_reader is not None
    question = "Which other Balkan country did Trump officials approach?"
    assert neural_reader.ask(question).answers[0].answer == "Serbia"
    # Same retrieval and passage models: the passages weighed are the same ones.
    a, b = neural_reader.read(question), trees.read(question)
    assert [c.row for c in a.candidates] == [c.row for c in b.candidates]
