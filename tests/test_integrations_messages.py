"""The chat formatting core, on hand-made results: content, escaping, limits."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app.integrations.deliveries import Claims, Recent
from app.integrations.messages import (
    MARKDOWN_LIMIT,
    NO_ANSWER,
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_LIMIT,
    clip,
    markdown_escape,
    markdown_message,
    slack_message,
    sources,
)
from app.reader.answer import Answer, Citation, Result

BASE = "https://qa.example"


def answer(
    text: str,
    sentence: str,
    *,
    file: str = "a.txt",
    paragraph: int = 3,
    score: float = 0.9,
    passage: str | None = None,
) -> Answer:
    return Answer(
        text, sentence, score, Citation(file, paragraph, 0, len(text)), passage or sentence
    )


DENMARK = Result(
    "How much did Denmark pay Kosovo?",
    False,
    [
        answer("€200 million", "Denmark pays €200 million.", file="000.txt", paragraph=10),
        answer(
            "$230 million", "It brought in $230 million.", file="003.txt", paragraph=15, score=0.89
        ),
    ],
)


def test_slack_message_has_bold_answer_quoted_sentence_and_link() -> None:
    text = slack_message(DENMARK, BASE)["blocks"][0]["text"]["text"]
    assert text.splitlines() == [
        "*€200 million*",
        ">Denmark pays €200 million.",
        f"<{BASE}/documents/000.txt?hl=10#p10|000.txt ¶10>",
    ]


def test_disagreeing_sources_each_come_with_their_own_citation() -> None:
    message = slack_message(DENMARK, BASE)
    assert len(message["blocks"]) == 2
    assert "003.txt ¶15" in message["blocks"][1]["text"]["text"]
    assert message["text"] == "€200 million (000.txt ¶10); $230 million (003.txt ¶15)"
    markdown = markdown_message(DENMARK, BASE)
    assert f"[000.txt ¶10]({BASE}/documents/000.txt?hl=10#p10)" in markdown
    assert f"[003.txt ¶15]({BASE}/documents/003.txt?hl=15#p15)" in markdown


def test_sources_drop_repeated_and_much_weaker_answers() -> None:
    result = Result(
        "q",
        False,
        [
            answer("Kosovo", "Kosovo agreed.", score=0.6),
            answer("Kosovo", "Kosovo  agreed again.", paragraph=4, score=0.3),
            answer("Albania", "Albania too.", paragraph=5, score=0.1),
        ],
    )
    assert [s.answer for s in sources(result, BASE)] == ["Kosovo"]


def test_no_answer_says_so_plainly_with_the_closest_passage() -> None:
    result = Result(
        "zebra dreams?",
        True,
        [answer("x", "Nearby sentence.", score=0.2, passage="The whole closest paragraph.")],
    )
    message = slack_message(result, BASE)
    assert NO_ANSWER in message["blocks"][0]["text"]["text"]
    assert ">The whole closest paragraph." in message["blocks"][1]["text"]["text"]
    assert message["text"] == NO_ANSWER
    markdown = markdown_message(result, BASE)
    assert markdown.startswith(f"**{NO_ANSWER}")
    assert "> The whole closest paragraph." in markdown


def test_no_answer_without_any_passage() -> None:
    empty = Result("q", True, [])
    assert slack_message(empty, BASE)["text"] == NO_ANSWER
    assert markdown_message(empty, BASE) == f"**{NO_ANSWER}**"


def test_a_whole_sentence_does_not_stand_beside_short_answers() -> None:
    result = Result(
        "q",
        False,
        [
            answer("€200 million", "Denmark pays €200 million."),
            answer("Kosovo agreed.", "Kosovo agreed.", paragraph=4, score=0.89),
            answer("$230 million", "It brought in $230 million.", paragraph=5, score=0.88),
        ],
    )
    assert [s.answer for s in sources(result, BASE)] == ["€200 million", "$230 million"]


def test_markdown_escapes_underscores_only_at_word_edges() -> None:
    assert markdown_escape("_a_ file_name.txt") == r"\_a\_ file_name.txt"


def test_an_answer_that_is_the_whole_sentence_is_not_repeated() -> None:
    result = Result("q", False, [answer("Kosovo agreed.", "Kosovo agreed.")])
    assert slack_message(result, BASE)["blocks"][0]["text"]["text"].count("Kosovo agreed.") == 1
    assert markdown_message(result, BASE).count("Kosovo agreed.") == 1


def test_slack_escapes_its_control_characters() -> None:
    result = Result("q", False, [answer("<b>&", "A <b>bold</b> & risky <!channel> claim.")])
    text = slack_message(result, BASE)["blocks"][0]["text"]["text"]
    assert "*&lt;b&gt;&amp;*" in text
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text


def test_markdown_escapes_quoted_text_so_it_stays_literal() -> None:
    result = Result("q", False, [answer("*5*", "Up *5* per_cent [see](x) `code`.")])
    markdown = markdown_message(result, BASE)
    assert r"**\*5\***" in markdown
    assert r"> Up \*5\* per_cent \[see\](x) \`code\`." in markdown


def test_messages_stay_within_platform_limits() -> None:
    long = "word " * 5000
    result = Result(
        "q", False, [answer(long, long + ".", paragraph=n, score=0.9) for n in range(1, 80)]
    )
    message = slack_message(result, BASE)
    assert len(message["blocks"]) <= SLACK_MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SLACK_SECTION_LIMIT for b in message["blocks"])
    assert len(markdown_message(result, BASE)) <= MARKDOWN_LIMIT


@given(st.text(), st.integers(min_value=2, max_value=200))
def test_clip_never_exceeds_the_limit(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    assert clipped == text or clipped.endswith("…")


@given(st.text())
def test_markdown_escape_leaves_no_bare_specials(text: str) -> None:
    escaped = markdown_escape(text)
    assert escaped.replace("\\\\", "").replace("\\*", "").count("*") == 0


def test_recent_remembers_a_key_until_it_expires() -> None:
    now = [0.0]
    recent = Recent[int](ttl=10, size=100, clock=lambda: now[0])
    assert recent.remember("a", lambda: 1) == (1, True)
    assert recent.remember("a", lambda: 2) == (1, False)
    now[0] = 11
    assert recent.remember("a", lambda: 3) == (3, True)


def test_recent_is_bounded() -> None:
    recent = Recent[int](ttl=3600, size=3, clock=time.monotonic)
    for n in range(10):
        recent.remember(str(n), lambda n=n: n)
    assert len(recent) == 3
    assert recent.remember("9", lambda: -1) == (9, False)


def test_claims_are_shared_through_their_folder_and_expire(tmp_path: Path) -> None:
    mine, theirs = Claims(tmp_path, ttl=60), Claims(tmp_path, ttl=60)  # two workers
    assert mine.claim("Ev1") is True
    assert theirs.claim("Ev1") is False and mine.claim("Ev1") is False
    assert theirs.claim("Ev2") is True
    old = time.time() - 120
    for entry in tmp_path.iterdir():
        os.utime(entry, (old, old))
    later = Claims(tmp_path, ttl=60)  # sweeps on its first claim
    assert later.claim("Ev1") is True
    assert len(list(tmp_path.iterdir())) == 1
