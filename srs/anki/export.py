"""Export decks to an Anki package (.apkg) with scheduling and review history.

genanki builds the package's note types, decks and notes; the collection it
writes is then completed before zipping: note ids and modification times
become ours (so a re-export updates notes already in Anki instead of adding
copies), every card gets its state in Anki's terms and its FSRS memory state,
every review becomes a revlog row, and a deck-options preset carries our
FSRS parameters, desired retention and steps.

Field meanings follow Anki's rslib (ankitects/anki):
* cards: rslib/src/card/mod.rs (type, queue, due, ivl, factor, left) and
  rslib/src/storage/card/data.rs (the `data` JSON: s, d, dr, decay, lrt);
* revlog: rslib/src/revlog/mod.rs (ivl/lastIvl: days if positive, seconds if
  negative; factor: with FSRS, difficulty mapped to 100-1100; type 0 learn,
  1 review, 2 relearn);
* due days count from the collection's creation day (`crt`), computed as in
  rslib/src/scheduler/timing.rs with `rollover` and `creationOffset`; the
  importer shifts them to the target collection (apkg/import/cards.rs).
genanki writes no `schedVer`, which makes Anki treat the package as the v1
scheduler and convert answer buttons on import; we write `schedVer: 2`.
"""

from __future__ import annotations

import html
import json
import os
import sqlite3
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srs.anki.notetypes import CSS, NOTE_TYPES, NoteType
from srs.clock import Clock
from srs.errors import ExportError
from srs.models import Card, CardState, Deck, Note, NoteKind, Preset, Review

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Anki card queues (rslib/src/card/mod.rs CardQueue)
QUEUE_SUSPENDED, QUEUE_NEW, QUEUE_LEARN, QUEUE_REVIEW, QUEUE_DAY_LEARN = -1, 0, 1, 2, 3
# Anki revlog kinds (rslib/src/revlog/mod.rs RevlogReviewKind)
REVLOG_LEARN, REVLOG_REVIEW, REVLOG_RELEARN = 0, 1, 2
PRESET_ID_BASE = 1_733_200_000_000  # deck-options ids: never Anki's own "Default" (1)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    decks: int
    notes: int
    cards: int
    reviews: int


