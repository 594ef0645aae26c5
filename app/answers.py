"""The /ask response as JSON: each answer with its citation (headline, outlet, dates, link),
its corrections and copies, and how the question's dates were read."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from app.archive.revisions import Correction
from app.reader.answer import Answer, Result
from app.reader.scope import Scope


class CitationOut(BaseModel):
    file: str
    paragraph: int = Field(description="The Nth blank-line-separated block of the file, from 1.")
    start: int = Field(description="Character offset of `answer` in the file's text.")
    end: int
    url: str = Field(description="Link to the paragraph in the document view.")
    title: str = Field(description="The headline (front matter, the page, or the first line).")
    source: str | None = Field(None, description="The outlet that published it.")
    published: str | None = Field(None, description="ISO 8601 date or datetime, as given.")
    updated: str | None = None
    author: str | None = Field(None, description="The byline; several names comma-separated.")
    section: str | None = None
    source_url: str | None = Field(None, description="The original story's canonical link.")


class CorrectedOut(BaseModel):
    date: str = Field(description="YYYY-MM-DD, UTC.")
    time: str = Field(description="ISO 8601, UTC.")
    note: str


class AlsoInOut(BaseModel):
    file: str
    paragraph: int
    title: str
    published: str | None = None


class AnswerOut(BaseModel):
    answer: str = Field(description="Verbatim: the file's text[start:end].")
    sentence: str = Field(description="The verbatim sentence that contains the answer.")
    score: float = Field(ge=0, le=1)
    citation: CitationOut
    passage: str = Field(description="The whole paragraph.")
    corrected: CorrectedOut | None = Field(
        None, description="Set when a correction changed this paragraph (its words are quoted)."
    )
    also_in: list[AlsoInOut] = Field(
        default_factory=list,
        description="The same paragraph, near word for word, elsewhere; not answered again.",
    )
    newest: bool = Field(False, description="From the latest article, when answers' differ.")


class ScopeOut(BaseModel):
    """How the question's date words were read."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    published_after: date | None
    published_before: date | None
    prefer: Literal["newest"] | None
    from_: str = Field(alias="from", description="The words it was read from.")


class AskResponse(BaseModel):
    question: str
    no_answer: bool
    scope: ScopeOut | None = Field(None, description="Dates read; dates='any' drops it.")
    answers: list[AnswerOut] = Field(description="Best first; candidates when no_answer.")


def paragraph_url(file: str, paragraph: int, base: str = "") -> str:
    return f"{base.rstrip('/')}/documents/{quote(file)}?hl={paragraph}#p{paragraph}"


def answer_out(answer: Answer, base: str = "") -> AnswerOut:
    c = answer.citation
    return AnswerOut(
        answer=answer.answer,
        sentence=answer.sentence,
        score=round(answer.score, 4),
        citation=CitationOut(
            file=c.file,
            paragraph=c.paragraph,
            start=c.start,
            end=c.end,
            url=paragraph_url(c.file, c.paragraph, base),
            title=c.title,
            source=c.meta.source,
            published=c.meta.published,
            updated=c.meta.updated,
            author=c.meta.author,
            section=c.meta.section,
            source_url=c.meta.url,
        ),
        passage=answer.passage,
        corrected=_corrected(answer.corrected),
        also_in=[AlsoInOut(**asdict(a)) for a in answer.also_in],
        newest=answer.newest,
    )


def scope_out(scope: Scope | None) -> ScopeOut | None:
    if scope is None:
        return None
    # "from" is a Python keyword, so the field is from_ and validated by its alias.
    return ScopeOut.model_validate(
        {
            "published_after": scope.published_after,
            "published_before": scope.published_before,
            "prefer": scope.prefer,
            "from": scope.phrase,
        }
    )


def _corrected(mark: Correction | None) -> CorrectedOut | None:
    return CorrectedOut(date=mark.date, time=mark.time, note=mark.note) if mark else None


def ask_response(result: Result, base: str = "") -> AskResponse:
    return AskResponse(
        question=result.question,
        no_answer=result.no_answer,
        scope=scope_out(result.scope),
        answers=[answer_out(a, base) for a in result.answers],
    )
