"""Importing Anki packages into the collection, with their review history.

One transaction: either the whole package arrives or nothing changes. The
steps, in order:

1. deck options become presets (our own "srs · NAME" preset coming back
   updates preset NAME), so memory states are computed with the parameters
   the cards were scheduled with, including parameters optimised in Anki;
2. decks are created or reused by name and get their preset;
3. notes are matched by guid: a known note is updated when Anki's copy is
   newer, an unknown one is added; srs's own note types map back to their
   kinds, foreign ones become ``anki`` notes with their cards' text rendered;
4. revlog rows become reviews, keyed by their time (Anki's revlog id), so
   importing twice adds nothing; rows that are not answers are skipped the
   way Anki's FSRS code skips them (rslib scheduler/fsrs/params.rs,
   ``reviews_for_fsrs``): cramming in filtered decks, manual reschedules,
   and everything before a reset to new;
5. every touched card's state is recomputed by replaying its merged history.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from srs.anki.formats import AnkiPackage, AnkiRevlog, DeckOptions, NoteType, read_package
from srs.anki.notetypes import BY_MODEL_ID
from srs.anki.render import card_text, html_to_text
from srs.errors import ImportError_
from srs.models import Card, CardState, Note, NoteKind, Preset, Story

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ANKI_KIND = "anki"  # notes of foreign note types
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
Progress = Callable[[str, int, int], None]


@dataclass
class ImportSummary:
    notes_new: int = 0
    notes_updated: int = 0
    notes_unchanged: int = 0
    cards_new: int = 0
    reviews_added: int = 0
    reviews_present: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    media: int = 0


def _ms(value: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=value)


def _field_text(value: str) -> str:
    """A field as srs stores text: our exports escape text and turn newlines into <br>."""
    return html.unescape(re.sub(r"<br\s*/?>", "\n", value))


def _own_fields(kind: str, nt: NoteType, values: list[str]) -> dict[str, str]:
    raw = dict(zip(nt.fields, values))
    if kind == NoteKind.LIST:
        items = [re.sub(r"^•\s*", "", line) for line in _field_text(raw.get("Items", "")).split("\n") if line.strip()]
        return {"Context": _field_text(raw.get("Context", "")), "Items": "\n".join(items)}
    computed = {"Hint", "Stories", "Beats", "Numbers"}  # derived by the exporter, not stored
    return {name: _field_text(value) for name, value in raw.items() if name not in computed}


def _foreign_fields(nt: NoteType, values: list[str], ords: list[int]) -> dict[str, str]:
    raw = dict(zip(nt.fields, values))
    fields = {name: html_to_text(value) for name, value in raw.items()}
    for ord_ in ords:
        template = nt.templates[0] if nt.cloze else (nt.templates[ord_] if ord_ < len(nt.templates) else None)
        if template is None:
            continue
        front, back = card_text(template, raw, ord_, nt.cloze)
        fields[f"Front {ord_}"] = front
        fields[f"Back {ord_}"] = back
    return fields


def answers_for_fsrs(entries: list[AnkiRevlog]) -> tuple[list[AnkiRevlog], Counter[str]]:
    """The revlog rows that are answers FSRS learns from, and why the others were skipped.

    Follows rslib scheduler/fsrs/params.rs ``reviews_for_fsrs`` (not training,
    no cut-off date): working back from the latest row, history starts at the
    last group of learning steps, or after a reset to new; cramming rows and
    rows without a rating (manual reschedules, resets) are dropped.
    """
    skipped: Counter[str] = Counter()

    def cramming(e: AnkiRevlog) -> bool:
        return e.type == 3 and e.factor == 0

    def reset(e: AnkiRevlog) -> bool:
        return e.type == 4 and e.factor == 0

    first_learn = first_grade = None
    start = 0
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        if cramming(entry):
            continue
        graded = entry.ease > 0
        interday = entry.ivl >= 1 or entry.ivl <= -86_400
        if graded and interday:
            first_grade = index
        if graded and entry.type == 0:
            first_learn = index
        elif reset(entry):
            if first_learn is None and first_grade is None:
                skipped["before a reset to new"] += len(entries)
                return [], skipped
            break
        elif first_learn is not None:
            break
    if first_learn is not None:
        start = first_learn
    elif first_grade is not None:
        start = first_grade
    else:
        start = len(entries)
    if start:
        skipped["before a reset to new, or before the last learning steps"] += start
    kept = []
    for entry in entries[start:]:
        if cramming(entry):
            skipped["filtered-deck preview"] += 1
        elif entry.ease == 0:
            skipped["manual reschedule"] += 1
        else:
            kept.append(entry)
    return kept, skipped


def import_package(
    session: Session,
    path: Path,
    now: datetime,
    media_folder: Path | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import an .apkg, .colpkg or review-log .csv; the caller commits (or rolls back on error)."""
    if path.suffix.lower() == ".csv":
        return import_review_csv(session, path, now, progress)
    with tempfile.TemporaryDirectory(prefix="srs-import-") as work:
        package = read_package(path, Path(work))
        summary = _merge(session, package, now, progress or (lambda stage, done, total: None))
        if media_folder is not None and package.media:
            from srs.anki.formats import extract_media

            summary.media = len(extract_media(path, package, media_folder))
    return summary


