"""Importing from Anki keeps the schedule Anki gave each card; exporting gives it back unchanged.

Judged with the anki library: a collection it writes (every queue: review
cards due on varied days, relearning within the day and across days,
suspended and buried cards, new cards in Anki's order) goes through
``srs import`` and ``srs export`` into a fresh Anki collection, in a zone with
daylight saving and one without, with default and with custom FSRS
parameters and retention. Every card not answered in srs has the same due
day, interval, queue, type and steps left, and the same revlog rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from srs.anki.export import export_package
from srs.anki.import_ import import_package
from srs.domain import Rating
from srs.models import Card, Note, Review
from srs.review import Limits, ReviewSession
from srs.settings import clock_for

from .anki_helpers import (
    anki_collection,
    daytime_zone,
    export_apkg,
    import_apkg,
    local_timezone,
)
from .test_anki_import import PARAMS, build_anki_collection, fresh_db


@pytest.fixture(scope="module", params=[("dst-zone", "custom"), ("fixed-zone", "default")])
def scheduled_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """An Anki collection with cards in every queue, exported by Anki in both package layouts."""
    where, params = request.param
    now = datetime.now(timezone.utc).replace(microsecond=0)
    zone = daytime_zone(now, dst=where == "dst-zone")
    folder = tmp_path_factory.mktemp("anki")
    with local_timezone(zone):
        col, _ = build_anki_collection(folder, zone, now, cards=240, params=PARAMS if params == "custom" else None, variety=True)
        if params == "custom":  # one learning step, as many users set: the history was answered under two
            conf = col.decks.config_dict_for_deck_id(col.decks.id("Imported::Deck"))
            conf["new"]["delays"] = [10.0]
            col.decks.update_config(conf)
        packages = {layout: export_apkg(col, folder / f"{layout}.apkg", legacy=layout == "legacy") for layout in ("modern", "legacy")}
        yield {"zone": zone, "now": now, "col": col, "packages": packages, "folder": folder}
        col.close()


def anki_cards(col) -> dict[tuple[str, int], dict]:  # type: ignore[no-untyped-def,type-arg]
    """Each card's schedule, its due day counted from today, and its revlog rows, by (guid, ord)."""
    today = col.sched.today
    out = {}
    for cid, guid, ord_, kind, queue, due, ivl, left, reps, lapses in col.db.all(
        "select c.id, n.guid, c.ord, c.type, c.queue, c.due, c.ivl, c.left, c.reps, c.lapses from cards c join notes n on n.id = c.nid"
    ):
        day_based = queue in (2, 3) or (queue < 0 and (kind == 2 or (kind in (1, 3) and due < 1_000_000_000)))
        out[guid, ord_] = {
            "type": kind, "queue": queue, "ivl": ivl, "left": left % 1000 if kind in (1, 3) else 0,
            "reps": reps, "lapses": lapses,
            "due": due - today if day_based else due,
            "revlog": sorted(
                tuple(row) for row in col.db.all(
                    "select id, ease, ivl, lastIvl, factor, time, type from revlog where cid = ? and ease > 0 and type < 3", cid
                )
            ),
        }
    return out


def _comparable(card: dict) -> tuple:  # type: ignore[type-arg]
    return card["type"], card["reps"], card["lapses"], card["left"], card["ivl"]


def _srs_cards(db) -> dict[tuple[str, int], dict]:  # type: ignore[no-untyped-def,type-arg]
    """Each card of srs's collection in Anki's terms (type, reps, lapses, steps left, interval), by (guid, ord)."""
    with db.session() as session:
        out = {}
        for card in session.scalars(select(Card).join(Note).where(Note.kind == "anki")):
            kept = card.anki_schedule or {}
            out[card.note.guid, card.ord] = {
                "type": int(card.state), "reps": card.reps, "lapses": card.lapses,
                "left": int(kept.get("left", 0)) % 1000 if int(card.state) in (1, 3) else 0, "ivl": int(kept.get("ivl", 0)),
            }
        return out