def _html(text: str) -> str:
    """User text shown as typed: escaped, with line breaks kept."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def _difficulty_factor(difficulty: float) -> int:
    # rslib card/mod.rs difficulty_shifted(): (d - 1) / 9 + 0.1, stored x1000
    return round(((difficulty - 1.0) / 9.0 + 0.1) * 1000)


def _note_fields(session: Session, note: Note) -> list[str]:
    """The note's field values in its Anki note type's order, escaped."""
    from srs.competencies import BY_SLUG, GENERAL
    from srs.stories import numbers, story_card_content, stories_for_question, beats

    f = note.fields
    kind = note.kind
    if kind == NoteKind.QUESTION:
        competency = next((BY_SLUG[t] for t in note.tags if t in BY_SLUG), GENERAL)
        linked = stories_for_question(session, note)
        stories = "<br>".join(
            f'<span class="label">{_html(n.fields.get("Title", ""))}:</span> {_html(beats(n.fields))}' for n, _ in linked
        )
        return [_html(f.get("Question", "")), _html(f.get("Competency") or competency.label), _html(competency.hint), stories]
    if kind == NoteKind.STORY:
        content = story_card_content(f)
        values = {name: _html(f.get(name, "")) for name in NOTE_TYPES[kind].fields}
        values["Beats"] = _html(content.get(0, ""))
        values["Numbers"] = _html(numbers(f))
        values["Learning"] = _html(content.get(2, ""))
        return [values[name] for name in NOTE_TYPES[kind].fields]
    if kind == NoteKind.LIST:
        items = [i for i in f.get("Items", "").split("\n") if i]
        return [_html(f.get("Context", "")), "<br>".join(f"• {_html(i)}" for i in items)]
    return [_html(f.get(name, "")) for name in NOTE_TYPES[kind].fields]


def _genanki_model(genanki: Any, nt: NoteType) -> Any:
    return genanki.Model(
        nt.model_id,
        nt.name,
        fields=[{"name": name} for name in nt.fields],
        templates=[{"name": name, "qfmt": front, "afmt": back} for name, front, back in nt.templates],
        css=CSS,
    )


def _unique_ids(values: list[int]) -> list[int]:
    """Make millisecond ids unique while keeping their order (bump collisions by 1)."""
    out, last = [], None
    for value in values:
        if last is not None and value <= last:
            value = last + 1
        out.append(value)
        last = value
    return out


def select_cards(session: Session, deck_names: list[str] | None) -> list[Card]:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from srs.decks import deck_and_children

    query = select(Card).join(Note, Note.id == Card.note_id).where(Note.orphaned.is_(False))
    if deck_names:
        ids: set[int] = set()
        for name in deck_names:
            ids.update(deck_and_children(session, name))
        query = query.where(Card.deck_id.in_(ids))
    query = query.options(joinedload(Card.note), joinedload(Card.deck)).order_by(Card.note_id, Card.ord)
    return [c for c in session.scalars(query).unique() if c.note.kind in NOTE_TYPES]


def check_output(out: Path, force: bool) -> None:
    if out.is_dir():
        raise ExportError(f"{out} is a directory; give a file name ending in .apkg")
    if out.exists() and not force:
        raise ExportError(f"{out} already exists (use --force to replace it)")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"cannot write {out}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"cannot write {out}: folder {parent} is not writable")


def export_package(
    session: Session,
    out: Path,
    now: datetime,
    deck_names: list[str] | None = None,
    scheduling: bool = True,
    force: bool = False,
) -> ExportResult:
    """Write the selected decks to *out* atomically (temporary file, then rename)."""
    check_output(out, force)
    cards = select_cards(session, deck_names)
    if not cards:
        what = ", ".join(deck_names) if deck_names else "the collection"
        raise ExportError(f"nothing to export: {what} has no cards")
    from srs.settings import clock_for

    clock = clock_for(session)
    handle, tmp_db = tempfile.mkstemp(suffix=".anki2")
    os.close(handle)
    tmp_zip: str | None = None
    try:
        counts = _build_collection(session, Path(tmp_db), cards, clock, now, scheduling)
        fd, tmp_zip = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent if str(out.parent) else ".")
        os.close(fd)
        with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(tmp_db, "collection.anki2")
            archive.writestr("media", "{}")
        os.replace(tmp_zip, out)
        tmp_zip = None
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        os.unlink(tmp_db)
        if tmp_zip is not None and os.path.exists(tmp_zip):
            os.unlink(tmp_zip)
    return ExportResult(out, *counts)


def _build_collection(
    session: Session, path: Path, cards: list[Card], clock: Clock, now: datetime, scheduling: bool
) -> tuple[int, int, int, int]:
    import itertools

    import genanki
    from sqlalchemy import select

    notes: dict[int, Note] = {}
    by_note: dict[int, list[Card]] = defaultdict(list)
    for card in cards:
        notes[card.note_id] = card.note
        by_note[card.note_id].append(card)
    decks: dict[int, Deck] = {card.deck_id: card.deck for card in cards}

    models = {kind: _genanki_model(genanki, nt) for kind, nt in NOTE_TYPES.items()}
    gdecks = {d.id: genanki.Deck(d.anki_id, d.name, description=_html(d.description)) for d in decks.values()}
    for note in notes.values():
        home = by_note[note.id][0].deck_id
        gdecks[home].add_note(
            genanki.Note(
                model=models[note.kind],
                fields=_note_fields(session, note),
                tags=[t.replace(" ", "_") for t in note.tags],
                guid=note.guid,
            )
        )
    stamp = now.timestamp()
    conn = sqlite3.connect(path)
    try:
        cursor = conn.cursor()
        genanki.Package(list(gdecks.values())).write_to_db(cursor, stamp, itertools.count(int(stamp * 1000)))

        # Notes: our ids (from creation time) and modification times, so that
        # Anki sees a re-export as an update of the same notes.
        ordered = sorted(notes.values(), key=lambda n: (n.created, n.id))
        note_ids = dict(zip((n.id for n in ordered), _unique_ids([_ms(n.created) for n in ordered])))
        cursor.execute("UPDATE notes SET id = -id")
        for note in ordered:
            cursor.execute(
                "UPDATE notes SET id = ?, mod = ?, usn = -1 WHERE guid = ?",
                (note_ids[note.id], int(note.modified.timestamp()), note.guid),
            )

        # Cards: ours, with their scheduling.
        cursor.execute("DELETE FROM cards")
        ordered_cards = sorted(cards, key=lambda c: (c.created, c.id))
        card_ids = dict(zip((c.id for c in ordered_cards), _unique_ids([_ms(c.created) for c in ordered_cards])))
        presets = {p.id: p for p in session.scalars(select(Preset))}
        first_day = _first_day(session, cards, clock)
        review_count = 0
        for card in cards:
            preset = presets[card.deck.preset_id]
            row = _card_row(card, clock, first_day, preset, scheduling, now)
            cursor.execute(
                "INSERT INTO cards VALUES (?,?,?,?,?,-1,?,?,?,?,?,?,?,?,0,0,0,?)",
                (card_ids[card.id], note_ids[card.note_id], decks[card.deck_id].anki_id, card.ord, int(now.timestamp()), *row),
            )
        if scheduling:
            review_count = _write_revlog(session, cursor, cards, card_ids, clock)

        _write_col(cursor, decks, presets, clock, first_day, now)
        conn.commit()
    finally:
        conn.close()
    return len(decks), len(notes), len(cards), review_count


def _ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def _first_day(session: Session, cards: list[Card], clock: Clock) -> int:
    """The collection's creation day: no card or review of the package is older."""
    from sqlalchemy import func, select

    earliest = min(c.created for c in cards)
    first_review = session.scalar(select(func.min(Review.reviewed_at)).where(Review.card_id.in_([c.id for c in cards])))
    if first_review is not None:
        earliest = min(earliest, first_review)
    return clock.day_of(earliest)