def _preset_for(session: Session, options: DeckOptions | None) -> Preset:
    from sqlalchemy import select

    from srs.settings import default_preset

    if options is None:
        return default_preset(session)
    name = options.name[len("srs · ") :] if options.name.startswith("srs · ") else f"Anki · {options.name}"
    preset = session.scalars(select(Preset).where(Preset.name == name)).first()
    base = default_preset(session)
    if preset is None:
        preset = Preset(
            name=name, desired_retention=base.desired_retention, parameters=list(base.parameters),
            learning_steps=list(base.learning_steps), relearning_steps=list(base.relearning_steps),
            maximum_interval=base.maximum_interval,
        )
        session.add(preset)
    params = list(options.params)
    if len(params) == 19:  # FSRS-5: FSRS-6 with no short-term exponent and decay 0.5
        params += [0.0, 0.5]
    if len(params) == 21:
        from fsrs import Scheduler as FsrsScheduler

        try:
            FsrsScheduler(parameters=params)
            preset.parameters = params
        except ValueError:
            pass  # out of bounds: keep the defaults
    preset.desired_retention = min(0.99, max(0.7, options.desired_retention))
    preset.learning_steps = [round(m * 60) for m in options.learn_steps if m > 0]
    preset.relearning_steps = [round(m * 60) for m in options.relearn_steps if m > 0]
    preset.maximum_interval = max(1, min(36500, options.maximum_interval))
    session.flush()
    return preset


