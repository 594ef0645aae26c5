"""Words as the reader counts them: content words, their stems, neighbouring pairs.

Questions (app/reader/question.py) and the archive's sentences (app/reader/lexicon.py) are
both cut here, so a question's words meet a sentence's on the same terms. The trained models'
features are counted in these words: a change here means retraining (train/train_reader.py).
"""

from __future__ import annotations

import re

import Stemmer

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a an and are as at be by did do does for from had has have how in is it its of on or
    that the their this to was were what when where which who whom whose why with would
    could should can will much many""".split()  # noqa: SIM905
)
stemmer = Stemmer.Stemmer("english")


def content_words(text: str) -> list[str]:
    """Lower-case words in order, stopwords left out."""
    # findall and map: the same words as a generator over match objects, at half the cost
    # (this runs over every sentence when an index is loaded).
    return [w for w in map(str.lower, WORD.findall(text)) if w not in STOPWORDS]


def stems(text: str) -> list[str]:
    """Stemmed content words in order: 'paid' meets 'pay', 'the' meets nothing."""
    return stemmer.stemWords(content_words(text))


def terms(text: str) -> frozenset[str]:
    return frozenset(stems(text))


def pairs(words: list[str]) -> frozenset[tuple[str, str]]:
    """Neighbouring words: a question that reuses a phrase of the passage."""
    return frozenset(zip(words, words[1:], strict=False))


def bigrams(text: str) -> frozenset[tuple[str, str]]:
    return pairs(stems(text))