QUERIES = [
    "prop:lapses>0", "prop:lapses>=2", "prop:lapses=1", "prop:reps>=5", "prop:reps<3", "prop:reps>=5 -prop:lapses>0",
    "is:learn", "is:review", "is:new", "is:suspended", "is:buried", "is:due", "prop:ivl<=7", "prop:ivl>30",
    "prop:ivl<=7 OR prop:lapses>=2", "is:review -is:learn", "is:learn is:review", "prop:due<0", "prop:due>=5",
    "prop:due=0", "is:review prop:lapses=0", "-is:suspended is:due", "tag:basic prop:reps>2", "is:due prop:lapses>0",
]


def test_searches_after_an_import_select_what_anki_selects(scheduled_world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """On the imported collection, searches on the card's state and counts (lapses, reps, steps, due, interval) find
    the same cards as Anki's own find_cards on the collection the package came from."""
    from srs.search import find_cards

    now = scheduled_world["now"]
    col = scheduled_world["col"]
    with local_timezone(scheduled_world["zone"]):
        db = fresh_db(tmp_path / "srs.db", scheduled_world["zone"])
        with db.session(write=True) as session:
            import_package(session, scheduled_world["packages"]["modern"], now)
            session.commit()
        keys = {cid: (guid, ord_) for cid, guid, ord_ in col.db.all("select c.id, n.guid, c.ord from cards c join notes n on n.id = c.nid")}
        with db.session() as session:
            ours_of = {card.id: (card.note.guid, card.ord) for card in session.scalars(select(Card).join(Note).where(Note.kind == "anki"))}
            clock = clock_for(session)
            differ = {}
            for query in QUERIES:
                theirs = {keys[cid] for cid in col.find_cards(query)}
                ours = {ours_of[cid] for cid in find_cards(session, query, clock, now) if cid in ours_of}
                if ours != theirs:
                    differ[query] = (len(ours), len(theirs))
                assert theirs or query in ("is:learn is:review", "prop:due=0"), query  # the data exercises the query
        db.close()
    assert differ == {}


@pytest.mark.parametrize("layout", ["modern", "legacy"])
def test_schedule_survives_import_and_export(scheduled_world: dict, layout: str, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """import -> srs -> export -> fresh Anki: unanswered cards keep due, interval, queue and revlog; answered ones move."""
    now = scheduled_world["now"]
    with local_timezone(scheduled_world["zone"]):
        source = anki_cards(scheduled_world["col"])
        queues = [card["queue"] for card in source.values()]
        assert {-3, -2, -1, 0, 1, 2, 3} <= set(queues), sorted(set(queues))  # every queue is exercised
        db = fresh_db(tmp_path / "srs.db", scheduled_world["zone"])
        with db.session(write=True) as session:
            summary = import_package(session, scheduled_world["packages"][layout], now)
            session.commit()
        assert summary.schedules_kept == len(source) and summary.schedules_replaced == 0
        after_import = _srs_cards(db)
        assert {key: _comparable(card) for key, card in after_import.items()} == {
            key: _comparable(card) for key, card in source.items()}  # Anki's state, whole, after the import

        # srs answers three review cards: from then on srs schedules them
        answered: dict[tuple[str, int], int] = {}
        with db.session(write=True) as session:
            study = ReviewSession(session, Limits(0, 100))
            clock = clock_for(session)
            for _ in range(3):
                card = session.get(Card, study.queue(now).card_id)
                assert card is not None and card.anki_schedule is not None
                study.answer(card, Rating.GOOD, now, 5000)
                answered[card.note.guid, card.ord] = clock.day_of(card.due) - clock.today(now)  # type: ignore[arg-type]
                assert card.anki_schedule is None
            session.commit()
            export_package(session, tmp_path / "back.apkg", now)
        db.close()

        (tmp_path / "target").mkdir()
        target = anki_collection(tmp_path / "target" / "collection.anki2")
        import_apkg(target, tmp_path / "back.apkg")
        back = anki_cards(target)
        target.close()
    assert back.keys() == source.keys()
    for key, want in source.items():
        got = back[key]
        if key in answered:
            assert got["due"] == answered[key] and got["type"] == 2 and got["queue"] == 2
            assert got["revlog"][:-1] == want["revlog"] and len(got["revlog"]) == len(want["revlog"]) + 1
            continue
        assert got == want, key


def test_import_into_srs_keeps_due_days_and_steps(scheduled_world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """In srs itself, imported cards are due on Anki's days (learning ones at Anki's time), with Anki's step and flags."""
    now = scheduled_world["now"]
    with local_timezone(scheduled_world["zone"]):
        source = anki_cards(scheduled_world["col"])
        db = fresh_db(tmp_path / "srs.db", scheduled_world["zone"])
        with db.session(write=True) as session:
            import_package(session, scheduled_world["packages"]["modern"], now)
            session.commit()
        with db.session() as session:
            clock = clock_for(session)
            today = clock.today(now)
            checked = 0
            for card in session.scalars(select(Card).join(Note)):
                want = source[card.note.guid, card.ord]
                assert int(card.state) == want["type"]
                assert card.suspended == (want["queue"] == -1)
                assert (card.buried_until == today + 1) == (want["queue"] in (-2, -3))
                if want["type"] == 0:
                    assert card.due is None
                    continue
                if want["queue"] == 1 or (want["type"] in (1, 3) and want["due"] > 1_000_000_000):
                    assert card.due == datetime.fromtimestamp(want["due"], timezone.utc)
                else:
                    assert clock.day_of(card.due) - today == want["due"]  # type: ignore[arg-type]
                if want["type"] in (1, 3):
                    steps = 2 if want["type"] == 1 else 1
                    assert card.step == steps - want["left"]
                checked += 1
            assert checked > 150
            # buried and suspended cards are not shown today; the rest of the queue is Anki's due cards
            study = ReviewSession(session, Limits(0, 10_000))
            shown = study.queue(now)
            due_today = sum(
                1 for w in source.values() if w["queue"] == 2 and w["due"] <= 0
            )
            assert shown.counts.review <= due_today
            hidden = session.scalars(select(Card).where(Card.buried_until.is_not(None))).all()
            assert hidden and all(study.queue(now).card_id != c.id for c in hidden)
        db.close()


def test_a_card_answered_in_srs_keeps_its_schedule_through_a_reimport(scheduled_world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """The side that gave the latest answer schedules a card: importing the same package again leaves srs's schedule."""
    now = scheduled_world["now"]
    with local_timezone(scheduled_world["zone"]):
        db = fresh_db(tmp_path / "srs.db", scheduled_world["zone"])
        with db.session(write=True) as session:
            import_package(session, scheduled_world["packages"]["modern"], now - timedelta(hours=2))
            session.commit()
        with db.session(write=True) as session:
            study = ReviewSession(session, Limits(0, 100))
            card = session.get(Card, study.queue(now - timedelta(hours=1)).card_id)
            assert card is not None
            study.answer(card, Rating.EASY, now - timedelta(hours=1), 4000)
            session.commit()
            ours = (card.due, card.anki_schedule)
            card_id = card.id
        # the same package again: srs's answer is newer than anything in it, so srs's schedule stays
        with db.session(write=True) as session:
            again = import_package(session, scheduled_world["packages"]["modern"], now)
            session.commit()
            card = session.get(Card, card_id)
            assert (card.due, card.anki_schedule) == ours  # type: ignore[union-attr]
            assert again.reviews_added == 0
            reviews = session.scalars(select(Review).where(Review.card_id == card_id).order_by(Review.reviewed_at)).all()
            assert reviews[-1].anki_ivl is None and all(r.anki_ivl is not None for r in reviews[:-1])
        db.close()


def test_a_state_the_history_cannot_explain_is_scheduled_by_srs_and_said(tmp_path: Path) -> None:
    """A new card given a due date by hand in Anki (no answers) stays new in srs, and the summary says so."""
    from click.testing import CliRunner

    from srs.cli import cli

    with local_timezone("UTC"):
        col = anki_collection(tmp_path / "collection.anki2")
        basic = col.models.by_name("Basic")
        for i in range(3):
            note = col.new_note(basic)
            note["Front"], note["Back"] = f"q{i}", f"a{i}"
            col.add_note(note, col.decks.id("Hand"))
        first = col.db.scalar("select min(id) from cards")
        col.sched.set_due_date([first], "3")  # a review card with no answer behind it
        export_apkg(col, tmp_path / "hand.apkg")
        col.close()
        db = tmp_path / "srs.db"
        result = CliRunner().invoke(cli, ["--db", str(db), "--now", datetime.now(timezone.utc).isoformat(), "import", str(tmp_path / "hand.apkg")])
    assert result.exit_code == 0, result.output
    assert "  1 card(s) scheduled by srs: their history in the package does not explain the state Anki had them in" in result.output
