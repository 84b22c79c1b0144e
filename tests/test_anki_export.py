"""Export to .apkg, judged by the official anki library: notes, scheduling, history."""

from __future__ import annotations

import html
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from srs.anki.export import (
    QUEUE_SUSPENDED,
    _memory_data,
    export_package,
    revlog_interval,
)
from srs.anki.notetypes import NOTE_TYPES
from srs.cli import cli
from srs.db import Database, open_database
from srs.decks import ensure_builtin_decks
from srs.domain import CardState, Rating
from srs.models import Card, Note, Review
from srs.review import Limits, ReviewSession
from srs.scheduler import memory_of
from srs.settings import Schedulers, clock_for, set_setting
from srs.stories import link_story, save_story
from srs.story_format import parse_story

from .anki_helpers import (
    FIXED_ZONES,
    anki_collection,
    anki_recompute_elapsed,
    daytime_zone,
    import_apkg,
    local_timezone,
    simulate_history,
)

STORY = """---
title: Cut <ranking> latency & cost
competencies: impact
---
## Situation
Latency was 180 ms.
## Task
I had to hit 120 ms.
## Action
I batched feature calls & distilled the model.
## Result
p99 fell to 105 ms, a 42% cut.
## Learning
Profile first.
"""


@pytest.fixture(scope="module", params=["dst-zone", "fixed-zone"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """An srs collection with two months of history, exported and imported into Anki."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    zone = daytime_zone(now, dst=request.param == "dst-zone")
    folder = tmp_path_factory.mktemp("export")
    with local_timezone(zone):
        db = open_database(folder / "srs.db")
        with db.session(write=True) as session:
            set_setting(session, "timezone", zone)
            ensure_builtin_decks(session, now - timedelta(days=70))
            note = save_story(session, parse_story(STORY), now - timedelta(days=70))
            link_story(session, note.id, "biggest business impact", now - timedelta(days=70))
            session.commit()
        simulate_history(db, now - timedelta(minutes=5), 60)
        with db.session(write=True) as session:  # a suspended card travels as suspended
            card = session.scalars(select(Card).where(Card.state == CardState.REVIEW).order_by(Card.id)).first()
            assert card is not None
            card.suspended = True
            session.commit()
        package = folder / "out.apkg"
        with db.session() as session:
            result = export_package(session, package, now)
        col = anki_collection(folder / "anki" / "collection.anki2") if (folder / "anki").mkdir() is None else None
        import_apkg(col, package)
        yield {"db": db, "col": col, "now": now, "zone": zone, "package": package, "result": result, "folder": folder}
        col.close()
        db.close()


def srs_cards(db: Database) -> list[Card]:
    with db.session() as session:
        cards = list(session.scalars(select(Card).join(Note).where(Note.orphaned.is_(False)).order_by(Card.id)))
        for c in cards:
            _ = c.note, c.deck
        return cards


def anki_card_for(col, card: Card):  # type: ignore[no-untyped-def]
    nid = col.db.scalar("select id from notes where guid = ?", card.note.guid)
    cid = col.db.scalar("select id from cards where nid = ? and ord = ?", nid, card.ord)
    return col.get_card(cid)


def test_notes_fields_tags_and_decks(world: dict) -> None:  # type: ignore[type-arg]
    """Every note arrives once, with its fields (as typed), tags, note type and deck."""
    col, db = world["col"], world["db"]
    with local_timezone(world["zone"]):
        cards = srs_cards(db)
        notes = {c.note.guid: c.note for c in cards}
        assert col.note_count() == len(notes)
        for guid, note in notes.items():
            nid = col.db.scalar("select id from notes where guid = ?", guid)
            anki_note = col.get_note(nid)
            assert anki_note.note_type()["name"] == NOTE_TYPES[note.kind].name
            assert sorted(anki_note.tags) == sorted(note.tags)
            if note.kind == "question":
                assert html.unescape(anki_note["Question"]) == note.fields["Question"]
            if note.kind == "story":
                assert anki_note["Title"] == "Cut &lt;ranking&gt; latency &amp; cost"  # shown as typed
                assert html.unescape(anki_note["Action"]) == note.fields["Action"]
        for card in cards:
            assert col.decks.name(anki_card_for(col, card).did) == card.deck.name


def test_scheduling_matches(world: dict) -> None:  # type: ignore[type-arg]
    """Each card is in the same queue, due the same day, with the same memory state (0.1%)."""
    col, db = world["col"], world["db"]
    with local_timezone(world["zone"]):
        today_anki = col.sched.today
        with db.session() as session:
            clock = clock_for(session)
        today = clock.today(datetime.now(timezone.utc))
        reviewed = 0
        for card in srs_cards(db):
            a = anki_card_for(col, card)
            assert a.type == card.state
            if card.suspended:
                assert a.queue == QUEUE_SUSPENDED
            if card.state == CardState.NEW:
                assert a.queue in (0, QUEUE_SUSPENDED) and a.memory_state is None
                continue
            reviewed += 1
            if card.state == CardState.REVIEW:
                assert a.queue in (2, QUEUE_SUSPENDED)
                assert a.due - today_anki == clock.day_of(card.due) - today
            elif a.queue == 1:
                assert a.due == int(card.due.timestamp())
            else:
                assert a.queue in (3, QUEUE_SUSPENDED)
                assert a.due - today_anki == clock.day_of(card.due) - today
            assert a.reps == card.reps and a.lapses == card.lapses
            assert a.memory_state.stability == pytest.approx(card.stability, rel=1e-3)
            assert a.memory_state.difficulty == pytest.approx(card.difficulty, rel=1e-3)
        assert reviewed >= 40


def test_revlog_rows(world: dict) -> None:  # type: ignore[type-arg]
    """Every review is one revlog row: time, button, intervals, duration and kind."""
    col, db = world["col"], world["db"]
    with local_timezone(world["zone"]):
        with db.session() as session:
            clock = clock_for(session)
            reviews = session.scalars(select(Review).order_by(Review.reviewed_at, Review.id)).all()
            by_card: dict[int, list[Review]] = {}
            for r in reviews:
                by_card.setdefault(r.card_id, []).append(r)
        assert col.db.scalar("select count() from revlog") == len(reviews) == world["result"].reviews
        for card in srs_cards(db):
            history = by_card.get(card.id, [])
            a = anki_card_for(col, card)
            rows = col.db.all("select id, ease, ivl, lastIvl, time, type from revlog where cid = ? order by id", a.id)
            expected, last = [], 0
            for r in history:
                ivl = revlog_interval(r.state, r.due, r.reviewed_at, clock)
                kind = {0: 0, 1: 0, 2: 1, 3: 2}[r.prev_state]
                expected.append((r.rating, ivl, last, r.duration_ms, kind))
                last = ivl
            assert [tuple(row[1:]) for row in rows] == expected
            assert [row[0] // 1000 for row in rows] == [int(r.reviewed_at.timestamp()) for r in history]


def test_ankis_own_memory_state_agrees(world: dict) -> None:  # type: ignore[type-arg]
    """Anki's compute_memory_state from the imported revlog is within 1% of ours.

    Anki recomputes with today's UTC offset for the whole history, while the
    state it stores when answering (and srs's) uses the offset of each
    answer; and the recomputation counts an answer given at the very second
    of the rollover in the day before, while answering counts it in the new
    day. So the two differ for answers in the hour next to the rollover
    across a DST change, and for answers exactly at a rollover; such cards
    are the only ones allowed to differ (in a fixed zone, only the latter).
    """
    col, db = world["col"], world["db"]
    checked = 0
    with local_timezone(world["zone"]):
        with db.session() as session:
            clock = clock_for(session)
            next_day_at = clock.day_start(clock.today(datetime.now(timezone.utc)) + 1)
            for card in srs_cards(db):
                if card.state == CardState.NEW:
                    continue
                times = list(session.scalars(select(Review.reviewed_at).where(Review.card_id == card.id).order_by(Review.reviewed_at)))
                ours = [clock.elapsed_days(a, b) for a, b in zip(times, times[1:])]
                computed = col.compute_memory_state(anki_card_for(col, card).id)
                if anki_recompute_elapsed(times, next_day_at) != ours:
                    at_rollover = any(t == clock.day_start(clock.day_of(t)) for t in times[1:])
                    assert at_rollover or world["zone"] not in FIXED_ZONES, [str(t) for t in times]
                    continue
                assert computed.stability == pytest.approx(card.stability, rel=0.01), card.id
                assert computed.difficulty == pytest.approx(card.difficulty, rel=0.01), card.id
                checked += 1
    assert checked >= 40


def test_preset_carries_fsrs_options(world: dict) -> None:  # type: ignore[type-arg]
    """The imported deck options hold our FSRS parameters, retention and steps."""
    col, db = world["col"], world["db"]
    with db.session() as session:
        from srs.settings import default_preset

        preset = default_preset(session)
        params, retention = list(preset.parameters), preset.desired_retention
    did = col.decks.id_for_name("Interview::Behavioral questions")
    conf = col.decks.config_dict_for_deck_id(did)
    assert conf["name"] == "srs · Default"
    assert conf["fsrsParams6"] == pytest.approx(params)
    assert conf["desiredRetention"] == pytest.approx(retention)
    assert conf["new"]["delays"] == [1.0, 10.0] and conf["lapse"]["delays"] == [10.0]


def test_review_in_anki_continues_schedule(world: dict) -> None:  # type: ignore[type-arg]
    """Answering an imported review card in Anki gives a sane later due date, not a reset."""
    col = world["col"]
    with local_timezone(world["zone"]):
        cid = col.db.scalar("select id from cards where queue = 2 order by ivl desc limit 1")
        card = col.get_card(cid)
        before_ivl, before_s = card.ivl, card.memory_state.stability
        card.start_timer()
        col.sched.answerCard(card, 3)
        after = col.get_card(cid)
        assert after.type == 2 and after.queue == 2
        assert after.due > col.sched.today
        assert after.ivl >= 1 and after.reps == card.reps
        assert after.memory_state.stability >= before_s * 0.9
        assert before_ivl > 0


def test_reexport_updates_without_duplicates(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """Export, edit a note, add one and review in srs, export again: Anki updates, adds, duplicates nothing."""
    from srs.decks import sync_guide
    from srs.guide import parse_guide

    db, folder = world["db"], world["folder"]
    with local_timezone(world["zone"]):
        col = anki_collection(tmp_path / "c2" / "collection.anki2") if (tmp_path / "c2").mkdir() is None else None
        import_apkg(col, world["package"])
        count = col.note_count()
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with db.session(write=True) as session:
            note = session.scalars(select(Note).where(Note.kind == "question").order_by(Note.id)).first()
            assert note is not None
            note.fields = {**note.fields, "Question": note.fields["Question"] + " (edited)"}
            note.modified = now + timedelta(seconds=5)
            guid = note.guid
            sync_guide(session, parse_guide("# Extra\n- Tell me about a launch you led.\n"), "Extra", "guide:Extra", now)
            new_card = session.scalars(select(Card).join(Note).where(Note.source == "guide:Extra")).one()
            old_card = session.scalars(select(Card).where(Card.state == CardState.REVIEW, Card.suspended.is_(False))).first()
            assert old_card is not None
            review = ReviewSession(session, Limits(10, 10))
            review.answer(new_card, Rating.EASY, now, 4000)
            review.answer(old_card, Rating.GOOD, now, 4000)
            new_guid, old_guid, old_ord = new_card.note.guid, old_card.note.guid, old_card.ord
            session.commit()
        second = folder / f"second-{world['zone'].replace('/', '-')}.apkg"
        with db.session() as session:
            export_package(session, second, now + timedelta(seconds=10), force=True)
        old_cid = col.db.scalar("select id from cards where nid = (select id from notes where guid = ?) and ord = ?", old_guid, old_ord)
        old_revlog = col.db.scalar("select count() from revlog where cid = ?", old_cid)
        result = import_apkg(col, second)
        assert col.note_count() == count + 1  # only the new note was added
        assert len(result.log.updated) == 1 and len(result.log.new) == 1
        nid = col.db.scalar("select id from notes where guid = ?", guid)
        assert col.get_note(nid)["Question"].endswith("(edited)")
        nid2 = col.db.scalar("select id from notes where guid = ?", new_guid)
        cid2 = col.db.scalar("select id from cards where nid = ?", nid2)
        assert col.db.all("select ease, time from revlog where cid = ?", cid2) == [[4, 4000]]
        assert col.get_card(cid2).type == 2
        # Anki's importer leaves cards it already has untouched (rslib
        # apkg/import/cards.rs: "could update existing card"), so a review
        # given in srs to a card Anki already has does not travel this way.
        assert col.db.scalar("select count() from revlog where cid = ?", old_cid) == old_revlog
        col.close()


def test_no_scheduling_exports_new_cards(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """--no-scheduling writes every card as new and no revlog."""
    db = world["db"]
    out = tmp_path / "plain.apkg"
    with db.session() as session:
        result = export_package(session, out, world["now"], ["Interview::Behavioral questions"], scheduling=False)
    assert result.reviews == 0
    with local_timezone(world["zone"]):
        col = anki_collection(tmp_path / "c" / "collection.anki2") if (tmp_path / "c").mkdir() is None else None
        import_apkg(col, out)
        assert col.db.scalar("select count() from revlog") == 0
        assert col.db.list("select distinct type from cards") == [0]
        assert col.card_count() == result.cards == 47
        col.close()


def test_package_declares_v2_scheduler(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """The package's collection says schedVer 2, so Anki keeps answer buttons as given."""
    with zipfile.ZipFile(world["package"]) as archive:
        archive.extract("collection.anki2", tmp_path)
    import sqlite3

    conf = json.loads(sqlite3.connect(tmp_path / "collection.anki2").execute("select conf from col").fetchone()[0])
    assert conf["schedVer"] == 2 and conf["rollover"] == 4


# --- CLI and bad input ----------------------------------------------------------


def cli_run(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db"), "--now", "2026-11-25T08:00:00", *args])


def test_cli_export_and_errors(tmp_path: Path) -> None:
    """export writes a package; an existing file, unknown deck or bad path is a one-line error."""
    out = tmp_path / "o.apkg"
    ok = cli_run(tmp_path, "export", str(out), "--deck", "Interview::STAR and CARL")
    assert ok.exit_code == 0, ok.output
    assert ok.output == f"Wrote {out}: 27 notes, 27 cards, 0 reviews in 1 deck(s).\n"
    before = out.read_bytes()
    again = cli_run(tmp_path, "export", str(out))
    assert (again.exit_code, again.output) == (1, f"Error: {out} already exists (use --force to replace it)\n")
    assert out.read_bytes() == before
    assert cli_run(tmp_path, "export", str(out), "--force").exit_code == 0
    unknown = cli_run(tmp_path, "export", str(tmp_path / "x.apkg"), "--deck", "Nope")
    assert unknown.exit_code == 1 and unknown.output.startswith("Error: no deck named 'Nope'")
    missing = cli_run(tmp_path, "export", str(tmp_path / "no" / "such" / "x.apkg"))
    assert missing.output == f"Error: cannot write {tmp_path / 'no' / 'such' / 'x.apkg'}: folder {tmp_path / 'no' / 'such'} does not exist\n"
    assert not (tmp_path / "x.apkg").exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix in (".part", ".apkg")] == ["o.apkg"]


def test_empty_selection(tmp_path: Path) -> None:
    """A deck with no cards is an empty selection: one line, no file."""
    db = open_database(tmp_path / "c.db")
    with db.session(write=True) as session:
        from srs.decks import get_or_create_deck

        get_or_create_deck(session, "Empty", datetime(2026, 11, 25, tzinfo=timezone.utc))
        session.commit()
    db.close()
    result = cli_run(tmp_path, "export", str(tmp_path / "e.apkg"), "--deck", "Empty")
    assert (result.exit_code, result.output) == (1, "Error: nothing to export: Empty has no cards\n")
    assert not (tmp_path / "e.apkg").exists()


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If writing the archive fails midway, neither the target nor a temporary file remains."""
    import zipfile as zf

    def broken_write(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zf.ZipFile, "writestr", broken_write)
    result = cli_run(tmp_path, "export", str(tmp_path / "x.apkg"))
    assert (result.exit_code, result.output) == (1, f"Error: cannot write {tmp_path / 'x.apkg'}: No space left on device\n")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("c.db")) == []


def test_replay_unaffected_by_export(world: dict) -> None:  # type: ignore[type-arg]
    """Exporting reads only: every card still equals the replay of its review log."""
    db = world["db"]
    with db.session() as session:
        schedulers = Schedulers(session, clock_for(session))
        from srs.review import replay_card

        for card in session.scalars(select(Card).where(Card.state != CardState.NEW)):
            assert replay_card(session, card, schedulers) == memory_of(card)


def test_media_references_never_leave_the_media_folder(tmp_path: Path) -> None:
    """Only plain file names found in the media folder are packaged: no paths, nothing outside it."""
    from srs.anki.export import NoteRow, _media_files

    folder = tmp_path / "media"
    (folder / "sub").mkdir(parents=True)
    for name in ("ok.png", "sub/inner.png", "a&b.mp3"):
        (folder / name).write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("no")
    raw = [
        '<img src="ok.png"> <img src="../secret.txt"> <img src="/etc/passwd"> <img src="sub/inner.png">',
        "[sound:a&amp;b.mp3] [sound:..] <img data-src=\"ok.png\"> <img src='missing.png'>",
    ]
    notes = {1: NoteRow(1, "g", "anki", {}, [], 0, 0, 5, raw)}
    assert [f.name for f in _media_files(notes, folder)] == ["a&b.mp3", "ok.png"]


def test_questions_to_ask_render_in_anki_as_in_srs(tmp_path: Path) -> None:
    """Anki shows a plain question to ask on the front, and a goal-first one asks for the question, as srs does."""
    from srs.decks import sync_guide
    from srs.guide import parse_guide

    now = datetime(2026, 11, 25, 8, tzinfo=timezone.utc)
    db = open_database(tmp_path / "srs.db")
    with db.session(write=True) as session:
        text = "## Questions to ask\n\n- **Team health**: How often do plans change mid-quarter?\n- What does on-call look like?\n"
        sync_guide(session, parse_guide(text), "Ask", "guide:ask", now)
        session.commit()
        export_package(session, tmp_path / "ask.apkg", now, ["Ask"])
    db.close()
    (tmp_path / "anki").mkdir()
    col = anki_collection(tmp_path / "anki" / "collection.anki2")
    import_apkg(col, tmp_path / "ask.apkg")
    shown = {}
    for cid in col.find_cards("deck:Ask"):
        card = col.get_card(cid)
        shown[col.get_note(card.nid)["Question"]] = (html.unescape(card.question()), html.unescape(card.answer()))
    col.close()
    plain_front, plain_back = shown["What does on-call look like?"]
    assert "What does on-call look like?" in plain_front and "Questions to ask" in plain_front
    assert "say what the answer would tell you" in plain_back
    goal_front, goal_back = shown["How often do plans change mid-quarter?"]
    assert "You want to learn: Team health" in goal_front and "How often do plans change" not in goal_front
    assert "How often do plans change mid-quarter?" in goal_back


@given(
    stability=st.floats(min_value=0.001, max_value=36500, allow_nan=False),
    difficulty=st.floats(min_value=1, max_value=10),
    retention=st.floats(min_value=0.7, max_value=0.99),
    decay=st.floats(min_value=0.1, max_value=0.8),
    last=st.integers(min_value=0, max_value=4_102_444_800_000),
)
def test_card_memory_data_is_the_json_anki_reads(stability: float, difficulty: float, retention: float, decay: float, last: int) -> None:
    """The card `data` written by hand is the JSON json.dumps writes for the same values (Anki parses it as JSON)."""
    card = SimpleNamespace(stability=stability, difficulty=difficulty, last_review=last)
    preset = SimpleNamespace(desired_retention=retention, parameters=[0.0] * 20 + [decay])
    text = _memory_data(card, preset)  # type: ignore[arg-type]
    expected = {"s": round(stability, 4), "d": round(difficulty, 3), "dr": round(retention, 2), "decay": round(decay, 3), "lrt": last // 1000}
    assert text == json.dumps(expected, separators=(",", ":"))
    assert json.loads(text) == expected
