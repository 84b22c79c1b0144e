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
import math
import re
import sqlite3
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from srs.anki.formats import (
    AnkiCard,
    AnkiNote,
    AnkiPackage,
    DeckInfo,
    DeckOptions,
    NoteType,
    Progress,
    Revlog,
    preset_name,
    read_collection,
    read_package,
)
from srs.anki.media import MediaImport, media_refs
from srs.anki.notetypes import BY_MODEL_ID
from srs.anki.render import foreign_fields
from srs.anki.schedule import day_zero, from_anki
from srs.bulk import collector_paused, flat_chunks, insert_flat, json_ints, json_strings
from srs.competencies import COMPETENCIES
from srs.decks import get_or_create_deck
from srs.domain import (
    AnkiCardId,
    AnkiDeckConfigId,
    AnkiDeckId,
    AnkiNoteId,
    AnkiNotetypeId,
    CardId,
    CardState,
    DeckId,
    NoteId,
    NoteKind,
    from_ms,
    to_ms,
)
from srs.errors import ImportError_
from srs.files import read_text
from srs.models import AnkiNotetype, Card, Note, Preset, Story
from srs.scheduler import NEW, Replayed, Scheduler, apply_memory, validate_parameters
from srs.settings import Schedulers, clock_for, default_preset

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

ANKI_KIND = "anki"  # notes of foreign note types
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class ImportSummary:
    notes_new: int = 0
    notes_updated: int = 0
    notes_unchanged: int = 0
    cards_new: int = 0
    reviews_added: int = 0
    reviews_present: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # revlog rows, by reason
    skipped_cards: Counter[str] = field(default_factory=Counter)  # cards Anki's own check would drop, by reason
    skipped_notes: Counter[str] = field(default_factory=Counter)  # notes left as srs holds them, by reason
    notes_rerendered: int = 0  # unchanged notes whose note type's templates changed: their cards' text follows
    media: int = 0  # the package's media files, stored now or already in the folder
    media_new: int = 0
    media_renamed: int = 0  # new, stored under another name: a different file already had theirs
    # removes the media files this import added: for the caller, if its commit fails (a full disk, say)
    discard_media: Callable[[], None] = field(default=lambda: None, repr=False)
    schedules_kept: int = 0  # cards due when Anki had them due (until answered in srs)
    schedules_replaced: int = 0  # cards whose Anki values are no schedule, or new on one side only: srs's replay
    schedules_unexplained: int = 0  # cards whose history ends in another state than Anki's: Anki's state kept
    answered_in_package: dict[CardId, int] = field(default_factory=dict)  # card -> its latest answer new to srs (ms)
    replayed_over_anki: set[CardId] = field(default_factory=set)  # (a sync) answered on both sides: the replay stands

    def lines(self, name: str) -> list[str]:
        """What the import of file *name* did, as the lines `srs import` prints."""
        return _summary_lines(self, name)


def _summary_lines(summary: ImportSummary, name: str) -> list[str]:
    lines = [
        f"Imported {name}: notes {summary.notes_new} new, {summary.notes_updated} updated, "
        f"{summary.notes_unchanged} unchanged; {summary.cards_new} new cards; reviews {summary.reviews_added} added, "
        f"{summary.reviews_present} already present"
        + (f"; {summary.media} media files ({summary.media_new} new)" if summary.media else "") + "."
    ]
    if summary.media_renamed:
        lines.append(
            f"  {summary.media_renamed} media file(s) stored under a new name (the folder already had a different file "
            "by that name); their notes refer to the new name"
        )
    if summary.schedules_unexplained:
        lines.append(
            f"  {summary.schedules_unexplained} card(s) kept in the state Anki had them in, which their answers alone "
            "do not lead to (a preset changed since, say); srs goes on from there"
        )
    if summary.schedules_replaced:
        lines.append(
            f"  {summary.schedules_replaced} card(s) scheduled by srs: their history in the package does not explain "
            "the state Anki had them in (a due date set by hand, say)"
        )
    if summary.notes_rerendered:
        lines.append(f"  {summary.notes_rerendered} unchanged note(s) shown with their note type's new card templates")
    lines += [f"  skipped {count} note(s): {reason}" for reason, count in sorted(summary.skipped_notes.items())]
    lines += [f"  skipped {count} card(s): {reason}" for reason, count in sorted(summary.skipped_cards.items())]
    lines += [f"  skipped {count} revlog row(s): {reason}" for reason, count in sorted(summary.skipped.items())]
    return lines


def _field_text(value: str) -> str:
    """A field as srs stores text: our exports escape text and turn newlines into <br>."""
    if "<" not in value and "&" not in value:
        return value
    return html.unescape(re.sub(r"<br\s*/?>", "\n", value))


def _own_fields(kind: str, nt: NoteType, values: list[str]) -> dict[str, str]:
    raw = dict(zip(nt.fields, values))
    if kind == NoteKind.LIST:
        items = [re.sub(r"^•\s*", "", line) for line in _field_text(raw.get("Items", "")).split("\n") if line.strip()]
        return {"Context": _field_text(raw.get("Context", "")), "Items": "\n".join(items)}
    computed = {"Hint", "Stories", "Beats", "Numbers"}  # derived by the exporter, not stored
    return {name: _field_text(value) for name, value in raw.items() if name not in computed}


