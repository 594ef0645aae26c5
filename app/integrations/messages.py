"""Results as chat messages: Slack Block Kit and Markdown (Mattermost, Teams), within limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app import citations
from app.answers import paragraph_url
from app.reader.answer import Answer, Citation, Result
from app.sources import plain, standing

NO_ANSWER = "Nothing in the archive answers that."
UNAVAILABLE = "The archive is not available right now; please try again in a few minutes."
TOO_SLOW = "That is taking longer than expected; please ask again in a moment."
EXAMPLE = "How much did Denmark pay Kosovo?"

SLACK_SECTION_LIMIT = 3000
SLACK_MAX_BLOCKS = 50
# Three quoted sentences of this size stay well inside every platform's post limit.
QUOTE_LIMIT = 900
MARKDOWN_LIMIT = 4000  # Mattermost's classic post limit; Teams allows more
# `_` inside a word (file_name, per_cent) is literal in CommonMark; only its edges need a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>~|]|(?<!\w)_|_(?!\w))")


@dataclass(frozen=True)
class Source:
    """One answer as shown in chat: what to say and where it links."""

    answer: str
    quote: str
    label: str
    url: str
    corrected: str | None = None
    also_in: str | None = None
    citation: Citation | None = None  # where the answer is, for its feedback buttons
    score: float = 0.0


def sources(result: Result, base: str, *, limit: int = 3) -> list[Source]:
    """The answers to show: the best, then distinct answers that score about as well."""
    if not result.answers:
        return []
    if result.no_answer:
        return [_source(result.answers[0], base, quote=result.answers[0].passage)]
    shown = standing(result.answers, limit=limit)
    return [_source(a, base, quote=a.sentence) for a in shown]


def _source(answer: Answer, base: str, *, quote: str) -> Source:
    c = answer.citation
    return Source(
        answer=clip(plain(answer.answer), QUOTE_LIMIT),
        quote=clip(plain(quote), QUOTE_LIMIT),
        label=citations.label(c),
        url=paragraph_url(c.file, c.paragraph, base),
        corrected=citations.corrected_line(answer),
        also_in=citations.also_in_line(answer),
        citation=c,
        score=answer.score,
    )


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word where possible."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


FILTERS_HELP = (
    'Filters may follow the question: section:World source:"Daily Ledger" '
    "after:2024-01-01 before:2025-01-01 as_of:2025-03-01 (after is inclusive, before is not), "
    "and dates:any to leave the question's dates as words."
)


def usage(how: str) -> str:
    """The hint for an empty question: `how` says how to ask on this platform."""
    return f"{how}, e.g. “{EXAMPLE}”. {FILTERS_HELP}"


# Slack


def slack_escape(text: str) -> str:
    """Slack's three control characters; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_message(result: Result, base: str) -> dict[str, Any]:
    """`blocks` for the eye and `text` for notifications, as chat.postMessage takes them."""
    found = sources(result, base)
    blocks = [_slack_section(s, bold=not result.no_answer) for s in found]
    if result.no_answer:
        intro = f"{NO_ANSWER} The closest passage:" if found else NO_ANSWER
        blocks.insert(0, _section(f"*{slack_escape(intro)}*"))
    return {"blocks": blocks[:SLACK_MAX_BLOCKS], "text": clip(_summary(result, found), 3000)}


def slack_text(text: str) -> dict[str, Any]:
    """A plain message (usage, errors) in the same shape as slack_message."""
    return {"blocks": [_section(slack_escape(text))], "text": text}


def _slack_section(source: Source, *, bold: bool) -> dict[str, Any]:
    lines = []
    if bold and source.answer != source.quote:
        lines.append(f"*{slack_escape(source.answer)}*")
    lines.append(f">{slack_escape(source.quote)}")
    label = slack_escape(source.label).replace("|", "¦")
    lines.append(f"<{source.url}|{label}>")
    if source.corrected:
        lines.append(f"_{slack_escape(source.corrected)}_")
    if source.also_in:
        lines.append(slack_escape(source.also_in))
    return _section("\n".join(lines))


def _section(mrkdwn: str) -> dict[str, Any]:
    text = clip(mrkdwn, SLACK_SECTION_LIMIT)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _summary(result: Result, found: list[Source]) -> str:
    if result.no_answer or not found:
        return NO_ANSWER
    return "; ".join(f"{s.answer} ({s.label})" for s in found)


# Markdown: Mattermost and Teams


def markdown_escape(text: str) -> str:
    """Backslash the characters that would turn quoted article text into formatting."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_message(result: Result, base: str) -> str:
    found = sources(result, base)
    parts = [_markdown_source(s, bold=not result.no_answer) for s in found]
    if result.no_answer:
        parts.insert(0, f"**{NO_ANSWER} The closest passage:**" if found else f"**{NO_ANSWER}**")
    return clip("\n\n".join(parts), MARKDOWN_LIMIT)


def _markdown_source(source: Source, *, bold: bool) -> str:
    lines = []
    if bold and source.answer != source.quote:
        lines.append(f"**{markdown_escape(source.answer)}**")
    lines.append(f"> {markdown_escape(source.quote)}")
    lines.append("")  # ends the quote, so the link is not inside it
    label = source.label.replace("[", "(").replace("]", ")")
    lines.append(f"[{label}]({source.url})")
    if source.corrected:
        lines.append(f"*{markdown_escape(source.corrected)}*")
    if source.also_in:
        lines.append(markdown_escape(source.also_in))
    return "\n".join(lines)