def _merge(session: Session, package: AnkiPackage, now: datetime, progress: Progress) -> ImportSummary:
    from sqlalchemy import select

    from srs.decks import get_or_create_deck
    from srs.review import Schedulers
    from srs.settings import clock_for

    summary = ImportSummary()
    guids: set[str] = set()
    for note in package.notes:
        if note.guid in guids or not note.guid:
            raise ImportError_(f"the package has more than one note with guid {note.guid!r}")
        guids.add(note.guid)
        nt = package.notetypes.get(note.mid)
        if nt is None:
            raise ImportError_(f"note {note.id} uses note type {note.mid}, which the package does not contain")
        if len(note.fields) != len(nt.fields):
            raise ImportError_(
                f"note {note.id} has {len(note.fields)} fields but its note type {nt.name!r} has {len(nt.fields)}"
            )

    # 1-2. presets and decks
    presets: dict[int, Preset] = {}
    decks: dict[int, int] = {}

    def deck_for(card_did: int, odid: int) -> int:
        did = odid or card_did
        if did not in decks:
            info = package.decks.get(did)
            name = info.name if info is not None else "Imported"
            deck = get_or_create_deck(session, name, now, source="anki")
            options_id = info.options_id if info is not None else None
            if options_id not in presets:
                presets[options_id] = _preset_for(session, package.deck_options.get(options_id) if options_id is not None else None)  # type: ignore[index]
            deck.preset_id = presets[options_id].id  # type: ignore[index]
            decks[did] = deck.id
        return decks[did]

    # 3. notes and cards (added in bulk: a package may hold tens of thousands)
    existing_notes: dict[str, Note] = {}
    guids = [n.guid for n in package.notes]
    for chunk in range(0, len(guids), 500):
        for note in session.scalars(select(Note).where(Note.guid.in_(guids[chunk : chunk + 500]))):
            existing_notes[note.guid] = note
    existing_cards: dict[tuple[int, int], Card] = {}
    ids = [n.id for n in existing_notes.values()]
    for chunk in range(0, len(ids), 500):
        for card in session.scalars(select(Card).where(Card.note_id.in_(ids[chunk : chunk + 500]))):
            existing_cards[(card.note_id, card.ord)] = card
    cards_by_note: dict[int, list] = defaultdict(list)  # type: ignore[type-arg]
    for acard in package.cards:
        cards_by_note[acard.nid].append(acard)
    position = (session.scalar(select(Card.position).order_by(Card.position.desc()).limit(1)) or 0) + 1
    new_notes: list[tuple[Note, list]] = []  # type: ignore[type-arg]
    placed: list[tuple[Note, list]] = []  # type: ignore[type-arg]
    for done, anote in enumerate(package.notes):
        if done % 1000 == 0:
            progress("notes", done, len(package.notes))
        nt = package.notetypes[anote.mid]
        own = BY_MODEL_ID.get(nt.id)
        kind = own.kind if own is not None else ANKI_KIND
        acards = sorted(cards_by_note.get(anote.id, []), key=lambda c: c.ord)
        fields = _own_fields(kind, nt, anote.fields) if own is not None else _foreign_fields(nt, anote.fields, [c.ord for c in acards])
        tags = list(anote.tags)
        modified = _EPOCH + timedelta(seconds=anote.mod)
        note = existing_notes.get(anote.guid)
        if note is None:
            note = _NewNote(
                guid=anote.guid, kind=kind, fields=fields, tags=tags, source="anki",
                created=_ms(anote.id) if anote.id > 0 else now, modified=modified,
            )
            new_notes.append((note, acards))
            summary.notes_new += 1
        else:
            if int(note.modified.timestamp()) < anote.mod and (note.fields != fields or note.tags != tags):
                note.fields, note.tags, note.modified = fields, tags, modified
                summary.notes_updated += 1
            else:
                summary.notes_unchanged += 1
            placed.append((note, acards))
    # New notes and cards go in with plain executemany: an import may add tens
    # of thousands, and ORM objects would cost more than everything else.
    conn = session.connection()
    note_base = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM notes").scalar() or 0
    conn.exec_driver_sql(
        "INSERT INTO notes (id, guid, kind, fields, tags, source, source_key, orphaned, created, modified) "
        "VALUES (?,?,?,?,?,?,NULL,0,?,?)",
        [
            (note_base + 1 + i, n.guid, n.kind, json.dumps(n.fields, ensure_ascii=False), json.dumps(n.tags, ensure_ascii=False),
             n.source, to_key(n.created), to_key(n.modified))
            for i, (n, _) in enumerate(new_notes)
        ],
    ) if new_notes else None
    for i, (note, _) in enumerate(new_notes):
        note.id = note_base + 1 + i  # a detached stand-in: its row is written above
    stories = []
    for note, _ in new_notes:
        if note.kind == NoteKind.STORY:
            from srs.competencies import COMPETENCIES

            labels = {c.label.lower(): c.slug for c in COMPETENCIES}
            names = [x.strip().lower() for x in note.fields.get("Competencies", "").split(",")]
            stories.append(Story(note_id=note.id, competencies=[labels[x] for x in names if x in labels], favorite=False))
    session.add_all(stories)
    card_map: dict[int, Card | _NewCard] = {}
    new_cards: list[_NewCard] = []
    card_base = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM cards").scalar() or 0
    for note, acards in [*placed, *new_notes]:
        for acard in acards:
            card = existing_cards.get((note.id, acard.ord))
            deck_id = deck_for(acard.did, acard.odid)
            if card is None:
                card = _NewCard(
                    id=card_base + 1 + len(new_cards), note_id=note.id, ord=acard.ord, deck_id=deck_id, position=position,
                    suspended=acard.queue == -1, created=_ms(acard.id) if acard.id > 0 else now, modified=now,
                )
                position += 1
                new_cards.append(card)
            card_map[acard.id] = card
    summary.cards_new = len(new_cards)

    # 4-5. review history, merged and replayed per card
    by_card: dict[int, list[AnkiRevlog]] = defaultdict(list)
    for entry in package.revlog:
        if entry.cid in card_map:
            by_card[entry.cid].append(entry)
        else:
            summary.skipped["card not in the package"] += 1
    clock = clock_for(session)
    schedulers = Schedulers(session, clock)
    taken = {row[0] for row in conn.exec_driver_sql("SELECT reviewed_at FROM reviews")}
    known: dict[int, list[tuple]] = defaultdict(list)  # type: ignore[type-arg]
    touched_ids = [card_map[cid].id for cid in by_card]
    for chunk in range(0, len(touched_ids), 500):
        part = touched_ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        for row in conn.exec_driver_sql(
            f"SELECT id, card_id, reviewed_at, rating, duration_ms FROM reviews WHERE card_id IN ({marks})", tuple(part)
        ):
            known[row[1]].append(row)
    inserts: list[tuple] = []  # type: ignore[type-arg]
    updates: list[tuple] = []  # type: ignore[type-arg]
    for done, (cid, entries) in enumerate(by_card.items()):
        if done % 1000 == 0:
            progress("reviews", done, len(by_card))
        card = card_map[cid]
        answers, skipped = answers_for_fsrs(sorted(entries, key=lambda e: e.id))
        summary.skipped.update(skipped)
        mine = known.get(card.id, [])
        present = {row[2] for row in mine}
        history = [(row[2], row[3], row[4], row[0]) for row in mine]  # (ms, rating, duration, review id)
        added = False
        for entry in answers:
            if entry.id in present:
                summary.reviews_present += 1
                continue
            at = entry.id
            while at in taken:  # another card's answer holds this instant
                at += 1
            taken.add(at)
            present.add(entry.id)
            history.append((at, entry.ease, max(0, entry.time), None))
            summary.reviews_added += 1
            added = True
        if added:
            history.sort()
            _replay(card, history, schedulers.for_card_in(card.deck_id), inserts, updates, now)
    progress("reviews", len(by_card), len(by_card))
    if new_cards:
        conn.exec_driver_sql(
            "INSERT INTO cards (id, note_id, ord, deck_id, state, step, stability, difficulty, due, last_review, reps, "
            "lapses, suspended, position, created, modified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (c.id, c.note_id, c.ord, c.deck_id, int(c.state), c.step, c.stability, c.difficulty,
                 to_key(c.due) if c.due else None, to_key(c.last_review) if c.last_review else None,
                 c.reps, c.lapses, int(c.suspended), c.position, to_key(c.created), to_key(c.modified))
                for c in new_cards
            ],
        )
    if inserts:
        # A large history goes in faster with the review indexes rebuilt once
        # afterwards (inside this transaction; the unique index re-checks times).
        rebuild = len(inserts) > 20_000
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reviews' AND sql IS NOT NULL"
        ).all() if rebuild else []
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.exec_driver_sql(
            "INSERT INTO reviews (card_id, reviewed_at, rating, duration_ms, prev_state, state, step, stability, "
            "difficulty, due, interval, last_interval) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            inserts,
        )
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
    if updates:
        conn.exec_driver_sql(
            "UPDATE reviews SET prev_state = ?, state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
            "interval = ?, last_interval = ? WHERE id = ?",
            updates,
        )
    session.flush()
    return summary