def answers_for_fsrs(
    cid: np.ndarray, ease: np.ndarray, ivl: np.ndarray, factor: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, Counter[str]]:
    """Which revlog rows are answers FSRS learns from, and why the others were skipped.

    The rows are sorted by card, then time. Follows rslib
    scheduler/fsrs/params.rs ``reviews_for_fsrs`` (not training, no cut-off
    date): working back from a card's latest row, its history starts at the
    last group of learning steps, or after a reset to new; cramming rows and
    rows without a rating (manual reschedules, resets) are dropped.

    The backward walk is done for all cards at once. It stops at the latest
    row that is not a learning step and is either a reset or has a learning
    step after it; a reset with neither a learning step nor an inter-day
    answer after it drops the card's whole history. Otherwise history starts
    at the first learning step after the stop, else at the first inter-day
    answer from the stop on, else nowhere.
    """
    import numpy as np

    skipped: Counter[str] = Counter()
    n = len(cid)
    if n == 0:
        return np.zeros(0, dtype=bool), skipped
    index = np.arange(n, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, cid[1:] != cid[:-1]])  # each card's first row
    card = np.cumsum(np.r_[False, cid[1:] != cid[:-1]])  # card number of each row
    cram = (kind == 3) & (factor == 0)
    reset = (kind == 4) & (factor == 0)
    graded = ease > 0
    learn = graded & (kind == 0)
    answer = graded & ((ivl >= 1) | (ivl <= -86_400)) & ~cram  # an inter-day answer

    def last_of(mask: np.ndarray) -> np.ndarray:  # per card: latest row index with mask, else -1
        return np.maximum.reduceat(np.where(mask, index, -1), first)

    def first_of(mask: np.ndarray) -> np.ndarray:  # per card: earliest row index with mask, else n
        return np.minimum.reduceat(np.where(mask, index, n), first)

    last_learn = last_of(learn)
    stop = last_of(~cram & ~learn & (reset | (last_learn[card] > index)))
    stopped = stop >= 0
    stop_row = np.maximum(stop, 0)
    last_answer = last_of(answer)
    dropped = stopped & reset[stop_row] & (last_learn <= stop) & (last_answer < stop)
    from_learn = first_of(learn & (index > stop[card]))
    from_answer = first_of(answer & (index >= stop[card]))
    ends = np.r_[first[1:], n]
    start = np.where(from_learn < n, from_learn, np.where(from_answer < n, from_answer, ends))
    start = np.where(dropped, ends, start)
    after = index >= start[card]
    keep = after & ~cram & (ease != 0)
    lengths = ends - first
    skipped["before a reset to new"] += int(lengths[dropped].sum())
    skipped["before a reset to new, or before the last learning steps"] += int((start - first)[~dropped].sum())
    skipped["filtered-deck preview"] += int((after & cram).sum())
    skipped["manual reschedule"] += int((after & ~cram & (ease == 0)).sum())
    return keep, +skipped


@collector_paused()
def import_package(
    session: Session,
    path: Path,
    now: datetime,
    media_folder: Path | None = None,
    progress: Progress | None = None,
    synced: datetime | None = None,
    leave_out: Collection[int] = (),
) -> ImportSummary:
    """Import an .apkg, .colpkg or review-log .csv; the caller commits (or rolls back on error).

    *synced* is the time of srs's last sync when a sync pulls what arrived
    (None for an import). Then a card answered on both sides without the
    other's answers is listed in the summary's replayed_over_anki, for the
    sync to send its replay back; and a note srs has not edited since that
    sync takes the package's text whatever its time (the other side edited
    it, with a clock that may run behind srs's). *leave_out* are the ids of
    notes a sync leaves out, with their cards and answers (srs.sync says
    which and why).
    """
    if path.suffix.lower() == ".csv":
        return import_review_csv(session, path, now, progress)
    with tempfile.TemporaryDirectory(prefix="srs-import-") as work:
        package = read_package(path, Path(work), leave_out)
        media = MediaImport(media_folder) if media_folder is not None and package.media else None
        return _import(session, package, now, media, lambda m, report: m.store(path, package, report), progress, synced)


@collector_paused()
def import_collection(
    session: Session,
    path: Path,
    now: datetime,
    media_source: Path | None = None,
    media_folder: Path | None = None,
    progress: Progress | None = None,
    synced: datetime | None = None,
    leave_out: Collection[int] = (),
) -> ImportSummary:
    """Import an Anki collection file as it lies (srs sync's replica): nothing is packed or unpacked.

    The media files its notes refer to are taken from *media_source* (the
    collection's own media folder) into *media_folder*. The caller commits.
    *synced* and *leave_out* are import_package's.
    """
    try:
        package = read_collection(path, "anki21b", leave_out)
        has_media = media_source is not None and media_source.is_dir() and any(media_source.iterdir())
        names = {name for note in package.notes for value in note.fields for name in media_refs(value)} if has_media else set()
        if media_source is None or media_folder is None or not names:
            return _import(session, package, now, None, lambda m, report: None, progress, synced)
        source = media_source
        return _import(
            session, package, now, MediaImport(media_folder), lambda m, report: m.store_from_folder(source, names, report), progress,
            synced,
        )
    except ImportError_ as exc:
        raise _from_server(exc) from None


def _from_server(exc: ImportError_) -> ImportError_:
    """The package reader's refusal, worded for the collection a sync server sent (it is no package)."""
    text = str(exc)
    for said, meant in (("the package's collection", "the collection the server sent"), ("the package's", "the server's collection's"),
                        ("the package has", "the server's collection has")):
        text = text.replace(said, meant)
    return ImportError_(text)


def _import(
    session: Session, package: AnkiPackage, now: datetime, media: MediaImport | None,
    store: Callable[[MediaImport, Progress], None], progress: Progress | None, synced: datetime | None = None,
) -> ImportSummary:
    """Store the media (through *store*), then merge the package's notes, cards and answers."""
    report = progress or (lambda stage, done, total: None)
    try:
        if media is not None:
            # first, so that notes refer to the names their files were stored under;
            # under the write lock (taken at BEGIN), so no other import picks names now
            session.connection()
            store(media, report)
            if media.renamed:
                for note in package.notes:
                    note.fields = media.rewrite(note.fields)
        summary = _merge(session, package, now, report, synced)
    except BaseException:
        if media is not None:
            media.discard()
        raise
    if media is not None:
        summary.media, summary.media_new, summary.media_renamed = len(media.stored), len(media.added), media.added_renamed
        summary.discard_media = media.discard
    return summary


def apply_options(preset: Preset, options: DeckOptions) -> None:
    """Give *preset* an Anki options group's retention, FSRS parameters, steps and longest interval (within srs's bounds)."""
    params = list(options.params)
    if len(params) == 19:  # FSRS-5: FSRS-6 with no short-term exponent and decay 0.5
        params += [0.0, 0.5]
    if len(params) == 21:
        try:
            validate_parameters(params)
            preset.parameters = params
        except ValueError:
            pass  # out of bounds: keep the defaults
    preset.desired_retention = min(0.99, max(0.7, options.desired_retention))
    preset.learning_steps = [round(m * 60) for m in options.learn_steps if m > 0]
    preset.relearning_steps = [round(m * 60) for m in options.relearn_steps if m > 0]
    preset.maximum_interval = max(1, min(36500, options.maximum_interval))


def preset_for(session: Session, options: DeckOptions | None) -> Preset:
    """The srs preset an Anki options group stands for (made if needed), given the group's values."""
    if options is None:
        return default_preset(session)
    name = preset_name(options.name)
    preset = session.scalars(select(Preset).where(Preset.name == name)).first()
    base = default_preset(session)
    if preset is None:
        preset = Preset(
            name=name, desired_retention=base.desired_retention, parameters=list(base.parameters),
            learning_steps=list(base.learning_steps), relearning_steps=list(base.relearning_steps),
            maximum_interval=base.maximum_interval,
        )
        session.add(preset)
    apply_options(preset, options)
    session.flush()
    return preset


