"""Near-duplicate paragraphs in a corpus, as indexing finds them (no model: parsed paragraphs
only), with seeded samples of grouped pairs and of near misses to check by hand.

    python -m bench.duplicates [CORPUS_DIR] [--sample 30] [--near-miss 15] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from app.archive import duplicates
from app.archive.ingest import once_each, read_corpus
from bench.common import ROOT

BBC = ROOT.parent / "shared" / "eval" / "bbc-news" / "corpus"
Place = tuple[str, int]


def paragraphs(corpus: Path) -> tuple[list[Place], list[str], dict[str, int]]:
    """The body paragraphs indexing would take, once per text, and the corpus counts."""
    articles, skipped = read_corpus(corpus)
    for name, reason in skipped:
        print(f"skipped {name}: {reason}")
    kept, copies = once_each(articles)
    places = [(a.file, p.number) for a in kept for p in a.body]
    texts = [p.text for a in kept for p in a.body]
    counts = {
        "files": len(articles) + len(skipped),
        "skipped": len(skipped),
        "exact_copy_files": sum(len(c) for c in copies.values()),
        "paragraphs": len(texts),
    }
    return places, texts, counts


def hashed(texts: list[str], step: int = 2000) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), step):
        parts.append(duplicates.signatures(texts[start : start + step]))
        print(f"  hashed {min(start + step, len(texts))}/{len(texts)}", file=sys.stderr)
    return np.vstack(parts)


def show(title: str, pairs: list[tuple[int, int, float]], places: list[Place], texts: list[str]):
    print(f"\n## {title}: {len(pairs)}")
    for n, (i, j, score) in enumerate(pairs, start=1):
        same = "same figures" if duplicates.same_figures(texts[i], texts[j]) else "figures differ"
        print(
            f"\n[{n}] J={score:.2f} ({same}) {places[i][0]} ¶{places[i][1]} | "
            f"{places[j][0]} ¶{places[j][1]}"
        )
        print(f"  A: {texts[i]}\n  B: {texts[j]}")


def joins(pair: tuple[int, int, float], texts: list[str]) -> bool:
    i, j, score = pair
    return score >= duplicates.DEFAULT.threshold and duplicates.same_figures(texts[i], texts[j])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=BBC)
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--near-miss", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = duplicates.DEFAULT
    began = time.perf_counter()
    places, texts, counts = paragraphs(args.corpus)
    sigs = hashed(texts)
    hashed_s = time.perf_counter() - began
    scored = duplicates.scored_pairs(texts, sigs)
    found = duplicates.groups(texts, sigs)
    grouped_s = time.perf_counter() - began - hashed_s
    collapsed = sum(len(g) - 1 for g in found)
    for key, value in counts.items():
        print(f"{key}: {value}")
    print(f"settings: {settings}")
    print(
        f"paragraphs too short to group (< {settings.min_words} words): "
        f"{sum(not duplicates.long_enough(t) for t in texts)}"
    )
    print(f"LSH candidate pairs: {len(scored)}")
    print(
        f"groups: {len(found)}; paragraphs in them: {sum(map(len, found))}; "
        f"collapsed into another (answers saved): {collapsed}"
    )
    sizes = Counter(len(g) for g in found)
    print("group sizes: " + ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())))
    print(f"seconds: hashing {hashed_s:.1f} (parsing included), LSH and checks {grouped_s:.1f}")
    rng = random.Random(args.seed)
    pairs = [p for p in scored if joins(p, texts)]
    print(f"pairs that join (J >= {settings.threshold}, same figures): {len(pairs)}")
    show(
        "grouped pairs, a seeded sample",
        rng.sample(pairs, min(args.sample, len(pairs))),
        places,
        texts,
    )
    low = settings.threshold - 0.15
    misses = [p for p in scored if not joins(p, texts) and p[2] >= low]
    show(
        f"near misses (J >= {low:.2f}, not grouped), a seeded sample",
        rng.sample(misses, min(args.near_miss, len(misses))),
        places,
        texts,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