class _NewNote:
    """A note the import adds: plain attributes, written in one batch."""

    def __init__(self, **values: object) -> None:
        self.id = 0
        self.__dict__.update(values)


class _NewCard:
    """A card the import adds: plain attributes, written in one batch at the end."""

    def __init__(self, **values: object) -> None:
        self.state, self.step, self.stability, self.difficulty = CardState.NEW, None, None, None
        self.due = self.last_review = None
        self.reps = self.lapses = 0
        self.__dict__.update(values)


def to_key(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def _replay(card, history, scheduler, inserts, updates, now) -> None:  # type: ignore[no-untyped-def]
    """Replay a card's merged history: rows to insert or update, and the card's state."""
    from srs.scheduler import Memory, apply_memory

    states = scheduler.replay_ms([(rating, at_ms) for at_ms, rating, _, _ in history], card.id)
    last_interval = 0
    prev_state = int(CardState.NEW)
    lapses = 0
    for (at_ms, rating, duration, review_id), (state, step, stability, difficulty, due_ms, interval) in zip(history, states):
        values = (prev_state, state, step, stability, difficulty, due_ms, interval, last_interval)
        if review_id is None:
            inserts.append((card.id, at_ms, rating, duration, *values))
        else:
            updates.append((*values, review_id))
        lapses += prev_state == CardState.REVIEW and rating == 1
        last_interval, prev_state = interval, state
    state, step, stability, difficulty, due_ms, _ = states[-1]
    apply_memory(
        card,
        Memory(
            state=CardState(state), step=step, stability=stability, difficulty=difficulty,
            due=_ms(due_ms), last_review=_ms(history[-1][0]), reps=len(history), lapses=lapses,
        ),
    )
    card.modified = now


CSV_COLUMNS = ("card_id", "review_time", "review_rating", "review_state", "review_duration")
_CSV_NOTETYPE_ID = -1


def read_review_csv(path: Path) -> AnkiPackage:
    """A review-log CSV in the FSRS optimizer's format, as a package of placeholder cards.

    Columns (https://github.com/open-spaced-repetition/fsrs-benchmark):
    card_id, review_time (Unix ms), review_rating (1-4; 0 for a manual
    change), review_state (0 new, 1 learning, 2 review, 3 relearning),
    review_duration (ms). Cards get a note "Card N" whose guid is fixed by N,
    so importing the same file twice adds nothing.
    """
    import csv

    from srs.anki.formats import AnkiCard, AnkiNote, DeckInfo

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportError_(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportError_(f"{path.name}: missing column(s) {', '.join(missing)} (need {', '.join(CSV_COLUMNS)})")
    package = AnkiPackage(layout="csv", crt=0, rollover=4)
    package.notetypes[_CSV_NOTETYPE_ID] = NoteType(_CSV_NOTETYPE_ID, "Review history", False, ["Front"], [("Card", "{{Front}}", "{{FrontSide}}")])
    package.decks[1] = DeckInfo(1, "Imported::Review history", None)
    seen: set[int] = set()
    for line, row in enumerate(reader, start=2):
        try:
            card_id, at, rating, state, duration = (int(float(row[c])) for c in CSV_COLUMNS)
        except (TypeError, ValueError):
            raise ImportError_(f"{path.name} line {line}: every column must be a number") from None
        if not 0 <= rating <= 4 or not 0 <= state <= 4 or at <= 0 or duration < 0:
            raise ImportError_(f"{path.name} line {line}: rating must be 0-4, state 0-4, time and duration positive")
        if card_id not in seen:
            seen.add(card_id)
            package.notes.append(AnkiNote(card_id, f"csv-{card_id}", _CSV_NOTETYPE_ID, 0, [], [f"Card {card_id}"]))
            package.cards.append(AnkiCard(card_id, card_id, 1, 0, 0, 0, 0, 0, 0, 0, 0, ""))
        kind = {0: 0, 1: 0, 2: 1, 3: 2}.get(state, 4)
        package.revlog.append(AnkiRevlog(at, card_id, rating, 1 if kind == 1 else 0, 0, 2500, duration, kind))
    if not package.revlog:
        raise ImportError_(f"{path.name} has no review rows")
    package.revlog.sort(key=lambda r: r.id)
    return package


def import_review_csv(session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Import a review-log CSV; the caller commits."""
    return _merge(session, read_review_csv(path), now, progress or (lambda stage, done, total: None))