def _merge(session: Session, package: AnkiPackage, now: datetime, progress: Progress, synced: datetime | None) -> ImportSummary:
    summary = ImportSummary()
    seen_guids: set[str] = set()
    for anote in package.notes:
        if anote.guid in seen_guids or not anote.guid:
            raise ImportError_(f"the package has more than one note with guid {anote.guid!r}")
        seen_guids.add(anote.guid)
        notetype = package.notetypes.get(anote.mid)
        if notetype is None:
            raise ImportError_(f"note {anote.id} uses note type {anote.mid}, which the package does not contain")
        if len(anote.fields) != len(notetype.fields):
            raise ImportError_(
                f"note {anote.id} has {len(anote.fields)} fields but its note type {notetype.name!r} has {len(notetype.fields)}"
            )

    # 1-2. presets and decks
    presets: dict[AnkiDeckConfigId | None, Preset] = {}
    decks: dict[AnkiDeckId, DeckId] = {}

    def deck_for(card_did: AnkiDeckId, odid: AnkiDeckId) -> DeckId:
        did = odid or card_did
        if did not in decks:
            info = package.decks.get(did)
            name = info.name if info is not None else "Imported"
            deck = get_or_create_deck(session, name, now, source="anki")
            options_id = info.options_id if info is not None else None
            if options_id not in presets:
                presets[options_id] = preset_for(session, package.deck_options.get(options_id) if options_id is not None else None)
            deck.preset_id = presets[options_id].id
            decks[did] = deck.id
        return decks[did]

    # 3. notes and cards (added in bulk: a package may hold tens of thousands)
    conn = session.connection()
    existing_notes: dict[str, Note] = {}
    # the package's guids srs holds, matched inside SQLite: a small package costs little in a large collection
    guids = sorted(conn.exec_driver_sql(
        "SELECT guid FROM notes WHERE guid IN (SELECT value FROM json_each(?))", (json.dumps([n.guid for n in package.notes]),)
    ).scalars())
    for chunk in range(0, len(guids), 500):
        for note in session.scalars(select(Note).where(Note.guid.in_(guids[chunk : chunk + 500]))):
            existing_notes[note.guid] = note
    existing_cards: dict[tuple[NoteId, int], Card] = {}
    ids = [n.id for n in existing_notes.values()]
    for chunk in range(0, len(ids), 500):
        for card in session.scalars(select(Card).where(Card.note_id.in_(ids[chunk : chunk + 500]))):
            existing_cards[(card.note_id, card.ord)] = card
    cards_by_note: dict[AnkiNoteId, list[AnkiCard]] = defaultdict(list)
    note_ids = {n.id for n in package.notes}
    skipped_cards: list[AnkiCardId] = []
    for acard in package.cards:
        if acard.nid in note_ids:
            cards_by_note[acard.nid].append(acard)
        else:
            skipped_cards.append(acard.id)
            summary.skipped_cards["its note is not in the package"] += 1
    position = (session.scalar(select(Card.position).order_by(Card.position.desc()).limit(1)) or 0) + 1
    now_ms = to_ms(now)
    keep_notetypes = package.layout != "csv"  # a review log's placeholder notes have no real note type
    # A note type srs holds whose fields or card types differ in the package (its "schema" changed): as Anki's
    # importer does without "merge note types", the notes srs holds of it are left as they are, and the held type
    # stays (rslib import_export/package/apkg/import/notes.rs). New notes of it come in as text.
    schema_changed: set[AnkiNotetypeId] = set()
    if keep_notetypes:  # foreign note types first: notes refer to them
        for mid in {n.mid for n in package.notes}:
            nt = package.notetypes[mid]
            if nt.id in BY_MODEL_ID:
                continue
            held_type = session.get(AnkiNotetype, nt.id)
            if held_type is not None and (held_type.fields != list(nt.fields) or len(held_type.templates) != len(nt.templates)):
                schema_changed.add(nt.id)
                continue
            session.merge(  # new, or the same schema: the package's names, templates and styling
                AnkiNotetype(id=nt.id, name=nt.name, cloze=nt.cloze, fields=list(nt.fields),
                             templates=[list(t) for t in nt.templates], css=nt.css)
            )
        session.flush()
    new_notes: list[tuple[_NewNote, list[AnkiCard]]] = []
    placed: list[tuple[Note, list[AnkiCard]]] = []
    for done, anote in enumerate(package.notes):
        if done % 1000 == 0:
            progress("notes", done, len(package.notes))
        nt = package.notetypes[anote.mid]
        own = BY_MODEL_ID.get(nt.id)
        kind = own.kind if own is not None else ANKI_KIND
        acards = cards_by_note.get(anote.id, [])
        if len(acards) > 1:
            acards.sort(key=lambda c: (c.ord, c.id))
        held_note = existing_notes.get(anote.guid)
        if nt.id in schema_changed and held_note is not None:
            skipped_cards.extend(c.id for c in acards)
            summary.skipped_notes["its note type changed its fields or card types since srs took it (Anki skips these too)"] += 1
            continue
        fields = _own_fields(kind, nt, anote.fields) if own is not None else foreign_fields(nt, anote.fields, [c.ord for c in acards])
        tags = list(anote.tags)
        # a foreign note keeps its note type and raw fields, to be exported as it came
        keep = own is None and keep_notetypes and nt.id not in schema_changed
        kept_notetype, raw = (nt.id, anote.fields) if keep else (None, None)
        if held_note is None:
            created = anote.id if anote.id > 0 else now_ms
            new_notes.append((_NewNote(anote.guid, kind, fields, tags, created, anote.mod * 1000, kept_notetype, raw), acards))
            summary.notes_new += 1
        else:
            # the newer text, or in a sync any text the other side sent for a note srs has not edited since
            newer = int(held_note.modified.timestamp()) < anote.mod or (synced is not None and held_note.modified <= synced)
            if newer and (held_note.fields != fields or held_note.tags != tags or (raw is not None and held_note.anki_fields != raw)):
                held_note.fields, held_note.tags = fields, tags
                held_note.modified = _EPOCH + timedelta(seconds=anote.mod)
                held_note.anki_notetype_id, held_note.anki_fields = kept_notetype, raw
                summary.notes_updated += 1
            elif raw is not None and held_note.anki_fields == raw and held_note.anki_notetype_id == nt.id and held_note.fields != fields:
                # the same note under its note type's new templates: Anki renders cards from the templates, so the text
                # srs shows follows them (the note itself is unchanged)
                held_note.fields = fields
                summary.notes_rerendered += 1
                summary.notes_unchanged += 1
            else:
                if held_note.kind == ANKI_KIND and held_note.anki_fields is None and raw is not None:
                    held_note.anki_notetype_id, held_note.anki_fields = kept_notetype, raw  # imported before srs kept them
                summary.notes_unchanged += 1
            placed.append((held_note, acards))

    # New notes and cards go in with plain executemany: an import may add tens
    # of thousands, and ORM objects would cost more than everything else.
    note_base = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM notes").scalar() or 0
    for i, (new_note, _) in enumerate(new_notes):
        new_note.id = NoteId(note_base + 1 + i)
    if new_notes:
        conn.exec_driver_sql(
            "INSERT INTO notes (id, guid, kind, fields, tags, source, source_key, orphaned, created, modified, "
            "anki_notetype_id, anki_fields) VALUES (?,?,?,?,?,'anki',NULL,0,?,?,?,?)",
            [
                (n.id, n.guid, n.kind, json_strings(n.fields), json_strings(n.tags), n.created_ms, n.modified_ms,
                 n.mid, None if n.raw is None else json_strings(n.raw))
                for n, _ in new_notes
            ],
        )
    stories: list[Story] = []
    labels = {c.label.lower(): c.slug for c in COMPETENCIES}
    for new_note, _ in new_notes:
        if new_note.kind == NoteKind.STORY:
            names = [x.strip().lower() for x in new_note.fields.get("Competencies", "").split(",")]
            stories.append(Story(note_id=new_note.id, competencies=[labels[x] for x in names if x in labels], favorite=False))
    session.add_all(stories)
    card_map: dict[AnkiCardId, Card | _NewCard] = {}
    new_cards: list[_NewCard] = []
    card_base = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM cards").scalar() or 0
    # new cards are introduced in Anki's order (a new card's due is its position)
    new_order = {c.id: i for i, c in enumerate(sorted(package.cards, key=lambda c: (c.type != 0, c.due if c.type == 0 else 0, c.id)))}
    position_base = position
    owners: list[tuple[Note | _NewNote, list[AnkiCard]]] = [*placed, *new_notes]
    for owner, acards in owners:
        ords: set[int] = set()
        for acard in acards:
            if acard.ord in ords:  # kept: the first by template order, then id
                skipped_cards.append(acard.id)
                summary.skipped_cards["a second card of the same template of its note"] += 1
                continue
            ords.add(acard.ord)
            deck_id = deck_for(acard.did, acard.odid)  # also brings the deck's options for cards srs has
            held_card = existing_cards.get((owner.id, acard.ord))
            if held_card is None:
                new_card = _NewCard(
                    CardId(card_base + 1 + len(new_cards)), owner.id, acard.ord, deck_id,
                    position_base + new_order[acard.id], acard.queue == -1, acard.id if acard.id > 0 else now_ms,
                )
                new_cards.append(new_card)
                card_map[acard.id] = new_card
            else:
                card_map[acard.id] = held_card
    summary.cards_new = len(new_cards)

    # 4-5. review history, merged and replayed per card (as arrays: 200,000 rows are common)
    held_before = _held_before(conn, card_map)
    reviews = _merge_reviews(conn, package, card_map, skipped_cards, schedulers_for(session), summary, progress, now)
    # 6. the schedule Anki gave each card is kept unless srs answered it since
    if package.layout != "csv":
        _keep_anki_schedules(session, package, card_map, held_before, summary, now, synced)
    _write_rows(conn, new_cards, reviews, now_ms)
    session.flush()
    return summary


