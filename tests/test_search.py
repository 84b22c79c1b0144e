"""Anki's search language in srs: the parser, its errors, and parity with Anki's own search.

The judge is the anki library: a collection it holds (months of history,
every queue, nested decks and tags, text with wildcards' special
characters) is exported by Anki, imported into srs, and each query must
select the same cards in srs as ``Collection.find_cards`` does in Anki.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from srs.anki.import_ import import_package
from srs.models import Card
from srs.search import (
    All,
    Any_,
    Not,
    SearchError,
    Term,
    find_cards,
    glob_regex,
    like_pattern,
    parse,
)
from srs.settings import clock_for

from .anki_helpers import daytime_zone, export_apkg, local_timezone
from .test_anki_import import PARAMS, build_anki_collection, fresh_db


def decorate(col, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """More decks, nested tags, text worth searching, older cards, and what Anki keeps on cards it answered."""
    basic = col.models.by_name("Basic")
    texts = ["hot dog stand", "dog", "Dogs_x", "a*b star", "100% sure", "under_score", "hot  dog", "<i>dog</i> in italics", "cat and dog", "Catalog"]
    for i, text in enumerate(texts):
        note = col.new_note(basic)
        note["Front"], note["Back"] = text, f"answer {i}"
        note.tags = ["words"]
        col.add_note(note, col.decks.id("Words"))
    decks = {name: col.decks.id(name) for name in ("Imported::Deck::Child", "Other", "Other Deck", "Prep::Staff")}
    for i, cid in enumerate(col.db.list("select id from cards order by id")):
        for step, name in ((7, "Imported::Deck::Child"), (11, "Other"), (13, "Other Deck"), (17, "Prep::Staff")):
            if i % step == 3:
                col.set_deck([cid], decks[name])
                break
    for i, nid in enumerate(col.db.list("select id from notes order by id")):
        note = col.get_note(nid)
        if i % 4 == 0:
            note.tags.append("lang::en")
        if i % 9 == 0:
            note.tags.append("lang::de::formal")
        if i % 10 == 5:
            note.tags = []
        col.update_note(note)
    # some new cards were added weeks ago (Anki's card id is its creation time)
    for i, cid in enumerate(col.db.list("select id from cards where type = 0 and id not in (select cid from revlog) order by id")):
        if i % 2 == 0:
            col.db.execute("update cards set id = ? where id = ?", cid - (i + 1 + rng.randrange(3)) * 3 * 86_400_000, cid)
    # review cards are due ivl days after the day of their last answer, as Anki schedules them
    cutoff, today = col.sched.day_cutoff, col.sched.today
    start = cutoff - (today + 1) * 86_400
    for cid, ivl in col.db.all("select id, ivl from cards where type = 2"):
        last = col.db.scalar("select max(id) from revlog where cid = ? and ease > 0", cid)
        col.db.execute("update cards set due = ? where id = ?", (last // 1000 - start) // 86_400 + ivl, cid)
    # Anki counts every answer and every lapse on the card, and writes the preset's
    # decay and the last answer's time (seconds) into the data of a card it answers
    col.db.execute(
        "update cards set reps = (select count() from revlog r where r.cid = cards.id and r.ease > 0 and r.type < 4),"
        " lapses = (select count() from revlog r where r.cid = cards.id and r.ease = 1 and r.type = 1)"
    )
    for cid in col.db.list("select id from cards where data like '%\"s\":%'"):
        card = col.get_card(cid)
        decay = col.decks.config_dict_for_deck_id(card.current_deck_id())["fsrsParams6"][20]
        last = col.db.scalar("select max(id) from revlog where cid = ? and ease > 0", cid)
        col.db.execute("update cards set data = json_set(data, '$.decay', ?, '$.lrt', ?) where id = ?", decay, last // 1000, cid)


@pytest.fixture(scope="module")
def searched_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """An Anki collection and the srs collection its package became, at the same instant."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    zone = daytime_zone(now, dst=False)
    folder = tmp_path_factory.mktemp("search")
    with local_timezone(zone):
        col, _ = build_anki_collection(folder, zone, now, cards=240, params=PARAMS, variety=True, age_days=400)
        decorate(col, random.Random(11))
        package = export_apkg(col, folder / "search.apkg")
        db = fresh_db(folder / "srs.db", zone)
        with db.session(write=True) as session:
            import_package(session, package, now)
        yield {"col": col, "db": db, "now": now, "zone": zone}
        db.close()
        col.close()


