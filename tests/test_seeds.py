"""The seed questions in ../shared/eval/seeds: gold paragraphs among the top 3, no_answer when
the archive has none."""

import json

import pytest

from tests.conftest import SHARED

QUESTIONS = SHARED / "eval" / "seeds" / "questions.jsonl"
CASES = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", [c for c in CASES if c["answerable"]], ids=lambda c: c["id"])
def test_answerable_seed_questions_cite_a_gold_paragraph_in_the_top_3(client, case):
    body = client.post("/ask", json={"question": case["question"], "top_k": 3}).json()
    assert not body["no_answer"]
    cited = [(a["citation"]["file"], a["citation"]["paragraph"]) for a in body["answers"]]
    gold = {tuple(source) for source in case["sources"]}
    assert gold & set(cited), f"{case['id']}: cited {cited}, gold {gold}"


@pytest.mark.parametrize("case", [c for c in CASES if not c["answerable"]], ids=lambda c: c["id"])
def test_unanswerable_seed_questions_get_no_answer(client, case):
    body = client.post("/ask", json={"question": case["question"]}).json()
    assert body["no_answer"] is True
    assert body["answers"], "the closest passages are still listed"


def test_a_question_from_outside_the_archive_gets_no_confident_answer(client):
    body = client.post("/ask", json={"question": "Who won the 2022 World Cup?"}).json()
    assert body["no_answer"] is True