def _write_rows(conn: Connection, new_cards: list[_NewCard], reviews: _Rows, now_ms: int) -> None:
    """Insert the new cards and review rows, and update the replayed ones."""
    if new_cards:
        conn.exec_driver_sql(
            "INSERT INTO cards (id, note_id, ord, deck_id, state, step, stability, difficulty, due, last_review, reps, "
            "lapses, suspended, position, created, modified, anki_schedule, buried_until) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (c.id, c.note_id, c.ord, c.deck_id, c.state, c.step, c.stability, c.difficulty, c.due_ms, c.last_ms,
                 c.reps, c.lapses, int(c.suspended), c.position, c.created_ms, now_ms,
                 None if c.anki_schedule is None else json_ints(c.anki_schedule), c.buried_until)
                for c in new_cards
            ],
        )
    if reviews.insert_count:
        # A large history goes in faster with the review indexes rebuilt once
        # afterwards (inside this transaction; the unique index re-checks times).
        rebuild = reviews.insert_count > 20_000
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reviews' AND sql IS NOT NULL"
        ).all() if rebuild else []
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        # the DB-API connection itself (same transaction): rows go in hundreds per statement
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        insert_flat(
            cast(sqlite3.Connection, dbapi),  # (SQLAlchemy's pysqlite dialect: the sqlite3 module's connection)
            "INSERT INTO reviews (card_id, reviewed_at, rating, duration_ms, prev_state, state, step, stability, "
            "difficulty, due, interval, last_interval, anki_ivl, anki_last_ivl, anki_factor, anki_type)",
            16, reviews.inserts,
        )
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
    if reviews.updates:
        conn.exec_driver_sql(
            "UPDATE reviews SET prev_state = ?, state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
            "interval = ?, last_interval = ? WHERE id = ?",
            reviews.updates,
        )


def _held_before(conn: Connection, card_map: dict[AnkiCardId, Card | _NewCard]) -> dict[CardId, tuple[int, int]]:
    """For each card srs already had: (its latest answer or reset in ms, or 0; its modification time in ms), before this import.

    Making a card new again (``srs card forget``) counts as an answer here: a
    package whose answers are all older does not bring the old schedule back.
    """
    ids = [c.id for c in card_map.values() if isinstance(c, Card)]
    held: dict[CardId, tuple[int, int]] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        for card_id, modified, latest in conn.exec_driver_sql(
            "SELECT c.id, c.modified, max(coalesce((SELECT max(r.reviewed_at) FROM reviews r WHERE r.card_id = c.id), 0), "
            "coalesce(c.reset_at, 0)) "
            f"FROM cards c WHERE c.id IN ({','.join('?' * len(part))})",
            tuple(part),
        ):
            held[card_id] = (latest or 0, modified)
    return held