def _card_row(card: Card, clock: Clock, first_day: int, preset: Preset, scheduling: bool, now: datetime) -> tuple:  # type: ignore[type-arg]
    """(type, queue, due, ivl, factor, reps, lapses, left, data) in Anki's terms."""
    if not scheduling or card.state == CardState.NEW or card.due is None:
        queue = QUEUE_SUSPENDED if card.suspended else QUEUE_NEW
        return (0, queue, card.position, 0, 0, 0, 0, 0, "")
    assert card.last_review is not None and card.stability is not None and card.difficulty is not None
    due_day = clock.day_of(card.due)
    if card.state == CardState.REVIEW:
        queue, due = QUEUE_REVIEW, due_day - first_day
        ivl = max(1, due_day - clock.day_of(card.last_review))
        left = 0
    else:
        steps = preset.learning_steps if card.state == CardState.LEARNING else preset.relearning_steps
        left = max(1, len(steps) - (card.step or 0))
        if due_day > clock.day_of(card.last_review):  # the step crosses the rollover: a day-learn card
            queue, due = QUEUE_DAY_LEARN, due_day - first_day
        else:
            queue, due = QUEUE_LEARN, int(card.due.timestamp())
        ivl = 0 if card.state == CardState.LEARNING else max(1, round(card.stability))
    if card.suspended:
        queue = QUEUE_SUSPENDED
    data = {
        "s": round(card.stability, 4),
        "d": round(card.difficulty, 3),
        "dr": round(preset.desired_retention, 2),
        "decay": round(preset.parameters[20], 3),
        "lrt": int(card.last_review.timestamp()),
    }
    return (
        int(card.state), queue, due, ivl, _difficulty_factor(card.difficulty), card.reps, card.lapses, left,
        json.dumps(data, separators=(",", ":")),
    )


