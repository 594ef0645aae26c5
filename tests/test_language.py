"""Sentences, entities, noun phrases and parse subtrees, from the real spaCy pipeline."""

from app.language import MAX_SUBTREE_WORDS, analyse

TEXT = (
    "A problem is regarded as inherently difficult if its solution requires significant "
    "resources. Denmark paid Kosovo about 200 million euros in 2022."
)


def test_subtrees_give_the_clause_an_answer_often_is():
    (found,) = analyse([(1000, TEXT)])
    spans = {TEXT[s - 1000 : e - 1000]: label for s, e, label in found.subtrees}
    assert spans["its solution requires significant resources"] == "SUBTREE_VERB"
    assert spans["significant resources"] == "SUBTREE_NOUN"
    assert "Kosovo" in spans


def test_subtrees_are_trimmed_short_and_inside_the_text():
    (found,) = analyse([(1000, TEXT)])
    assert len(found.subtrees) == len({(s, e) for s, e, _ in found.subtrees})
    for start, end, _ in found.subtrees:
        text = TEXT[start - 1000 : end - 1000]
        assert 1000 <= start < end <= 1000 + len(TEXT)
        assert text == text.strip() and text[-1] not in ".,;"
        assert text.split()[0].lower() not in {"the", "a", "if", "of", "in"}
        assert len(text.split()) <= MAX_SUBTREE_WORDS