def _keep_anki_schedules(
    session: Session,
    package: AnkiPackage,
    card_map: dict[AnkiCardId, Card | _NewCard],
    held_before: dict[CardId, tuple[int, int]],
    summary: ImportSummary,
    now: datetime,
    synced: datetime | None = None,
) -> None:
    """Give each card the schedule Anki had for it, unless srs has answered it since.

    srs schedules a card only once it is answered in srs: a card keeps Anki's
    due day, interval, learning step and queue when the package holds its
    latest answer (or, with no answers on either side, when Anki's card row
    is the newer one). Its memory (stability, difficulty) is the replay of
    its history either way. Suspension and burying follow the newer card row.
    When the history does not explain the state Anki had the card in (a due
    date set by hand on a new card, say), srs's replay stands and is counted.
    In a sync (*synced*: the time of srs's last sync), a card row counts as
    the newer when srs has not changed the card since that sync, whatever its
    time; a card answered on both sides takes the replay (see below).
    """
    merged_wins = synced is not None
    synced_ms = to_ms(synced) if synced is not None else None
    import numpy as np

    clock = clock_for(session)
    today = clock.today(now)
    zero = day_zero(package.crt, package.creation_offset, clock)
    rev = package.revlog
    order = np.lexsort((rev.id, rev.cid))
    cids, ids = rev.cid[order], rev.id[order]
    latest = _last_per_card(cids, ids)  # Anki card id -> its latest revlog row (ms): answers and manual changes
    answer = (rev.ease[order] >= 1) & (rev.ease[order] <= 4) & (rev.type[order] <= 2)
    latest_answer = _last_per_card(cids[answer], ids[answer])  # ... its latest button pressed in (re)learning or review
    acards = {c.id: c for c in package.cards}
    steps = schedulers_for(session)
    # in a sync: the cards that got answers from the other side and have answers given in srs
    answered_here = _answered_in_srs(session, [
        c.id for c in card_map.values() if isinstance(c, Card) and c.id in summary.answered_in_package
    ]) if merged_wins else set()
    for anki_id, card in card_map.items():
        acard = acards[anki_id]
        fresh = isinstance(card, _NewCard)
        srs_latest, srs_modified = (0, 0) if fresh else held_before[card.id]
        anki_latest = latest.get(anki_id, 0)
        anki_newer = acard.mod * 1000 > srs_modified or (synced_ms is not None and srs_modified <= synced_ms)
        scheduler = steps(card.deck_id)
        schedule = from_anki(acard, zero, clock, len(scheduler.learning_steps), len(scheduler.relearning_steps))
        if schedule is not None and (fresh or anki_newer):
            card.suspended = schedule.suspended
            card.buried_until = today + 1 if schedule.buried else None
        if fresh:
            take = True
        elif srs_latest or anki_latest:
            take = srs_latest < anki_latest + _MOVED_AT_MOST_MS  # the package holds the latest answer
        else:
            take = anki_newer
        newest_new = summary.answered_in_package.get(card.id)
        if merged_wins and isinstance(card, Card) and newest_new is not None and srs_latest > newest_new + _MOVED_AT_MOST_MS:
            # srs holds the latest answer, and the package brings answers srs did not know, given before it: each
            # side answered without the other's. The replay of all of them is the card's schedule, on both sides
            # (the sync sends it back).
            summary.replayed_over_anki.add(card.id)
            card.anki_schedule, card.modified = None, now
            continue
        if not take:
            continue
        if isinstance(card, Card) and (
            _row_predates(acard, latest_answer.get(anki_id, 0)) or (card.id in answered_here and _memory_apart(acard, card))
        ):
            # Anki's card row does not hold every answer: another device's row won the server's card conflict while
            # this answer travelled in the review log, or the other device answered without srs's answers (it had
            # not synced since), and its memory is not the replay's. The replay of every answer is the schedule (in
            # a sync, on both sides: the sync sends it back).
            if merged_wins:
                summary.replayed_over_anki.add(card.id)
                card.anki_schedule, card.modified = None, now
            else:
                summary.schedules_replaced += 1
            continue
        if schedule is None or (schedule.state == CardState.NEW) != (int(card.state) == CardState.NEW):
            # values that are no schedule, or a card new on one side only (reset in Anki, or given a due date by hand
            # with no answer behind it): srs's replay stands, and is counted
            if acard.type != 0 or int(card.state) != CardState.NEW:
                summary.schedules_replaced += 1
            continue
        if int(schedule.state) != int(card.state):
            # Anki's state is the truth even where srs's replay of the answers ends elsewhere (a preset whose steps
            # changed since, a lapse Anki counted in review while srs's steps were still running): kept whole, counted
            card.state = schedule.state
            summary.schedules_unexplained += 1
        card.step = schedule.step
        card.reps, card.lapses = acard.reps, acard.lapses  # Anki's counts, which srs's answers go on from
        card.anki_schedule = schedule.kept
        if isinstance(card, _NewCard):
            card.due_ms = schedule.due_ms
        else:
            card.due = from_ms(schedule.due_ms) if schedule.due_ms is not None else None
            card.modified = now
        summary.schedules_kept += 1


def _last_per_card(cids: np.ndarray, ids: np.ndarray) -> dict[int, int]:
    """Card -> its last id, from rows sorted by card, then id."""
    import numpy as np

    if not len(cids):
        return {}
    last = np.r_[cids[1:] != cids[:-1], True]
    return dict(zip(cids[last].tolist(), ids[last].tolist()))


def _card_data(card: AnkiCard) -> dict[str, Any]:
    """Anki's card data (rslib storage/card/data.rs: ``s``, ``d`` memory, ``lrt`` last review time in seconds, ...);
    empty when it is not a JSON object."""
    try:
        data = json.loads(card.data) if card.data else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _row_predates(card: AnkiCard, answered_ms: int) -> bool:
    """Whether Anki's card row was written before the answer at *answered_ms*: its last review time is an earlier
    second. A row without one says nothing."""
    if not answered_ms:
        return False
    reviewed = _card_data(card).get("lrt")
    return isinstance(reviewed, int) and answered_ms >= (reviewed + 1) * 1000 + _MOVED_AT_MOST_MS


# Anki's FSRS and srs's replay agree on the same answers within about 1% (tests/test_sync.py; just over 1% for about
# 1 card in 50 of the sync benchmark's); a card row whose memory is further off than this from the replay was
# computed without some of the answers (a missed Again, Hard or Easy, or a review on another day, moves it far more).
_SAME_MEMORY = 0.03


