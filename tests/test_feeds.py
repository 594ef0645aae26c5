"""Feeds to items: JSON Lines, RSS 2.0 and Atom; bad lines reported by number, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.archive.feeds import parse_feed
from app.errors import BadFeed

FEEDS = Path(__file__).parent / "data" / "feeds"


def _parse(name: str):
    return parse_feed((FEEDS / name).read_bytes(), name=name)


def test_json_lines_give_one_item_a_line_named_by_id_or_url():
    feed = _parse("wire.jsonl")
    assert [(i.where, i.key) for i in feed.items] == [
        ("line 1", "nws-2025-0412-ferry"),
        ("line 2", "https://wire.example/2025/05/20/ferry-delay"),
        ("line 6", "nws-2025-0601-ferry"),
    ]
    first = feed.items[0]
    assert first.meta.title == "Two shipyards bid for the harbour ferry"
    assert first.meta.published == "2025-04-12T09:15:00+01:00"
    assert (first.meta.authors, first.meta.section) == (("Tom Ellery",), "Local News")
    assert first.body.split("\n\n")[1].startswith("The Dutch bid is priced at £13.8 million")


def test_a_json_line_with_html_keeps_its_paragraphs():
    delay = _parse("wire.jsonl").items[1]
    assert delay.body == (
        "The council has put off its vote on the electric ferry until June.\n\n"
        "Opposition members want more time to compare the two bids from the shipyards."
    )
    assert delay.meta.authors == ("Priya Natarajan", "Tom Ellery")


def test_bad_lines_are_reported_by_number_and_bad_fields_dropped():
    feed = _parse("wire.jsonl")
    assert feed.skipped == [
        ("line 3", "not JSON (Unterminated string starting at, column 31)"),
        ("line 4", "no 'id' or 'url' to name it by"),
    ]
    assert feed.warnings == ["line 6: field 'published': 'yesterday' is not an ISO 8601 date"]
    assert feed.items[2].meta.published is None


def test_rss_items_carry_the_channel_as_their_outlet():
    feed = _parse("courier.rss")
    lifeboat, bakery = feed.items
    assert lifeboat.key == "courier-48213"
    assert lifeboat.meta.source == "The Dockside Courier"
    assert lifeboat.meta.published == "2025-06-03T06:45:00+00:00"  # 07:45 +0100, in UTC
    assert lifeboat.meta.updated is None  # feedparser's copy of pubDate is no update
    assert (lifeboat.meta.authors, lifeboat.meta.section) == (("Marta Quinn",), "Local News")
    assert lifeboat.body.startswith("The volunteer lifeboat crew launched twice")  # not the summary
    assert bakery.key == bakery.meta.url
    assert bakery.body.startswith("A new bakery has opened in the former bank building")
    assert feed.skipped == [("item 3", "no 'id' or 'url' to name it by")]


def test_atom_entries_keep_their_dates_and_content():
    kosovo, bill = _parse("wire.atom").items
    assert kosovo.key == "tag:wire.example,2022-12-20:kosovo-denmark"
    assert kosovo.meta.url == "https://wire.example/world/2022/12/20/kosovo-denmark-prison-deal"
    assert (kosovo.meta.published, kosovo.meta.updated) == (
        "2022-12-20T14:05:00+00:00",
        "2022-12-21T08:00:00+00:00",
    )
    assert kosovo.meta.authors == ("Lena Sørensen",)
    assert kosovo.body.split("\n\n") == [
        "Kosovo's parliament approved a deal on Tuesday to rent 300 prison places to Denmark.",
        "Denmark will pay Kosovo €200 million over ten years under the agreement.",
    ]
    assert bill.body.startswith("Denmark's parliament passed the law")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"id,title\n1,x\n", "neither JSON Lines"),
        (b"<html><body><p>A web page</p></body></html>", "not an RSS or Atom feed"),
        (b'{"id": "a", "text": "caf\xe9"}', "not UTF-8"),
    ],
)
def test_what_is_not_a_feed_is_refused_with_the_reason(data: bytes, message: str):
    with pytest.raises(BadFeed, match=message):
        parse_feed(data, name="upload")
