"""Train the reader's models on SQuAD dev.jsonl only; write app/reader/reader_weights.json.

    .venv/bin/python -m train.train_reader [--eval-dir ../shared/eval]
    .venv/bin/python -m train.train_reader --holdout [1]  # train on half the dev articles
                                                          # (0 or 1), measure /ask's path on
                                                          # the other half

1. sentence: which sentence of a paragraph holds a gold answer (the gold paragraph and the
   first retrieved ones that hold one);
2. passage: which of the retrieved candidates is the gold paragraph, ranked within each
   question's candidates (features use the sentence model's pick in each candidate);
3. answerable: does the archive answer at all. Positives: dev questions over the SQuAD corpus.
   Negatives: the same dev questions over the seeds corpus (news about Kosovo), which cannot
   answer them;
4. span: which entity, phrase or clause of a gold sentence is a gold answer (LightGBM);
5. cross_span: which span of the first passages' chosen sentences is a gold answer in the gold
   paragraph, so each passage's best span can be weighed against the others'.
Test questions are never read.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import lightgbm
import numpy as np
from sklearn.linear_model import LogisticRegression

from app.archive.corpus import corpus_files
from app.archive.embed import Embedder
from app.archive.store import Index
from app.eval_report import table
from app.evaluate import Question, load_embedder, load_index, load_questions, run
from app.metrics import normalize_answer, sentence_hit
from app.reader import WEIGHTS_FILE, span, span_features
from app.reader.answer import Reader, Tuning
from app.reader.evidence import (
    PASSAGE_FEATURES,
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    passage_features,
    question_features,
    sentence_features,
)
from app.reader.lexicon import Lexicon
from app.reader.linear import (
    LinearModel,
    Model,
    ReaderModels,
    TreeModel,
    save_models,
)
from app.reader.question import Question as Parsed
from app.reader.question import parse
from app.reader.retrieve import Candidate, Retriever

logger = logging.getLogger("train")

# The no_answer threshold is the score below which this share of dev questions falls short:
# the service should still answer about 97% of questions its archive can answer.
ANSWERED_SHARE = 0.03
# The sentence model learns from the gold paragraph and from the first three retrieved passages
# that hold an answer too: the sentence shown comes from whichever passage ranks first, and
# the extra groups are more examples of the same choice (dev, held-out articles, both halves
# and three seeds: sentence_hit@1 +0.2 pt, R@1 +0.2 pt; the first 1 or 5 did no better).
SENTENCE_PASSAGES = 3
# The cross-span model learns from the spans of the first passages the passage model ranks,
# positive only for a gold answer in the gold paragraph: its best span in each passage then
# says how well that passage answers, against the others (the idea of Clark and Gardner's
# shared normalisation). Its logit is added to the passage model's at this weight (dev,
# held-out articles, both halves: 0.4-0.6 do best; at 0.5 R@1 +0.5 pt, sent@1 +0.4 pt, EM
# +0.5 pt, F1 +0.6 pt; the plain span model's best span instead, at its best weight, +0.15 pt).
CROSS_SPAN_DEPTH = 5
CROSS_SPAN_WEIGHT = 0.5
# Every tree model is the average of this many, trained with different seeds of their row and
# feature sampling (dev, held-out articles, mean of both halves, all four averaged over 5: R@1
# +0.3 pt, EM +0.55 pt, F1 +0.45 pt, sent@1 +0.2 pt; all but the sentence model, the costliest
# to run: as good on one half, R@1 and sent@1 -0.4 pt on the other; the sentence model alone:
# within noise).
ENSEMBLE_SEEDS = 5


@dataclass
class Retrieved:
    """One question's candidates and per-candidate sentence features, on one archive."""

    question: Question
    candidates: list[Candidate]
    sentences: list[np.ndarray]
    parsed: Parsed  # the question as the reader reads it


def retrieve_all(
    questions: list[Question], index: Index, embedder: Embedder, depth: int
) -> tuple[Lexicon, list[Retrieved]]:
    retriever, lexicon = Retriever(index), Lexicon(index)
    vectors = embedder.encode([q.question for q in questions])
    out = []
    for q, vec in zip(questions, vectors, strict=True):
        parsed = parse(q.question)
        cands = retriever.search(parsed, vec, k=depth, method="hybrid")
        feats = sentence_features(lexicon, parsed, vec, [c.row for c in cands])
        out.append(Retrieved(q, cands, feats, parsed))
    return lexicon, out