def _memory_apart(card: AnkiCard, replayed: Card) -> bool:
    """Whether the memory in Anki's card row (``s``, ``d`` in its data) is not the replay's. A row without one says
    nothing."""
    data = _card_data(card)
    try:
        stability, difficulty = float(data["s"]), float(data["d"])
    except (ValueError, TypeError, KeyError):
        return False
    if replayed.stability is None or replayed.difficulty is None:
        return False
    return abs(stability - replayed.stability) > _SAME_MEMORY * max(stability, replayed.stability) or abs(
        difficulty - replayed.difficulty
    ) > _SAME_MEMORY * max(difficulty, replayed.difficulty)


def _answered_in_srs(session: Session, card_ids: list[CardId]) -> set[CardId]:
    """Of *card_ids*, the cards with an answer given in srs (a review row not read from an Anki revlog row)."""
    found: set[CardId] = set()
    for chunk in range(0, len(card_ids), 500):
        part = card_ids[chunk : chunk + 500]
        found.update(session.connection().exec_driver_sql(
            f"SELECT DISTINCT card_id FROM reviews WHERE anki_type IS NULL AND card_id IN ({','.join('?' * len(part))})",
            tuple(part),
        ).scalars())
    return found


@dataclass
class _Rows:
    """Review rows to write: the new ones as flat chunks of values (srs.bulk.flat_chunks), the replayed ones as tuples."""

    inserts: Iterable[tuple[int, list[Any]]] = ()
    insert_count: int = 0
    updates: list[tuple[Any, ...]] = field(default_factory=list)


def schedulers_for(session: Session) -> Callable[[DeckId], Scheduler]:
    """The scheduler of each deck's preset, on the collection's clock."""

    return Schedulers(session, clock_for(session)).for_card_in


# Answer times (Unix ms) past this are damage, not history: 9000-01-01, leaving
# room for a century-long interval within the calendar Python can handle.
_LATEST_MS = 221_845_392_000_000

# How far an answer's time may have been moved to keep review times unique
# (see _unique_times) and still be recognised as the same answer.
_MOVED_AT_MOST_MS = 64


