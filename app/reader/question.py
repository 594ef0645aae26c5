"""A question, read once: its words, stems and word pairs, how it asks, what it asks for.

Retrieval, evidence and span scoring all take the one `Question` that `parse` returns, so
nothing downstream splits or stems the question again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bm25s.stopwords import STOPWORDS_EN

from app.reader import words

# BM25 counts the archive's chunks in bm25s's tokens (its own stopword list, words of two or
# more letters); the question's BM25 terms are cut the same way, or it would miss them.
_BM25_WORD = re.compile(r"(?u)\b\w\w+\b")
_BM25_STOPWORDS = frozenset(STOPWORDS_EN)

# How the question asks, first match wins; the span model crosses the span's label with it.
ASKS = (
    ("how_many", re.compile(r"\bhow (many|much)\b", re.I)),
    ("how_long", re.compile(r"\bhow (long|old|far|large|big|tall|high)\b", re.I)),
    (
        "when",
        re.compile(r"\b(when|what year|which year|what date|what century|what decade)\b", re.I),
    ),
    ("who", re.compile(r"\b(who|whom|whose)\b", re.I)),
    ("where", re.compile(r"\bwhere\b", re.I)),
    ("why", re.compile(r"\bwhy\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
    ("which", re.compile(r"\bwhich\b", re.I)),
    ("what", re.compile(r"\bwhat\b", re.I)),
)
ASK_NAMES = (*(name for name, _ in ASKS), "other")

# The entity types an answer may have, by how the question asks, as spaCy's OntoNotes labels.
# Finer than ASKS ("how much money" is MONEY, "how much" may be a quantity): both are features
# the models were trained with, so both stay.
_TYPE_RULES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), frozenset(labels.split()))
    for pattern, labels in (
        (r"\b(what|which) (percentage|percent|share|proportion)\b", "PERCENT"),
        (r"\bhow much\b.*\b(money|cost|pay|paid|worth|spend|spent|price|budget|fund)", "MONEY"),
        (r"\bhow much\b", "MONEY QUANTITY CARDINAL PERCENT"),
        (r"\bhow (many|large|big|tall|high|far|old)\b", "CARDINAL QUANTITY DATE"),
        (r"\bhow long\b", "DATE TIME QUANTITY CARDINAL"),
        (
            r"\b(when|what year|which year|what date|what century|what decade|what day)\b",
            "DATE TIME",
        ),
        (r"\b(what|which) (country|city|state|nation|region|province)\b", "GPE LOC"),
        (r"\bwhere\b", "GPE LOC FAC ORG"),
        (r"\b(who|whom|whose)\b", "PERSON ORG NORP"),
        (r"\b(what|which) (company|organization|organisation|agency|team|group|outlet)\b", "ORG"),
    )
)
_FOCUS = re.compile(r"\b(?:what|which)\s+(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    text: str
    words: frozenset[str]  # plain lower-case content words, to meet a sentence's raw text
    terms: frozenset[str]  # their stems
    bigrams: frozenset[tuple[str, str]]  # neighbouring stems
    bm25_terms: tuple[str, ...]  # BM25's stemmed tokens, in order, repeats kept
    ask: str  # one of ASK_NAMES
    types: frozenset[str]  # entity labels the answer may have; empty when the kind is open
    focus: str | None  # the noun a what/which question asks for: "which river" -> "river"


def parse(text: str) -> Question:
    content = words.content_words(text)
    stems = words.stemmer.stemWords(content)
    lexical = [w for w in _BM25_WORD.findall(text.lower()) if w not in _BM25_STOPWORDS]
    focus = _FOCUS.search(text)
    return Question(
        text=text,
        words=frozenset(content),
        terms=frozenset(stems),
        bigrams=words.pairs(stems),
        bm25_terms=tuple(words.stemmer.stemWords(lexical)),
        ask=asks(text),
        types=answer_types(text),
        focus=focus.group(1).lower() if focus else None,
    )


def asks(text: str) -> str:
    return next((name for name, pattern in ASKS if pattern.search(text)), "other")


def answer_types(text: str) -> frozenset[str]:
    return next((labels for pattern, labels in _TYPE_RULES if pattern.search(text)), frozenset())