# Every operator the README documents, alone and combined.
PARITY_QUERIES = [
    "dog", "DOG", '"hot dog"', "d_g", "d*g", "hot dog", "a\\*b", "under\\_score", "100%",
    "front:dog", "front:*dog*", "back:answer*", "text:*capital*", "Front:d_g",
    "deck:Imported", "deck:imported::deck::child", "deck:Other*", "deck:Other", "-deck:Other*", "deck:*Staff",
    "tag:lang", "tag:lang::de", "tag:t*", "tag:none", "-tag:basic",
    "is:new", "is:learn", "is:review", "is:due", "is:suspended", "is:buried", "is:review -is:due",
    "prop:ivl>=10", "prop:ivl<5", "prop:ivl=1", "prop:due=0", "prop:due>5", "prop:due<=2", "prop:due!=0",
    "prop:reps>5", "prop:reps=3", "prop:lapses>=1", "prop:lapses=0",
    "prop:r<0.9", "prop:r>0.95", "prop:s>20", "prop:s<=5", "prop:d>0.5", "prop:d<0.3",
    "rated:7", "rated:30:1", "rated:30:3", "added:1", "added:10", "introduced:120", "introduced:200",
    "dog or cat", "dog OR cat", "(tag:t1 or tag:t2) is:review", "-tag:basic prop:ivl>3",
    "deck:Other* (is:new or is:suspended)", "-(is:review or is:new)", "tag:basic and prop:r<0.95",
]


def test_searches_select_what_anki_selects(searched_world: dict) -> None:  # type: ignore[type-arg]
    """Each query finds the same cards in srs as in Anki (by note guid and card ord); most find some but not all."""
    col, db, now = searched_world["col"], searched_world["db"], searched_world["now"]
    with local_timezone(searched_world["zone"]):
        anki_keys = {cid: (guid, ord_) for cid, guid, ord_ in col.db.all("select c.id, n.guid, c.ord from cards c join notes n on n.id = c.nid")}
        with db.session() as session:
            ours = {c.id: (c.note.guid, c.ord) for c in session.scalars(select(Card))}
            assert sorted(ours.values()) == sorted(anki_keys.values())
            clock = clock_for(session)
            discriminating = 0
            for query in PARITY_QUERIES:
                want = {anki_keys[c] for c in col.find_cards(query)}
                got = {ours[c] for c in find_cards(session, query, clock, now)}
                assert got == want, (query, len(got - want), len(want - got))
                discriminating += 0 < len(want) < len(anki_keys)
    assert len(PARITY_QUERIES) >= 30 and discriminating >= len(PARITY_QUERIES) - 2


def test_kind_and_malformed_queries(searched_world: dict) -> None:  # type: ignore[type-arg]
    """kind: is srs's own term; a malformed query is a SearchError naming the place and the problem."""
    db, now = searched_world["db"], searched_world["now"]
    with db.session() as session:
        clock = clock_for(session)
        assert len(find_cards(session, "kind:anki", clock, now)) == session.query(Card).count()
        assert find_cards(session, "kind:question", clock, now) == []
        for query, message in [
            ("(dog", "never closed"), ("dog)", "unexpected ')'"), ('"dog', "unclosed quote"), ("prop:ivl>x", "prop:NAME"),
            ("prop:foo=1", "prop:NAME"), ("is:sleepy", "not a state"), ("kind:poem", "not a kind"), ("rated:0", "at least 1"),
            ("rated:2:7", "1, 2, 3 or 4"), ("dog or", "ends where a term"), ("flag:1", "not supported"), ("prop:reps>1.5", "whole number"),
            ("x" * 2001, "longer than"),
        ]:
            with pytest.raises(SearchError, match=re.escape(message)):
                find_cards(session, query, clock, now)


def test_parser_builds_the_tree() -> None:
    assert parse("") == All(())
    assert parse("a b") == All((Term("", "a", 0), Term("", "b", 2)))
    assert parse("a or -b") == Any_((Term("", "a", 0), Not(Term("", "b", 6))))
    assert parse('(deck:"My deck" or tag:x) -is:new') == All(
        (Any_((Term("deck", "My deck", 1), Term("tag", "x", 19))), Not(Term("is", "new", 27)))
    )
    assert parse("a and b or c") == Any_((All((Term("", "a", 0), Term("", "b", 6))), Term("", "c", 11)))
    assert parse('"or"') == Term("", "or", 0)  # quoted, or is a word
    assert parse("front\\:x") == Term("", "front\\:x", 0)  # an escaped colon is text


def test_globs() -> None:
    assert like_pattern("a*b_c%d") == "a%b_c\\%d"
    assert like_pattern("a\\*b\\_c") == "a*b\\_c"
    assert glob_regex("a*b_c.") == "a.*b.c\\."
    assert glob_regex("x*", "\\S") == "x\\S*"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.one_of(st.sampled_from(list('ab -()":*_\\or')), st.characters()), max_size=40))
def test_any_text_parses_or_says_why(query: str) -> None:
    """The parser never fails with anything but SearchError, and every word it keeps comes from the query."""
    try:
        tree = parse(query)
    except SearchError as exc:
        assert "position" in str(exc) or "longer" in str(exc) or "ends where" in str(exc)
        return

    def terms(node: object) -> Iterator[Term]:
        if isinstance(node, Term):
            yield node
        elif isinstance(node, Not):
            yield from terms(node.node)
        elif isinstance(node, All | Any_):
            for child in node.nodes:
                yield from terms(child)

    for term in terms(tree):
        assert 0 <= term.position < len(query)
        assert term.key == "" or term.key.lower() == term.key