def _merge_reviews(
    conn: Connection, package: AnkiPackage, card_map: dict[AnkiCardId, Card | _NewCard], skipped_cards: list[AnkiCardId],
    scheduler_for: Callable[[DeckId], Scheduler], summary: ImportSummary, progress: Progress, now: datetime,
) -> _Rows:
    """Add the package's answers to the cards' histories and replay every card that got one."""
    import numpy as np

    rev = package.revlog
    rows = _Rows()
    anki_ids = np.fromiter(card_map, dtype=np.int64, count=len(card_map))
    ours = np.fromiter((c.id for c in card_map.values()), dtype=np.int64, count=len(card_map))
    in_package = np.isin(rev.cid, anki_ids)
    of_skipped = np.isin(rev.cid, np.asarray(skipped_cards, dtype=np.int64)) if skipped_cards else np.zeros(len(rev.cid), dtype=bool)
    button = (rev.ease >= 0) & (rev.ease <= 4)
    dated = (rev.id > 0) & (rev.id < _LATEST_MS)
    summary.skipped.update(
        +Counter({
            "card not in the package": int((~in_package & ~of_skipped).sum()),
            "card skipped": int(of_skipped.sum()),
            "unknown answer button": int((in_package & ~button).sum()),
            "answer time out of range": int((in_package & button & ~dated).sum()),
        })
    )
    chosen = np.flatnonzero(in_package & button & dated)
    chosen = chosen[np.lexsort((rev.id[chosen], rev.cid[chosen]))]  # by card, then time
    keep, skipped = answers_for_fsrs(rev.cid[chosen], rev.ease[chosen], rev.ivl[chosen], rev.factor[chosen], rev.type[chosen])
    summary.skipped.update(skipped)
    chosen = chosen[keep]
    if not len(chosen):
        return rows
    sorter = np.argsort(anki_ids)
    card = ours[sorter][np.searchsorted(anki_ids[sorter], rev.cid[chosen])]
    at = rev.id[chosen].copy()
    rating = rev.ease[chosen]
    duration = np.clip(rev.time[chosen], 0, MAX_DURATION_MS)
    # the revlog row as Anki wrote it, given back unchanged by an export (a review-log CSV has none)
    kept_rows = package.layout != "csv"
    anki_rows = np.stack([rev.ivl[chosen], rev.last_ivl[chosen], rev.factor[chosen], rev.type[chosen]])

    # answers srs already holds (an earlier import, or its own export coming back)
    touched = np.unique(card).tolist()
    known: list[tuple[int, int, int, int, int]] = []  # (review id, card, ms, rating, duration)
    if conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM reviews)").scalar():
        for chunk in range(0, len(touched), 500):
            part = touched[chunk : chunk + 500]
            known += conn.exec_driver_sql(
                f"SELECT id, card_id, reviewed_at, rating, duration_ms FROM reviews WHERE card_id IN ({','.join('?' * len(part))})",
                tuple(part),
            ).all()
    new = np.ones(len(at), dtype=bool)
    # a card the user made new again in srs (srs card forget) takes no answers from before that
    resets: dict[int, int] = {}
    for chunk in range(0, len(touched), 500):
        part = touched[chunk : chunk + 500]
        resets.update(conn.exec_driver_sql(
            f"SELECT id, reset_at FROM cards WHERE reset_at IS NOT NULL AND id IN ({','.join('?' * len(part))})", tuple(part)
        ).all())
    # a card reset to new in Anki since: srs's answers from before it no longer count either (kept as history)
    manual_reset = in_package & (rev.type == 4) & (rev.factor == 0) & (rev.ease == 0) & dated
    held_cards = {c.id: c for c in card_map.values() if isinstance(c, Card)}
    if manual_reset.any():
        by_anki = {int(a): c for a, c in zip(anki_ids.tolist(), ours.tolist())}
        for anki_id, ms in zip(rev.cid[manual_reset].tolist(), rev.id[manual_reset].tolist()):
            card_id = by_anki[anki_id]
            reset_card = held_cards.get(CardId(card_id))
            if reset_card is not None and ms > resets.get(card_id, -1):
                resets[card_id] = ms
                reset_card.reset_at = from_ms(ms)
    if resets:
        before_reset = np.fromiter((ms <= resets.get(c, -1) for c, ms in zip(card.tolist(), at.tolist())), dtype=bool, count=len(at))
        new &= ~before_reset
        known = [row for row in known if row[2] > resets.get(row[1], -1)]
    if known:
        held: dict[int, list[int]] = defaultdict(list)
        for _, card_id, ms, _, _ in known:
            held[card_id].append(ms)
        for i, (card_id, ms) in enumerate(zip(card.tolist(), at.tolist())):
            times = held.get(card_id)
            if times is not None and any(ms <= t < ms + _MOVED_AT_MOST_MS for t in times):
                new[i] = False
    summary.reviews_present += int((~new).sum())
    summary.reviews_added += int(new.sum())
    if resets:  # a card reset here with no answer after the reset is new again, as in Anki
        answered_after = {row[1] for row in known} | set(card[new].tolist())
        for card_id in resets:
            reset_card = held_cards.get(CardId(card_id))
            if reset_card is not None and card_id not in answered_after:
                apply_memory(reset_card, NEW)
    card, at, rating, duration, anki_rows = card[new], at[new], rating[new], duration[new], anki_rows[:, new]
    if not len(card):
        return rows
    at = _unique_times(conn, at)

    # each card that gets an answer is replayed from its first: old and new answers together
    added = np.unique(card)
    touched_now = set(added.tolist())
    old = [row for row in known if row[1] in touched_now]
    review_id = np.r_[np.full(len(card), -1, dtype=np.int64), np.array([r[0] for r in old], dtype=np.int64)]
    anki_rows = np.c_[anki_rows, np.zeros((4, len(old)), dtype=np.int64)]
    card = np.r_[card, np.array([r[1] for r in old], dtype=np.int64)]
    at = np.r_[at, np.array([r[2] for r in old], dtype=np.int64)]
    rating = np.r_[rating, np.array([r[3] for r in old], dtype=np.int64)]
    duration = np.r_[duration, np.array([r[4] for r in old], dtype=np.int64)]

    cards = {c.id: c for c in card_map.values()}
    schedulers: dict[int, tuple[int, Scheduler]] = {}  # one group of cards per scheduler (preset)
    group_of = np.empty(len(added), dtype=np.int64)  # the group of each card in *added* (sorted)
    for index, card_id in enumerate(added.tolist()):
        scheduler = scheduler_for(cards[card_id].deck_id)
        group_of[index] = schedulers.setdefault(id(scheduler), (len(schedulers), scheduler))[0]
    group = group_of[np.searchsorted(added, card)]  # every row's card is one of *added*
    order = np.lexsort((at, card, group))
    card, at, rating, duration, review_id, group = (a[order] for a in (card, at, rating, duration, review_id, group))
    anki_rows = anki_rows[:, order]
    first = np.flatnonzero(np.r_[True, card[1:] != card[:-1]])
    bounds = np.r_[first, len(card)]

    state = np.zeros(len(card), dtype=np.int64)
    step = np.zeros(len(card), dtype=np.int64)
    stability = np.zeros(len(card))
    difficulty = np.zeros(len(card))
    due = np.zeros(len(card), dtype=np.int64)
    interval = np.zeros(len(card), dtype=np.int64)
    progress("reviews", 0, len(card))
    for number, scheduler in schedulers.values():
        lo, hi = np.searchsorted(group[first], [number, number + 1])  # this group's cards
        a, b = bounds[lo], bounds[hi]
        out = scheduler.replay_batch(card[first[lo:hi]], bounds[lo : hi + 1] - a, rating[a:b], at[a:b])
        state[a:b], step[a:b], stability[a:b], difficulty[a:b], due[a:b], interval[a:b] = out
        progress("reviews", int(b), len(card))

    replayed = Replayed(state, step, stability, difficulty, due, interval)
    prev_state = replayed.previous_states(bounds)
    last_interval = np.roll(interval, 1)
    last_interval[first] = 0
    columns = [prev_state, state, step, stability, difficulty, due, interval, last_interval]
    fresh = review_id < 0
    rows.insert_count = int(fresh.sum())
    inserts = np.flatnonzero(fresh)
    if len(inserts):  # each card's latest answer new to srs (rows are in card, then time order)
        last_new = np.r_[card[inserts][1:] != card[inserts][:-1], True]
        summary.answered_in_package = dict(zip(card[inserts][last_new].tolist(), at[inserts][last_new].tolist()))
    revlog_columns = [row[inserts] for row in anki_rows] if kept_rows else [np.full(len(inserts), -1, dtype=np.int64)] * 4
    rows.inserts = flat_chunks(
        [card[inserts], at[inserts], rating[inserts], duration[inserts], *(c[inserts] for c in columns), *revlog_columns],
        6, nulls_from=12 if not kept_rows else None,
    )
    if rows.insert_count < len(card):
        updates = np.flatnonzero(~fresh)
        rows.updates = list(_stream([*(c[updates] for c in columns), review_id[updates]], 2))

    # each replayed card takes the state after its last answer
    for card_id, final in zip(card[first].tolist(), replayed.final_states(bounds, rating, at)):
        target = cards[card_id]
        state_, step_, stability_, difficulty_, due_ms, last_ms, reps, lapses = final
        target.state, target.step = state_, None if step_ < 0 else step_
        target.stability, target.difficulty, target.reps, target.lapses = stability_, difficulty_, reps, lapses
        if isinstance(target, _NewCard):  # plain ms: tens of thousands of cards, no datetimes
            target.due_ms, target.last_ms = due_ms, last_ms
        else:
            target.due, target.last_review, target.modified = from_ms(due_ms), from_ms(last_ms), now
    return rows