def revlog_interval(state: int, due: datetime, at: datetime, clock: Clock) -> int:
    """Anki's revlog interval: days when the next due is on a later day, else negative seconds."""
    days = clock.day_of(due) - clock.day_of(at)
    if state == CardState.REVIEW or days > 0:
        return max(1, days)
    return -max(1, round((due - at).total_seconds()))


def _write_revlog(session: Session, cursor: sqlite3.Cursor, cards: list[Card], card_ids: dict[int, int], clock: Clock) -> int:
    from sqlalchemy import select

    rows = session.execute(
        select(Review.card_id, Review.reviewed_at, Review.rating, Review.duration_ms, Review.prev_state,
               Review.state, Review.difficulty, Review.due)
        .where(Review.card_id.in_(list(card_ids)))
        .order_by(Review.reviewed_at, Review.id)
    ).all()
    ids = _unique_ids([_ms(r.reviewed_at) for r in rows])
    last_ivl: dict[int, int] = {}
    kinds = {CardState.NEW: REVLOG_LEARN, CardState.LEARNING: REVLOG_LEARN, CardState.REVIEW: REVLOG_REVIEW,
             CardState.RELEARNING: REVLOG_RELEARN}
    for rid, r in zip(ids, rows):
        ivl = revlog_interval(r.state, r.due, r.reviewed_at, clock)
        cursor.execute(
            "INSERT INTO revlog VALUES (?,?,-1,?,?,?,?,?,?)",
            (rid, card_ids[r.card_id], r.rating, ivl, last_ivl.get(r.card_id, 0),
             _difficulty_factor(r.difficulty), max(0, r.duration_ms), kinds[CardState(r.prev_state)]),
        )
        last_ivl[r.card_id] = ivl
    return len(rows)


def _write_col(cursor: sqlite3.Cursor, decks: dict[int, Deck], presets: dict[int, Preset], clock: Clock, first_day: int, now: datetime) -> None:
    crt_instant = clock.day_start(first_day) + timedelta(hours=1)
    offset = crt_instant.astimezone(clock.tz).utcoffset() or timedelta(0)
    conf_json, dconf_json, decks_json = cursor.execute("SELECT conf, dconf, decks FROM col").fetchone()
    conf = json.loads(conf_json)
    conf.update(
        {
            "schedVer": 2,  # see the module docstring: without it Anki assumes v1
            "rollover": clock.rollover_hour,
            "creationOffset": -int(offset.total_seconds() // 60),  # minutes west of UTC
        }
    )
    dconf = json.loads(dconf_json)
    template = dconf["1"]
    used = {d.preset_id for d in decks.values()}
    for preset_id in used:
        preset = presets[preset_id]
        conf_id = PRESET_ID_BASE + preset.id
        entry = json.loads(json.dumps(template))
        entry.update(
            {
                "id": conf_id,
                "name": f"srs · {preset.name}",
                "mod": int(now.timestamp()),
                "desiredRetention": preset.desired_retention,
                "fsrsParams6": list(preset.parameters),
            }
        )
        entry["new"]["delays"] = [s / 60 for s in preset.learning_steps]
        entry["lapse"]["delays"] = [s / 60 for s in preset.relearning_steps]
        entry["rev"]["maxIvl"] = preset.maximum_interval
        dconf[str(conf_id)] = entry
    deck_map = json.loads(decks_json)
    by_anki_id = {d.anki_id: d for d in decks.values()}
    for key, value in deck_map.items():
        deck = by_anki_id.get(int(key))
        if deck is not None:
            value["conf"] = PRESET_ID_BASE + deck.preset_id
    cursor.execute(
        "UPDATE col SET crt = ?, mod = ?, conf = ?, dconf = ?, decks = ?",
        (int(crt_instant.timestamp()), _ms(now), json.dumps(conf), json.dumps(dconf), json.dumps(deck_map)),
    )
