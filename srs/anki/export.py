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
import itertools
import json
import os
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from srs.anki.formats import options_group_names
from srs.anki.media import media_refs, plain_name
from srs.anki.notetypes import CSS, NOTE_TYPES
from srs.anki.schedule import (
    QUEUE_DAY_LEARN,
    QUEUE_LEARN,
    QUEUE_NEW,
    QUEUE_REVIEW,
    QUEUE_SUSPENDED,
    QUEUE_USER_BURIED,
    to_anki,
)
from srs.bulk import Background, collector_paused
from srs.clock import Clock
from srs.db import database_file, sqlite_uri
from srs.decks import deck_and_children, deck_anki_id
from srs.domain import AnkiDeckId, CardId, CardState, DeckId, NoteId, NoteKind, PresetId
from srs.errors import ExportError
from srs.files import check_target, write_atomically
from srs.models import AnkiNotetype, Card, Deck, Note, Preset
from srs.scheduler import anki_interval
from srs.search import find_cards
from srs.settings import clock_for
from srs.stories import StoryIndex
from srs.templates import (
    BEATS,
    LEARNING,
    beats,
    list_items,
    numbers,
    question_competency,
    story_card_content,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


PRESET_ID_BASE = 1_733_200_000_000  # deck-options ids: never Anki's own "Default" (1)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    decks: int
    notes: int
    cards: int
    reviews: int
    unsupported_notes: int = 0  # notes with no Anki note type to be written in (review-log placeholders)
    media: int = 0  # media files packaged for imported notes


def _html(text: str) -> str:
    """User text shown as typed: escaped, with line breaks kept."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def _difficulty_factor(difficulty: float) -> int:
    # rslib card/mod.rs difficulty_shifted(): (d - 1) / 9 + 0.1, stored x1000
    return round(((difficulty - 1.0) / 9.0 + 0.1) * 1000)


def _note_fields(stories: StoryIndex, note: NoteRow) -> list[str]:
    """The note's field values in its Anki note type's order, escaped: the content ``templates`` decides."""
    f = note.fields
    kind = note.kind
    if kind == NoteKind.QUESTION:
        competency = question_competency(note.tags)
        linked = "<br>".join(
            f'<span class="label">{_html(n.fields.get("Title", ""))}:</span> {_html(beats(n.fields))}'
            for n, _ in stories.for_question(NoteId(note.id), note.tags)
        )
        return [_html(f.get("Question", "")), _html(f.get("Competency") or competency.label), _html(competency.hint), linked]
    if kind == NoteKind.STORY:
        content = story_card_content(f)
        values = {name: _html(f.get(name, "")) for name in NOTE_TYPES[kind].fields}
        values["Beats"] = _html(content.get(BEATS, ""))
        values["Numbers"] = _html(numbers(f))
        values["Learning"] = _html(content.get(LEARNING, ""))
        return [values[name] for name in NOTE_TYPES[kind].fields]
    if kind == NoteKind.LIST:
        return [_html(f.get("Context", "")), "<br>".join(f"• {_html(i)}" for i in list_items(f))]
    return [_html(f.get(name, "")) for name in NOTE_TYPES[kind].fields]


def _genanki_model(
    genanki: Any, model_id: int, name: str, fields: Sequence[str], templates: Sequence[Sequence[str]], css: str = CSS,
    cloze: bool = False,
) -> Any:
    return genanki.Model(
        model_id,
        name,
        fields=[{"name": field} for field in fields],
        templates=[{"name": template, "qfmt": front, "afmt": back} for template, front, back in templates],
        css=css,
        model_type=genanki.Model.CLOZE if cloze else genanki.Model.FRONT_BACK,
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


@dataclass(frozen=True)
class CardRow:
    """A card's columns as stored (times in ms), read without the ORM for speed."""

    id: CardId
    note_id: NoteId
    ord: int
    deck_id: DeckId
    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: int | None
    last_review: int | None
    reps: int
    lapses: int
    suspended: bool
    position: int
    created: int
    anki_schedule: dict[str, int] | None = None  # the schedule Anki gave the card, kept until srs schedules it
    buried_until: int | None = None
    modified: int = 0  # when srs last changed the card (ms)


@dataclass(frozen=True)
class NoteRow:
    id: int
    guid: str
    kind: str
    fields: dict[str, str]
    tags: list[str]
    created: int
    modified: int
    anki_notetype_id: int | None = None  # a foreign Anki note type (imported notes)
    anki_fields: list[str] | None = None  # its raw field HTML


def _selected_deck_ids(session: Session, deck_names: list[str]) -> set[int]:
    """The decks named (and their sub-decks)."""

    return {deck_id for name in deck_names for deck_id in deck_and_children(session, name)}


def select_cards(
    session: Session, deck_names: list[str] | None, note_ids: set[NoteId] | None = None, modified_after: int | None = None,
) -> tuple[list[CardRow], dict[int, NoteRow]]:
    """The cards (and their notes) of the selected decks, not of removed notes.

    *note_ids* keeps the cards of those notes; *modified_after* (Unix ms)
    the cards changed since then (a sync asks for few of many).
    """
    rows = select_card_rows(session, deck_names, note_ids, modified_after)
    return rows, select_notes(session, rows, few=modified_after is not None or note_ids is not None)


# The cards an export or a sync writes: those of notes not removed, in srs's note types or kept Anki ones
_EXPORTED = (
    "FROM cards c JOIN notes n ON n.id = c.note_id WHERE NOT n.orphaned "
    f"AND (n.kind IN ({', '.join(repr(str(k)) for k in NOTE_TYPES)}) OR n.anki_notetype_id IS NOT NULL)"
)


def select_card_times(session: Session) -> list[tuple[CardId, int]]:
    """(card, creation time in ms) of every card ``select_card_rows(session, None)`` reads: one light query."""
    return [(CardId(i), int(t)) for i, t in session.connection().exec_driver_sql(f"SELECT c.id, c.created {_EXPORTED}")]


def select_card_rows(
    session: Session, deck_names: list[str] | None, note_ids: set[NoteId] | None = None, modified_after: int | None = None,
) -> list[CardRow]:
    """The cards of ``select_cards``, without their notes."""
    conn = session.connection()
    where = "AND c.modified > ? " if modified_after is not None else ""
    params: tuple[int | str, ...] = (modified_after,) if modified_after is not None else ()
    if note_ids is not None:  # (a few notes of many, in a sync: read by their index, not every card)
        where += "AND c.note_id IN (SELECT value FROM json_each(?)) "
        params += (json.dumps(sorted(note_ids)),)
    sql = (
        "SELECT c.id, c.note_id, c.ord, c.deck_id, c.state, c.step, c.stability, c.difficulty, c.due, "
        f"c.last_review, c.reps, c.lapses, c.suspended, c.position, c.created, c.anki_schedule, c.buried_until, c.modified {_EXPORTED} "
        f"{where}ORDER BY c.note_id, c.ord"
    )
    rows = [
        CardRow(
            CardId(r[0]), NoteId(r[1]), r[2], DeckId(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], bool(r[12]),
            r[13], r[14], json.loads(r[15]) if r[15] is not None else None, r[16], r[17],
        )
        for r in conn.exec_driver_sql(sql, params)
    ]
    if deck_names:
        ids = _selected_deck_ids(session, deck_names)
        rows = [r for r in rows if r.deck_id in ids]
    return rows


def select_notes(session: Session, rows: list[CardRow], few: bool = False) -> dict[int, NoteRow]:
    """The notes of the cards *rows*; *few* when they are few of the collection's (read by id, not all)."""
    conn = session.connection()
    wanted = {r.note_id for r in rows}
    notes = {}
    columns = "SELECT id, guid, kind, fields, tags, created, modified, anki_notetype_id, anki_fields FROM notes WHERE NOT orphaned"
    if len(wanted) * 20 < len(rows) or few:
        ordered = sorted(wanted)  # a few notes of many: by id
        found: list[Any] = []
        for chunk in range(0, len(ordered), 500):
            part = ordered[chunk : chunk + 500]
            found += conn.exec_driver_sql(f"{columns} AND id IN ({','.join('?' * len(part))})", tuple(part)).all()
    else:
        found = list(conn.exec_driver_sql(columns).all())
    for note_id, guid, kind, fields, tags, created, modified, mid, raw in found:
        if note_id in wanted:
            notes[note_id] = NoteRow(
                note_id, guid, kind, json.loads(fields), json.loads(tags), created, modified, mid,
                json.loads(raw) if raw is not None else None,
            )
    return notes


EXPORT_SUFFIX = ".apkg"


def check_output(out: Path, force: bool) -> None:
    """Refuse a target that is not an .apkg name, is a folder, or exists without *force*."""

    if out.suffix.lower() != EXPORT_SUFFIX and not out.is_dir():
        raise ExportError(f"{out.name}: an Anki package name ends in {EXPORT_SUFFIX} (srs writes decks with their scheduling, as Anki's .apkg)")
    check_target(out, force, "package", ExportError)


@collector_paused()
def export_package(
    session: Session,
    out: Path,
    now: datetime,
    deck_names: list[str] | None = None,
    scheduling: bool = True,
    force: bool = False,
    media_folder: Path | None = None,
    search: str | None = None,
    only_notes: set[NoteId] | None = None,
) -> ExportResult:
    """Write the selected decks to *out* atomically (temporary file, then rename).

    With *search* (Anki's search language) only the notes with a card it
    finds go, each with all its cards, as Anki's browser exports notes.
    Media files that imported notes refer to are packaged from *media_folder*
    (where ``srs import`` put them) when it is given.
    """
    check_output(out, force)
    note_ids = only_notes
    if search is not None:
        found = find_cards(session, search, clock_for(session), now)
        note_ids = set(session.scalars(select(Card.note_id).where(Card.id.in_(found)))) if found else set()
    cards, notes = select_cards(session, deck_names, note_ids)
    unsupported = _count_unsupported(session, deck_names)
    if not cards:
        what = ", ".join(deck_names) if deck_names else "the collection"
        raise ExportError(f"nothing to export: {what} has no cards" + (f" that {search!r} finds" if search is not None else ""))

    clock = clock_for(session)

    handle, tmp_db = tempfile.mkstemp(suffix=".anki2")
    os.close(handle)
    media = _media_files(notes, media_folder) if media_folder is not None else []

    def write(target: Path) -> None:
        # Deflate level 1: a third of the default level's time for a file about
        # 12% larger (measured on 20,000 notes / 200,000 reviews).
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.write(tmp_db, "collection.anki2")
            # legacy media list: zip member "N" holds the file named N's value
            archive.writestr("media", json.dumps({str(i): file.name for i, file in enumerate(media)}))
            for i, file in enumerate(media):
                archive.write(file, str(i))

    try:
        card_ids = _anki_card_ids([(c.id, c.created) for c in cards])
        counts, _ = _build_collection(session, Path(tmp_db), card_ids, lambda: (cards, notes), clock, now, scheduling)
        write_atomically(out, write, "package", ExportError)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        os.unlink(tmp_db)
    return ExportResult(out, *counts, unsupported_notes=unsupported, media=len(media))


@collector_paused()
def write_collection(
    session: Session, path: Path, now: datetime, media_folder: Path | None = None, media_target: Path | None = None,
) -> int:
    """The whole collection, with scheduling, as an Anki collection file at *path* (not packaged); how many notes.

    `srs sync` uploads this as its replica: Anki opens the file itself
    (upgrading its schema), so nothing is zipped, unzipped and imported
    again. A package is read by Anki's importer, which fills in what a bare
    collection must hold already: the v3 scheduler switched on (rslib
    config/bool.rs ``sched2021``) and a current note type. The media files its
    notes refer to are copied from *media_folder* to *media_target*.
    """
    # the cards' Anki ids from one light query: the review log's copy then runs while the cards and notes are read
    card_ids = _anki_card_ids(select_card_times(session))
    if not card_ids:
        raise ExportError("nothing to sync: the collection has no cards")

    def load() -> tuple[list[CardRow], dict[int, NoteRow]]:
        cards = select_card_rows(session, None)
        return cards, select_notes(session, cards)

    counts, notes = _build_collection(session, path, card_ids, load, clock_for(session), now, True)
    conn = sqlite3.connect(path)
    try:
        conf_json, models_json = conn.execute("SELECT conf, models FROM col").fetchone()
        conf = json.loads(conf_json)
        conf["sched2021"] = True
        conf["curModel"] = int(next(iter(json.loads(models_json))))
        conn.execute("UPDATE col SET conf = ?", (json.dumps(conf),))
        conn.commit()
    finally:
        conn.close()
    if media_folder is not None and media_target is not None:
        media_target.mkdir(parents=True, exist_ok=True)
        for file in _media_files(notes, media_folder):
            shutil.copyfile(file, media_target / file.name)
    return counts[1]


def _media_files(notes: dict[int, NoteRow], folder: Path) -> list[Path]:
    """Files in *folder* that the exported imported notes refer to (plain names only, never a path)."""
    names = set()
    for note in notes.values():
        for value in note.anki_fields or []:
            names |= media_refs(value)
    files = []
    for name in sorted(names):
        if not plain_name(name):
            continue  # a reference that is not a plain file name is never read from disk
        file = folder / name
        if file.is_file():
            files.append(file)
    return files


def _count_unsupported(session: Session, deck_names: list[str] | None) -> int:
    """Notes the selection holds whose kind has no srs note type (imported Anki note types)."""

    query = (
        select(func.count(func.distinct(Note.id)))
        .join(Card, Card.note_id == Note.id)
        .where(Note.orphaned.is_(False), Note.kind.not_in(list(NOTE_TYPES)), Note.anki_notetype_id.is_(None))
    )
    if deck_names:
        ids = _selected_deck_ids(session, deck_names)
        query = query.where(Card.deck_id.in_(ids))
    return session.scalar(query) or 0


def _anki_card_ids(cards: Sequence[tuple[CardId, int]]) -> dict[CardId, int]:
    """Anki card ids from (card, creation time in ms): unique, in creation order, so that Anki sees a re-export as the same cards."""
    ordered = sorted(cards, key=lambda c: (c[1], c[0]))
    return dict(zip((c[0] for c in ordered), _unique_ids([c[1] for c in ordered])))


def _build_collection(
    session: Session,
    path: Path,
    card_ids: dict[CardId, int],
    load: Callable[[], tuple[list[CardRow], dict[int, NoteRow]]],
    clock: Clock,
    now: datetime,
    scheduling: bool,
) -> tuple[tuple[int, int, int, int], dict[int, NoteRow]]:
    """Write the cards and notes *load* gives, and their answers, as an Anki collection at *path*: counts, and the notes.

    *card_ids* (``_anki_card_ids`` of the same cards) is known first, so the
    review log's copy starts before the cards and notes are read.
    """
    import genanki

    stamp = now.timestamp()
    # the review log is copied on a second thread (see below): the connection is handed over while it works
    conn = sqlite3.connect(path, uri=True, check_same_thread=False)
    copy: Background[int] | None = None
    try:
        cursor = conn.cursor()
        # A scratch file: no journal, no fsync; the archive is what must be durable.
        cursor.execute("PRAGMA journal_mode = OFF")
        cursor.execute("PRAGMA synchronous = OFF")
        # genanki writes the collection's tables and its col row (the decks and note types go in below)
        genanki.Package([]).write_to_db(cursor, stamp, itertools.count(int(stamp * 1000)))
        conn.commit()
        if scheduling:
            # The review log is one INSERT ... SELECT inside SQLite, which lets go of
            # Python's lock while it runs: it goes on while the notes are read and
            # the notes and cards formatted below (a third of a second for 200,000 answers).
            source = _source_uri(session)  # (the session stays on this thread)
            copy = Background(lambda: _write_revlog(conn, source, card_ids), "srs-revlog-copy")
        cards, notes = load()
        assert len(cards) == len(card_ids), "the cards read are the ones the ids were made for (one transaction)"
        decks = {d.id: d for d in session.scalars(select(Deck).where(Deck.id.in_({c.deck_id for c in cards})))}
        stories = StoryIndex(session)
        models: dict[str | int, Any] = {
            kind: _genanki_model(genanki, nt.model_id, nt.name, nt.fields, nt.templates) for kind, nt in NOTE_TYPES.items()
        }
        foreign = {n.anki_notetype_id for n in notes.values() if n.kind not in NOTE_TYPES}
        for nt in session.scalars(select(AnkiNotetype).where(AnkiNotetype.id.in_(foreign))):
            # a foreign note type as it was imported: same id, fields, templates and CSS
            models[nt.id] = _genanki_model(genanki, nt.id, nt.name, nt.fields, nt.templates, nt.css, nt.cloze)
        gdecks = {d.id: genanki.Deck(d.anki_id, d.name, description=_html(d.description)) for d in decks.values()}
        for parent in _missing_parents(session, decks):  # every deck with its whole tree: Anki's Check Database would
            gdecks[parent.id] = genanki.Deck(parent.anki_id, parent.name, description=_html(parent.description))  # fix it
            decks[parent.id] = parent
        taken = set(session.scalars(select(Deck.anki_id)))
        for name in _unheld_parents(decks):  # a parent srs never made as a deck of its own: the id its name gives
            attempt = 0
            while deck_anki_id(name, attempt) in taken:  # (a deck renamed from that name keeps the id it had)
                attempt += 1
            gdecks[DeckId(-len(gdecks) - 1)] = genanki.Deck(deck_anki_id(name, attempt), name)
        for key in {_model_key(n) for n in notes.values()}:
            next(iter(gdecks.values())).add_model(models[key])  # genanki writes a deck's models with it
        # Each note formatted, with our note ids (from creation time) and
        # modification times, so that Anki sees a re-export as an update of the same notes.
        ordered = sorted(notes.values(), key=lambda n: (n.created, n.id))
        note_ids = dict(zip((n.id for n in ordered), _unique_ids([n.created for n in ordered])))
        rows = []
        for note in ordered:
            if note.kind not in NOTE_TYPES:  # a foreign note goes back exactly as Anki gave it
                model = models[_model_key(note)]
                values = _fit(note.anki_fields or [], len(model.fields))
                rows.append(
                    (note_ids[note.id], note.guid, model.model_id, note.modified // 1000,
                     _anki_tags(note.tags), "\x1f".join(values), values[0] if values else "")
                )
                continue
            # the row genanki's Note would write (note.py: tags space-joined with a space at each end, fields
            # joined by 0x1f, the sort field at the model's index), built directly: tens of thousands per sync
            model = models[note.kind]
            values = _note_fields(stories, note)
            rows.append(
                (note_ids[note.id], note.guid, model.model_id, note.modified // 1000,
                 f" {' '.join(t.replace(' ', '_') for t in note.tags)} ", "\x1f".join(values), values[model.sort_field_index])
            )
        # Cards: ours, with their scheduling.
        presets = {p.id: p for p in session.scalars(select(Preset))}
        first_day = _first_day(session, cards, clock)
        today = clock.today(now)
        mod = int(now.timestamp())
        card_rows = [
            (card_ids[c.id], note_ids[c.note_id], decks[c.deck_id].anki_id, c.ord, mod,
             *_card_row(c, clock, first_day, presets[decks[c.deck_id].preset_id], scheduling, today))
            for c in cards
        ]
        review_count = copy.result() if copy is not None else 0  # the connection is ours again
        copy = None
        for gdeck in gdecks.values():  # the decks and their note types, into the col row
            gdeck.write_to_db(cursor, stamp, itertools.count(int(stamp * 1000)))
        cursor.executemany("INSERT INTO notes VALUES (?,?,?,?,-1,?,?,?,0,0,'')", rows)
        cursor.executemany("INSERT INTO cards VALUES (?,?,?,?,?,-1,?,?,?,?,?,?,?,?,0,0,0,?)", card_rows)
        _write_col(cursor, decks, presets, clock, first_day, now)
        conn.commit()
    finally:
        if copy is not None:  # an error above: the copy ends before the connection closes
            copy.wait()
        conn.close()
    return (len(decks), len(notes), len(cards), review_count), notes


def _parents(name: str) -> list[str]:
    parts = name.split("::")
    return ["::".join(parts[:k]) for k in range(1, len(parts))]


def _missing_parents(session: Session, decks: dict[DeckId, Deck]) -> list[Deck]:
    """srs's decks that are parents of *decks* and not among them (a parent with no cards of its own)."""
    have = {d.name.lower() for d in decks.values()}
    wanted = {p.lower() for d in decks.values() for p in _parents(d.name)} - have
    if not wanted:
        return []
    return [d for d in session.scalars(select(Deck)) if d.name.lower() in wanted]


def _unheld_parents(decks: dict[DeckId, Deck]) -> list[str]:
    """Parent names of *decks* that no deck of *decks* has (srs holds no such deck): Anki needs each as a deck."""
    have = {d.name.lower() for d in decks.values()}
    found: dict[str, str] = {}
    for deck in decks.values():
        for parent in _parents(deck.name):
            if parent.lower() not in have:
                found.setdefault(parent.lower(), parent)
    return sorted(found.values())


def _model_key(note: NoteRow) -> str | int:
    """Which note type a note is written with: srs's own for its kind, else its foreign one."""
    if note.kind in NOTE_TYPES or note.anki_notetype_id is None:
        return note.kind
    return note.anki_notetype_id


def _fit(values: list[str], count: int) -> list[str]:
    """Field values fitted to a note type's field count (it may have changed in a later import)."""
    return (values + [""] * count)[:count]


def _anki_tags(tags: list[str]) -> str:
    """Tags as Anki stores them: space-separated, with a space at each end."""
    return f" {' '.join(t.replace(' ', '_') for t in tags)} " if tags else ""


def _source_uri(session: Session) -> str:
    """The srs database, opened read-only, for ATTACH."""

    return sqlite_uri(database_file(session), read_only=True)


def _ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def _day(clock: Clock, ms: int) -> int:
    return clock.day_of_ms(ms)


def _first_day(session: Session, cards: list[CardRow], clock: Clock) -> int:
    """The collection's creation day: no card or review of the package is older."""
    earliest = min(c.created for c in cards)
    first_review = session.connection().exec_driver_sql("SELECT min(reviewed_at) FROM reviews").scalar()
    if first_review is not None:
        earliest = min(earliest, first_review)
    return _day(clock, earliest)


def _card_row(card: CardRow, clock: Clock, first_day: int, preset: Preset, scheduling: bool, today: int) -> tuple[Any, ...]:
    """(type, queue, due, ivl, factor, reps, lapses, left, data) in Anki's terms.

    A card whose schedule Anki gave it (and srs has not changed since) gets
    that schedule back: its due day, interval, queue and steps left.
    """
    buried = card.buried_until is not None and card.buried_until > today
    kept = card.anki_schedule
    if scheduling and kept is not None and int(kept.get("type", -1)) == card.state:
        kind, queue, due, ivl, left = to_anki(kept, card.state, card.due, first_day, clock, card.suspended, buried)
        if card.state == CardState.NEW or card.stability is None or card.difficulty is None or card.last_review is None:
            return (kind, queue, due, ivl, int(kept.get("factor", 0)), card.reps, card.lapses, left, "")
        return (kind, queue, due, ivl, int(kept.get("factor", 0)) or _difficulty_factor(card.difficulty), card.reps,
                card.lapses, left, _memory_data(card, preset))
    if not scheduling or card.state == CardState.NEW or card.due is None:
        queue = QUEUE_SUSPENDED if card.suspended else QUEUE_USER_BURIED if buried and scheduling else QUEUE_NEW
        return (0, queue, card.position, 0, 0, 0, 0, 0, "")
    assert card.last_review is not None and card.stability is not None and card.difficulty is not None
    due_day = _day(clock, card.due)
    if card.state == CardState.REVIEW:
        queue, due = QUEUE_REVIEW, due_day - first_day
        ivl = max(1, due_day - _day(clock, card.last_review))
        left = 0
    else:
        steps = preset.learning_steps if card.state == CardState.LEARNING else preset.relearning_steps
        left = max(1, len(steps) - (card.step or 0))
        if due_day > _day(clock, card.last_review):  # the step crosses the rollover: a day-learn card
            queue, due = QUEUE_DAY_LEARN, due_day - first_day
        else:
            queue, due = QUEUE_LEARN, card.due // 1000
        ivl = 0 if card.state == CardState.LEARNING else max(1, round(card.stability))
    if card.suspended:
        queue = QUEUE_SUSPENDED
    elif buried:
        queue = QUEUE_USER_BURIED
    return (
        card.state, queue, due, ivl, _difficulty_factor(card.difficulty), card.reps, card.lapses, left,
        _memory_data(card, preset),
    )


def _memory_data(card: CardRow, preset: Preset) -> str:
    """The card's FSRS memory state as Anki's card `data` JSON (rslib storage/card/data.rs)."""
    assert card.stability is not None and card.difficulty is not None and card.last_review is not None
    # the JSON written out by hand (one per card, tens of thousands per sync): floats by repr, as json.dumps writes them
    return (
        f'{{"s":{round(card.stability, 4)!r},"d":{round(card.difficulty, 3)!r},"dr":{round(preset.desired_retention, 2)!r},'
        f'"decay":{round(preset.parameters[20], 3)!r},"lrt":{card.last_review // 1000}}}'
    )


def revlog_interval(state: int, due: datetime, at: datetime, clock: Clock) -> int:
    """Anki's revlog interval of an answer: days when next due on a later day, else negative seconds."""
    return anki_interval(clock, state, _ms(due), _ms(at))


def _write_revlog(conn: sqlite3.Connection, source: str, card_ids: dict[CardId, int]) -> int:
    """Copy the review log into the package's revlog, in SQL.

    Reviews already hold Anki's revlog fields (unique millisecond times,
    intervals in revlog units; see db._m003), so this is one INSERT ... SELECT
    over the attached srs database; only card ids are mapped.
    """
    cursor = conn.cursor()
    cursor.execute("CREATE TEMP TABLE card_map (srs_id INTEGER PRIMARY KEY, anki_id INTEGER NOT NULL)")
    # one statement, no Python per row (this runs beside other work, see _build_collection)
    cursor.execute(
        "INSERT INTO card_map SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)",
        (json.dumps(list(card_ids.items())),),
    )
    cursor.execute("ATTACH DATABASE ? AS src", (source,))
    # Bulk insert without the revlog's indexes, then build them once.
    indexes = cursor.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = 'revlog' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX main."{name}"')
    try:
        # rslib revlog/mod.rs: type 0 learn, 1 review, 2 relearn; with FSRS the
        # factor is the difficulty mapped to 100-1100 (card/mod.rs difficulty_shifted).
        # An answer imported from Anki goes back as Anki wrote it. The reviews
        # are read in table order and sorted once (NOT INDEXED): walking the
        # time index visits the table's pages out of order, about twice as slow.
        cursor.execute(
            """INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)
               SELECT r.reviewed_at, m.anki_id, -1, r.rating, coalesce(r.anki_ivl, r.interval),
                      coalesce(r.anki_last_ivl, r.last_interval),
                      coalesce(r.anki_factor, CAST(round(((r.difficulty - 1.0) / 9.0 + 0.1) * 1000) AS INTEGER)),
                      max(r.duration_ms, 0),
                      coalesce(r.anki_type, CASE r.prev_state WHEN 2 THEN 1 WHEN 3 THEN 2 ELSE 0 END)
               FROM src.reviews r NOT INDEXED JOIN temp.card_map m ON m.srs_id = r.card_id
               ORDER BY r.reviewed_at"""
        )
        count = cursor.rowcount
        # A card made new again (srs card forget) gets the row Anki writes for
        # its own reset: a manual entry (type 4) with ease, intervals and factor
        # 0, after which Anki's FSRS ignores the earlier answers (rslib
        # revlog/mod.rs RevlogReviewKind::Manual; scheduler/fsrs/memory_state.rs).
        cursor.execute(
            """INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)
               SELECT c.reset_at, m.anki_id, -1, 0, 0, 0, 0, 0, 4
               FROM src.cards c JOIN temp.card_map m ON m.srs_id = c.id WHERE c.reset_at IS NOT NULL"""
        )
        for _, sql in indexes:
            cursor.execute(sql)
        conn.commit()
    finally:
        cursor.execute("DETACH DATABASE src")
    return count


def _write_col(
    cursor: sqlite3.Cursor, decks: dict[DeckId, Deck], presets: dict[PresetId, Preset], clock: Clock, first_day: int, now: datetime,
) -> None:
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
                "name": options_group_names(preset.name)[0],  # srs's own name for it
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
        deck = by_anki_id.get(AnkiDeckId(int(key)))
        if deck is not None:
            value["conf"] = PRESET_ID_BASE + deck.preset_id
    cursor.execute(
        "UPDATE col SET crt = ?, mod = ?, conf = ?, dconf = ?, decks = ?",
        (int(crt_instant.timestamp()), _ms(now), json.dumps(conf), json.dumps(dconf), json.dumps(deck_map)),
    )
