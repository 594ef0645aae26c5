"""A question is read once: words, stems, pairs, kind and answer types, the same as the archive's
sentences and chunks are cut."""

from __future__ import annotations

import json

import bm25s
import pytest
import Stemmer

from app.reader.question import asks, parse
from app.reader.words import bigrams, stems
from tests.conftest import SHARED

QUESTIONS = SHARED / "eval" / "squad-v1.1-dev" / "dev.jsonl"


def _dev_questions(n: int = 2000) -> list[str]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line)["question"] for line in lines]


def test_a_question_parses_into_words_stems_and_pairs():
    q = parse("How much did Denmark pay Kosovo for prisoners?")
    assert q.words == {"denmark", "pay", "kosovo", "prisoners"}
    assert q.terms == {"denmark", "pay", "kosovo", "prison"}
    assert ("pay", "kosovo") in q.bigrams and ("denmark", "kosovo") not in q.bigrams
    assert q.ask == "how_many"
    assert q.types == {"MONEY"}
    assert q.focus is None


def test_the_kind_of_question_is_read_from_its_question_word():
    assert asks("When did it happen?") == "when"
    assert asks("Name the deal.") == "other"
    assert parse("Which river flows through Paris?").focus == "river"
    assert parse("Who signed it?").types == {"PERSON", "ORG", "NORP"}
    assert parse("Name the deal.").types == frozenset()


def test_question_terms_are_the_sentence_terms_of_the_same_text():
    for text in _dev_questions(500):
        q = parse(text)
        assert q.terms == frozenset(stems(text)), text
        assert q.bigrams == bigrams(text), text


@pytest.mark.parametrize("text", ["", "?!", "a an the", "Zürich's 2022 élection?"])
def test_bm25_terms_are_what_bm25s_makes_of_odd_questions(text):
    assert list(parse(text).bm25_terms) == _bm25s_tokens(text)


def test_bm25_terms_are_what_bm25s_makes_of_the_chunks_words():
    """BM25 indexes chunks with bm25s's tokenizer; the question's terms must be cut alike."""
    for text in _dev_questions():
        assert list(parse(text).bm25_terms) == _bm25s_tokens(text), text


def _bm25s_tokens(text: str) -> list[str]:
    tokenizer = bm25s.tokenization.Tokenizer(stopwords="en", stemmer=Stemmer.Stemmer("english"))
    ids = tokenizer.tokenize([text], return_as="ids", show_progress=False)[0]
    vocab = {i: stem for stem, i in tokenizer.get_vocab_dict().items()}
    return [vocab[i] for i in ids if vocab[i]]