def fit(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], *, balanced: bool = False
) -> LinearModel:
    # A column that never varies in training (a rare label pairing) must not blow up later.
    mean, std = x.mean(axis=0), x.std(axis=0)
    scale = np.where(std > 1e-6, std, 1.0)
    weight = "balanced" if balanced else None
    model = LogisticRegression(max_iter=2000, class_weight=weight).fit((x - mean) / scale, y)
    logger.info("fit %d features on %d rows (%d positive)", len(names), len(y), int(y.sum()))
    return LinearModel(
        names,
        tuple(map(float, mean)),
        tuple(map(float, scale)),
        tuple(map(float, model.coef_[0])),
        float(model.intercept_[0]),
    )


def gold_row(index: Index, r: Retrieved) -> int | None:
    wanted = {index.passage_rows.get(s) for s in r.question.sources}
    return next((i for i, c in enumerate(r.candidates) if c.row in wanted), None)


def sentence_data(index: Index, data: list[Retrieved]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Sentences of the gold paragraph and of the first SENTENCE_PASSAGES retrieved, one group
    per passage that holds a gold answer; positive where one is."""
    xs: list[np.ndarray] = []
    ys: list[float] = []
    for r in data:
        gold = gold_row(index, r)
        shown = set(range(min(SENTENCE_PASSAGES, len(r.candidates))))
        for i in sorted(shown | ({gold} if gold is not None else set())):
            p = index.passages[r.candidates[i].row]
            labels = [
                sentence_hit(p.text[s - p.start : e - p.start], r.question.answers)
                for s, e in p.sentences
            ]
            if any(labels):
                xs.append(r.sentences[i])
                ys.extend(labels)
    return np.vstack(xs), np.asarray(ys), [len(x) for x in xs]


def span_data(
    index: Index, lexicon: Lexicon, data: list[Retrieved]
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate spans of gold sentences; positive when the span is a gold answer. Training on
    F1 as a soft label instead cost EM for little F1 on dev; span.choose gets the F1."""
    xs: list[np.ndarray] = []
    ys: list[float] = []
    covered = sentences = 0
    for r in data:
        i = gold_row(index, r)
        if i is None:
            continue
        p = index.passages[r.candidates[i].row]
        q = r.question
        golds = {normalize_answer(a) for a in q.answers}
        asked = r.parsed
        for s, e in p.sentences:
            if not sentence_hit(p.text[s - p.start : e - p.start], q.answers):
                continue
            options = span.options(p, (s, e), asked.words)
            texts = [p.text[a - p.start : b - p.start] for a, b, _ in options]
            sentences += 1
            covered += any(normalize_answer(t) in golds for t in texts)
            if options:
                xs.append(span_features.features(p, (s, e), options, asked, lexicon.word_idf))
                ys.extend(float(normalize_answer(t) in golds) for t in texts)
    print(
        f"span candidates hold a gold answer in {covered / max(sentences, 1):.3f} of gold sentences"
    )
    return np.vstack(xs), np.asarray(ys, dtype=float)


def cross_span_data(
    index: Index, lexicon: Lexicon, sentence: Model, passage: Model, data: list[Retrieved]
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate spans of the chosen sentences of each question's first CROSS_SPAN_DEPTH
    passages, as the passage model ranks them; positive when the span is a gold answer and the
    passage the gold paragraph."""
    xs: list[np.ndarray] = []
    ys: list[float] = []
    for r in data:
        feats, chosen = passage_rows(lexicon, sentence, r)
        if not len(feats):
            continue
        leaders = np.argsort(-passage.logits(feats), kind="stable")[:CROSS_SPAN_DEPTH]
        gold, asked = gold_row(index, r), r.parsed
        golds = {normalize_answer(a) for a in r.question.answers}
        for i in leaders:
            p = index.passages[r.candidates[i].row]
            s = p.sentences[chosen[i]]
            options = span.options(p, s, asked.words)
            texts = [p.text[a - p.start : b - p.start] for a, b, _ in options]
            xs.append(span_features.features(p, s, options, asked, lexicon.word_idf))
            ys.extend(float(i == gold and normalize_answer(t) in golds) for t in texts)
    return np.vstack(xs), np.asarray(ys, dtype=float)


def fit_trees(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], groups: list[int] | None = None
) -> TreeModel:
    """Binary log-loss trees, or LambdaRank within `groups` (rows of one question) where only
    the order inside a group matters, averaged over ENSEMBLE_SEEDS seeds of their row and
    feature sampling. Settings chosen on dev with held-out articles (--holdout): small trees
    and a slow rate stay smooth on a few thousand questions."""
    labels = y.astype(int) if groups else y
    data = lightgbm.Dataset(x, labels, group=groups, feature_name=list(names))
    rounds = 300 if groups else 400
    forests = [
        lightgbm.train(_params(seed, ranking=groups is not None), data, num_boost_round=rounds)
        for seed in range(7, 7 + ENSEMBLE_SEEDS)
    ]
    logger.info(
        "fit %d x %d trees on %d rows (%d positive)", len(forests), rounds, len(y), int(y.sum())
    )
    return TreeModel(average_forests([f.model_to_string() for f in forests]))


def average_forests(texts: list[str]) -> str:
    """One LightGBM model (text format) whose raw score is the mean of the given models':
    their trees one after another, each leaf divided by their number. One model, so the
    reader still makes one call, and compiles one forest."""
    head, _, _ = texts[0].partition("\nTree=0\n")
    head = "\n".join(line for line in head.split("\n") if not line.startswith("tree_sizes="))
    trees = [t.partition("\nTree=0\n")[2].partition("end of trees")[0] for t in texts]
    blocks = [b for t in trees for b in ("Tree=0\n" + t).split("\n\n") if b.strip()]
    share, out = 1.0 / len(texts), []
    for number, block in enumerate(blocks):
        lines = block.strip().split("\n")
        lines[0] = f"Tree={number}"
        out.append("\n".join(_scaled(line, share) for line in lines))
    footer = texts[0].partition("end of trees")[2]
    return head + "\n" + "\n\n".join(out) + "\n\n\nend of trees" + footer


def _scaled(line: str, share: float) -> str:
    if not line.startswith("leaf_value="):
        return line
    values = (float(v) * share for v in line.removeprefix("leaf_value=").split())
    return "leaf_value=" + " ".join(repr(v) for v in values)


def _params(seed: int, *, ranking: bool) -> dict[str, object]:
    return {
        "objective": "lambdarank" if ranking else "binary",
        "learning_rate": 0.05,
        "num_leaves": 7 if ranking else 15,
        "min_data_in_leaf": 40 if ranking else 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": seed,
        "deterministic": True,
        "num_threads": 2,
        "verbose": -1,
    }


def passage_rows(lexicon: Lexicon, sentence: Model, r: Retrieved) -> tuple[np.ndarray, list[int]]:
    chosen = [int(np.argmax(sentence.logits(f))) for f in r.sentences]
    best = [f[i] for f, i in zip(r.sentences, chosen, strict=True)]
    feats = passage_features(lexicon, r.parsed, r.candidates, best)
    return feats, chosen


def without_article(index: Index, r: Retrieved) -> Retrieved:
    """The question asked of an archive that lacks its article: a realistic unanswerable one."""
    gone = {f for f, _ in r.question.sources}
    keep = [i for i, c in enumerate(r.candidates) if index.passages[c.row].file not in gone]
    return Retrieved(
        r.question,
        [r.candidates[i] for i in keep],
        [r.sentences[i] for i in keep],
        r.parsed,
    )


def question_row(lexicon: Lexicon, sentence: Model, passage: Model, r: Retrieved) -> np.ndarray:
    if not r.candidates:
        return question_features(None, r.parsed)
    feats, _ = passage_rows(lexicon, sentence, r)
    return question_features(feats[int(np.argmax(passage.logits(feats)))], r.parsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--seeds", type=Path, default=Path("../shared/seeds"))
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/eval"))
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--reuse", action="store_true", help="reuse cached retrieval results")
    parser.add_argument(
        "--holdout",
        nargs="?",
        type=int,
        const=0,
        choices=(0, 1),
        metavar="HALF",
        help="train on one half of the dev articles (0 unless given), measure on the other; "
        "write nothing",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    began = time.perf_counter()
    squad = args.eval_dir / "squad-v1.1-dev"
    embedder = load_embedder()
    depth = Tuning().rerank_depth
    squad_index = load_index(squad / "corpus", args.cache_dir, embedder)
    seeds_index = load_index(args.seeds, args.cache_dir, embedder)
    names = {p.name for p in corpus_files(squad / "corpus")}
    dev = load_questions(squad / "dev.jsonl", names)
    cached = args.cache_dir / "train_reader.pkl"
    if args.reuse and cached.is_file():
        # Only for iterating on the models: retrieval and sentence features are unchanged.
        lexicon, data, seeds_lexicon, away = pickle.loads(cached.read_bytes())
        lexicon, seeds_lexicon = Lexicon(squad_index), Lexicon(seeds_index)
    else:
        lexicon, data = retrieve_all(dev, squad_index, embedder, depth)
        seeds_lexicon, away = retrieve_all(dev, seeds_index, embedder, depth)
        lexicon.index = seeds_lexicon.index = None  # type: ignore[assignment]
        cached.write_bytes(pickle.dumps((lexicon, data, seeds_lexicon, away)))
        lexicon.index, seeds_lexicon.index = squad_index, seeds_index

    if args.holdout is not None:
        # Train on the articles of one half, ask the other half's questions through /ask's path.
        def trained(r: Retrieved) -> bool:
            return zlib.crc32(r.question.sources[0][0].encode()) % 2 == args.holdout

        fold, fold_away = [r for r in data if trained(r)], [r for r in away if trained(r)]
        models = train(squad_index, lexicon, fold, seeds_lexicon, fold_away)
        reader = Reader(squad_index, embedder, Retriever(squad_index), models=models)
        held_out = [r.question for r in data if not trained(r)]
        print(table([run(reader, held_out, method="hybrid", progress=False)]))
        return
    models = train(squad_index, lexicon, data, seeds_lexicon, away)
    save_models(models, args.out, trained_on="squad-v1.1-dev/dev.jsonl", depth=depth)
    print(f"wrote {args.out} in {time.perf_counter() - began:.0f}s")


def train(
    squad_index: Index,
    lexicon: Lexicon,
    data: list[Retrieved],
    seeds_lexicon: Lexicon,
    away: list[Retrieved],
) -> ReaderModels:
    x, y, groups = sentence_data(squad_index, data)
    sentence = fit_trees(x, y, SENTENCE_FEATURES, groups)
    xs: list[np.ndarray] = []
    ys: list[float] = []
    for r in data:
        feats, _ = passage_rows(lexicon, sentence, r)
        g = gold_row(squad_index, r)
        xs.append(feats)
        ys.extend(float(i == g) for i in range(len(feats)))
    # Ranked within each question's candidates, like the sentences: only which passage comes
    # first matters, not how sure a passage is on its own (dev, held-out articles, both halves
    # and four seeds, against binary trees: R@1 +0.4 pt, sent@1 +0.6 pt).
    sizes = [len(f) for f in xs if len(f)]
    passage = fit_trees(np.vstack(xs), np.asarray(ys), PASSAGE_FEATURES, sizes)

    pos = [question_row(lexicon, sentence, passage, r) for r in data]
    neg = [question_row(seeds_lexicon, sentence, passage, r) for r in away]
    neg += [question_row(lexicon, sentence, passage, without_article(squad_index, r)) for r in data]
    x = np.vstack(pos + neg)
    y = np.asarray([1.0] * len(pos) + [0.0] * len(neg))
    answerable = fit(x, y, QUESTION_FEATURES, balanced=True)
    p = 1 / (1 + np.exp(-answerable.logits(x)))
    n_pos, n_seeds = len(pos), len(away)
    threshold = float(np.quantile(p[:n_pos], ANSWERED_SHARE))
    print(
        f"answerable: threshold {threshold:.3f}; "
        f"dev answered {np.mean(p[:n_pos] >= threshold):.3f}, "
        f"dev-on-seeds no_answer {np.mean(p[n_pos : n_pos + n_seeds] < threshold):.3f}, "
        f"dev-without-its-article no_answer {np.mean(p[n_pos + n_seeds :] < threshold):.3f}"
    )
    span_model = fit_trees(*span_data(squad_index, lexicon, data), span_features.SPAN_FEATURES)
    cross = cross_span_data(squad_index, lexicon, sentence, passage, data)
    cross_span = fit_trees(*cross, span_features.SPAN_FEATURES)
    return ReaderModels(
        passage, sentence, answerable, threshold, span_model, cross_span, CROSS_SPAN_WEIGHT
    )


if __name__ == "__main__":
    main()