def _stream(
    arrays: list[np.ndarray], steps_at: int, chunk: int = 25_000, nulls_from: int | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples of Python values, a chunk at a time (200,000 rows of lists would cost 100 MB).

    Column *steps_at* holds learning steps, where -1 means none (NULL); the
    columns from *nulls_from* on are all NULL.
    """
    for lo in range(0, len(arrays[0]), chunk):
        columns = [a[lo : lo + chunk].tolist() for a in arrays]
        columns[steps_at] = [None if s < 0 else s for s in columns[steps_at]]
        if nulls_from is not None:
            for index in range(nulls_from, len(columns)):
                columns[index] = [None] * len(columns[index])
        yield from zip(*columns)


def _unique_times(conn: Connection, at: np.ndarray) -> np.ndarray:
    """Answer times made unique across the collection (reviews.reviewed_at is unique).

    Anki's revlog ids are unique in one collection, but another card's answer
    in srs, or another package, may hold the same millisecond: such an answer
    moves to the next free one (by at most a few ms in practice).
    """
    import numpy as np

    if not len(at):
        return at
    # the times already taken near these (through the time index: a few rows when few answers arrive);
    # a clash moves an answer on by a millisecond at a time, so a margin past the latest is enough
    low, high = int(at.min()), int(at.max()) + len(at) + 1
    taken = np.array(
        [row[0] for row in conn.exec_driver_sql("SELECT reviewed_at FROM reviews WHERE reviewed_at BETWEEN ? AND ?", (low, high))],
        dtype=np.int64,
    )
    clash = np.isin(at, taken)
    ordered = np.sort(at)
    twice = np.isin(at, ordered[1:][ordered[1:] == ordered[:-1]])
    if not (clash | twice).any():
        return at
    at = at.copy()
    used = set(taken.tolist())

    def free(ms: int) -> bool:  # past the range read above, ask the time index
        if ms in used:
            return False
        return ms <= high or conn.exec_driver_sql("SELECT 1 FROM reviews WHERE reviewed_at = ?", (ms,)).first() is None

    for i, ms in enumerate(at.tolist()):
        while not free(ms):
            ms += 1
        used.add(ms)
        at[i] = ms
    return at


class _NewNote:
    """A note the import adds: plain attributes, written in one batch."""

    __slots__ = ("id", "guid", "kind", "fields", "tags", "created_ms", "modified_ms", "mid", "raw")

    def __init__(
        self, guid: str, kind: str, fields: dict[str, str], tags: list[str], created_ms: int, modified_ms: int,
        mid: AnkiNotetypeId | None, raw: list[str] | None,
    ) -> None:
        self.id = NoteId(0)
        self.guid, self.kind, self.fields, self.tags = guid, kind, fields, tags
        self.created_ms, self.modified_ms = created_ms, modified_ms
        self.mid, self.raw = mid, raw


class _NewCard:
    """A card the import adds: plain attributes, written in one batch at the end."""

    __slots__ = ("id", "note_id", "ord", "deck_id", "position", "suspended", "created_ms", "state", "step",
                 "stability", "difficulty", "due_ms", "last_ms", "reps", "lapses", "anki_schedule", "buried_until")

    def __init__(
        self, id: CardId, note_id: NoteId, ord: int, deck_id: DeckId, position: int, suspended: bool, created_ms: int,  # noqa: A002
    ) -> None:
        self.id, self.note_id, self.ord, self.deck_id, self.position = id, note_id, ord, deck_id, position
        self.suspended, self.created_ms = suspended, created_ms
        self.state: int = int(CardState.NEW)
        self.step: int | None = None
        self.stability: float | None = None
        self.difficulty: float | None = None
        self.due_ms: int | None = None  # Unix ms
        self.last_ms: int | None = None
        self.reps = self.lapses = 0
        self.anki_schedule: dict[str, int] | None = None
        self.buried_until: int | None = None


CSV_COLUMNS = ("card_id", "review_time", "review_rating", "review_state", "review_duration")
# Answer times longer than this are capped, as Anki caps them: its longest
# "maximum answer seconds" is 9,999 (rslib deckconfig/mod.rs, cap_answer_time_to_secs).
MAX_DURATION_MS = 9_999_000
MAX_CSV_BYTES = 512 << 20  # about ten million answers
_CSV_NOTETYPE_ID = AnkiNotetypeId(-1)
_CSV_DECK_ID = AnkiDeckId(1)


def read_review_csv(path: Path) -> AnkiPackage:
    """A review-log CSV in the FSRS optimizer's format, as a package of placeholder cards.

    Columns (https://github.com/open-spaced-repetition/fsrs-benchmark):
    card_id, review_time (Unix ms), review_rating (1-4; 0 for a manual
    change), review_state (0 new, 1 learning, 2 review, 3 relearning),
    review_duration (ms). Cards get a note "Card N" whose guid is fixed by N,
    so importing the same file twice adds nothing.
    """
    import csv

    text = read_text(path, MAX_CSV_BYTES, "review log", ImportError_)
    reader = csv.DictReader(text.splitlines())
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        raise ImportError_(f"{path.name} line 1: {exc}") from None
    missing = [c for c in CSV_COLUMNS if c not in fieldnames]
    if missing:
        raise ImportError_(f"{path.name}: missing column(s) {', '.join(missing)} (need {', '.join(CSV_COLUMNS)})")
    package = AnkiPackage(layout="csv", crt=0, rollover=4)
    package.notetypes[_CSV_NOTETYPE_ID] = NoteType(_CSV_NOTETYPE_ID, "Review history", False, ["Front"], [("Card", "{{Front}}", "{{FrontSide}}")])
    package.decks[_CSV_DECK_ID] = DeckInfo(_CSV_DECK_ID, "Imported::Review history", None)
    seen: set[int] = set()
    revlog = []
    rows = iter(enumerate(reader, start=2))
    while True:
        try:
            line, row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over the csv module's limit, a NUL byte ...
            raise ImportError_(f"{path.name} line {reader.line_num + 1}: {exc}") from None  # the line being read
        values = [_csv_number(row.get(c)) for c in CSV_COLUMNS]
        if any(v is None for v in values):
            raise ImportError_(f"{path.name} line {line}: every column must be a whole number")
        card_id, at, rating, state, duration = (int(v) for v in values if v is not None)
        if not 0 <= rating <= 4 or not 0 <= state <= 4 or at <= 0 or duration < 0:
            raise ImportError_(f"{path.name} line {line}: rating must be 0-4, state 0-4, time and duration positive")
        if abs(card_id) >= 2**62 or at >= _LATEST_MS:
            raise ImportError_(f"{path.name} line {line}: a card id or time is out of range")
        duration = min(duration, MAX_DURATION_MS)
        if card_id not in seen:
            seen.add(card_id)
            package.notes.append(AnkiNote(AnkiNoteId(card_id), f"csv-{card_id}", _CSV_NOTETYPE_ID, 0, [], [f"Card {card_id}"]))
            package.cards.append(
                AnkiCard(AnkiCardId(card_id), AnkiNoteId(card_id), _CSV_DECK_ID, AnkiDeckId(0), 0, 0, 0, 0, 0, 0, 0, "")
            )
        kind = {0: 0, 1: 0, 2: 1, 3: 2}.get(state, 4)
        revlog.append((at, card_id, rating, 1 if kind == 1 else 0, 0, 2500, duration, kind))
    if not revlog:
        raise ImportError_(f"{path.name} has no review rows")
    package.revlog = Revlog(sorted(revlog))
    return package


def _csv_number(text: str | None) -> int | None:
    """A CSV cell as a whole number ("12", "12.0", "1.2e3"), or None (not a number, not whole, not finite)."""
    if text is None:
        return None
    text = text.strip()
    if len(text) > 40:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


@collector_paused()
def import_review_csv(session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Import a review-log CSV; the caller commits."""
    return _merge(session, read_review_csv(path), now, progress or (lambda stage, done, total: None), None)
