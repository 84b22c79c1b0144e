"""Pull: what Anki's sync brought into the replica is merged into srs (answers as a union, schedules kept or
replayed, decks, presets, removals), and the notes srs leaves out are noted.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from srs.anki.export import EXPORT_SUFFIX
from srs.anki.formats import MAX_FIELD_BYTES, legacy_deck_options, preset_name
from srs.anki.import_ import ANKI_KIND, apply_options, import_collection, import_package, preset_for
from srs.decks import clean_deck_name
from srs.domain import AnkiDeckId, CardId, NoteId, NoteKind, from_ms
from srs.edit import remove, remove_deck, remove_deck_plan, rename_deck
from srs.errors import SrsError
from srs.files import read_limited, write_atomically
from srs.models import Card, Deck, Note, Preset
from srs.settings import get_setting, set_setting
from srs.stories import remove_story
from srs.sync.base import (
    LAST_SYNC,
    LEFT_OUT,
    MAX_REMOVALS_BYTES,
    RUN,
    SYNCED_DECKS,
    Step,
    SyncProblem,
    SyncSummary,
    WATERMARK,
    _CARDS_OF_SEVERAL,
    _HOME_DECK,
    _LEFT_OUT_NOTES,
    _SYNCED_GUIDS,
    _anki,
    _chunks,
    _taken,
    media_folder,
    removals_path,
    replica_media,
    replica_path,
)
from srs.sync.push import _Held, _keep_answers_to_removed, _keep_texts_edited_unseen, _push_merged
from srs.sync.replica import _ReplicaDecks

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


FULL_PULL_CARDS = 2_000  # past this many changed cards a pull reads the replica file whole: faster than an export of many ids


def _pull_presets(session: Session, col: Any, since: int) -> None:
    """Options groups changed on the other side since the last sync give their values to the presets they stand for.

    After Anki's sync the replica holds the winner where both sides changed a
    group (Anki keeps the newer change), so srs takes exactly that.
    """
    for conf in col.decks.all_config():
        if int(conf.get("usn", -1)) <= since:
            continue  # unchanged since the last sync, or srs's own change not yet sent
        preset = session.scalars(select(Preset).where(Preset.name == preset_name(str(conf.get("name", ""))))).first()
        if preset is not None:
            apply_options(preset, legacy_deck_options(conf))


def _pull_deck_removals(session: Session, col: Any, now: datetime) -> None:
    """Decks removed on the other side since the last sync are removed in srs once they hold no card (their notes went
    with the pull); a built-in deck removed there stays off, as `srs deck rm --disable` keeps it."""
    synced = {int(i) for i in get_setting(session, SYNCED_DECKS) or []}
    theirs = {int(d["id"]) for d in col.decks.all()}
    session.flush()
    for deck in sorted(session.scalars(select(Deck)), key=lambda d: -d.name.count("::")):  # sub-decks first
        if int(deck.anki_id) not in synced or int(deck.anki_id) in theirs or deck not in session:
            continue
        try:
            if not remove_deck_plan(session, deck.name, disable=True)[1]:
                remove_deck(session, deck.name, now, disable=True)
        except SrsError:
            continue  # a deck srs will not remove (it holds part of the story bank): it stays


def _pull_decks(session: Session, col: Any, since: int, card_ids: list[int], now: datetime) -> None:
    """What the other side did to decks since the last sync: renamed a deck, gave it another options group, moved cards.

    Where both sides changed the same deck or card, Anki's sync kept the
    newer change in the replica, and srs takes what Anki kept.
    """
    decks = _ReplicaDecks(session, col)
    changed = [d for d in decks.theirs.values() if int(d.get("usn", -1)) > since]
    for theirs in sorted(changed, key=lambda d: str(d["name"]).count("::")):  # parents first: their sub-decks follow them
        deck = decks.ours(int(theirs["id"]))
        if deck is None:
            continue  # a deck srs has no card of: it comes with its first card
        name = str(col.decks.name(int(theirs["id"])))
        if deck.name != name:
            try:
                rename_deck(session, deck.name, name, merge=True, now=now)  # onto a deck srs has: its cards join that one
            except SrsError:
                continue  # a name srs refuses (a deck inside itself): srs keeps its own
            if deck not in session:  # merged into srs's deck of that name: unless it is another of the replica's decks,
                # it is this one from now on
                target = session.scalars(select(Deck).where(func.lower(Deck.name) == clean_deck_name(name).lower())).first()
                if target is None:
                    continue
                deck = target
                if int(deck.anki_id) not in decks.theirs:
                    deck.anki_id = AnkiDeckId(int(theirs["id"]))
                    decks.pairs[deck.id] = int(theirs["id"])
        conf = decks.configs.get(int(theirs.get("conf", 1)))
        if conf is not None:
            deck.preset_id = preset_for(session, legacy_deck_options(conf)).id
    session.flush()
    # cards moved to another deck on the other side
    taken = _taken(session)
    for part in _chunks(sorted(card_ids)):
        rows = col.db.all(
            f"select n.guid, c.ord, {_HOME_DECK} from cards c join notes n on n.id = c.nid "
            f"where c.id in ({','.join('?' * len(part))}) and {taken}", *part,
        )
        placed: dict[tuple[str, int], Card] = {}
        for held, guid in session.execute(
            select(Card, Note.guid).join(Note, Note.id == Card.note_id).where(Note.guid.in_(sorted({r[0] for r in rows})))
        ).all():
            placed[(guid, held.ord)] = held
        for guid, ord_, did in rows:
            card = placed.get((guid, ord_))
            if card is None:
                continue
            deck = decks.ours_or_made(int(did), now)
            if card.deck_id != deck.id:
                card.deck_id, card.modified = deck.id, now
    session.flush()


# temporary tables and triggers on the replica's connection that note each card and note removed from it (Anki's sync
# applying the other side's removals), emptied before each sync; gone with the connection, never in the file
_WATCH_REMOVALS = (
    "create temp table if not exists srs_gone_cards (id integer primary key, nid integer not null, ord integer not null)",
    "create temp table if not exists srs_gone_notes (id integer primary key, guid text not null)",
    "create temp trigger if not exists srs_gone_card after delete on main.cards "
    "begin insert or replace into srs_gone_cards values (old.id, old.nid, old.ord); end",
    "create temp trigger if not exists srs_gone_note after delete on main.notes "
    "begin insert or replace into srs_gone_notes values (old.id, old.guid); end",
    "delete from temp.srs_gone_cards",
    "delete from temp.srs_gone_notes",
)
_CARD_STATE = "type, queue, due, ivl, reps, lapses, data, did, odid"  # what a card row says, for telling srs's echo from a change


@dataclass(frozen=True)
class _Pending:
    """What the replica was about to send: rows the pull need not bring back unless the server changed them too."""

    cards: dict[int, tuple[Any, ...]]
    notes: dict[int, int]  # note id -> mod
    revlog: set[int]
    # before a full download (which replaces the replica's file, so no removal is seen): the cards of the notes with
    # more than one, card id -> (note id, guid, ord) (see removed_by_sync)
    several: dict[int, tuple[int, str, int]] = field(default_factory=dict)

    @staticmethod
    def of(col: Any, held: _Held | None = None) -> _Pending:
        """What waits to be sent now, and the cards whose rows srs *held* back (as they are: a sync that leaves them
        so brought nothing new for them). From here on the replica notes down each card and note Anki's sync removes."""
        rows = col.db.all(f"select id, {_CARD_STATE} from cards where usn = -1")
        for part in _chunks(sorted(held.cards) if held else []):
            rows += col.db.all(f"select id, {_CARD_STATE} from cards where id in ({','.join('?' * len(part))})", *part)
        for sql in _WATCH_REMOVALS:
            col.db.execute(sql)
        return _Pending(
            {row[0]: tuple(row[1:]) for row in rows},
            dict(col.db.all("select id, mod from notes where usn = -1")),
            set(col.db.list("select id from revlog where usn = -1")),
        )

    def note_cards_of_several(self, col: Any) -> None:
        """Before a full download: note the cards of the notes with more than one (see removed_by_sync)."""
        self.several.update({cid: (nid, guid, ord_) for cid, nid, guid, ord_ in col.db.all(_CARDS_OF_SEVERAL.format(usn=""))})

    def removed_by_sync(self, col: Any) -> dict[int, tuple[int, str, int]]:
        """The cards Anki's sync removed from the replica since *of*: card id -> (note id, note guid, ord). Their notes
        may be gone with them, or still there (a card of several taken out). Noted as they went, by triggers on the
        replica's connection (temporary: nothing of them is written to its file); after a full download, from the
        cards noted before it that it no longer holds."""
        gone: dict[int, tuple[int, str, int]] = {}
        if col.db.scalar("select count() from sqlite_temp_master where name = 'srs_gone_cards'"):
            for cid, nid, guid, ord_ in col.db.all(
                "select c.id, c.nid, coalesce(n.guid, g.guid), c.ord from temp.srs_gone_cards c "
                "left join main.notes n on n.id = c.nid left join temp.srs_gone_notes g on g.id = c.nid "
                "where c.id not in (select id from main.cards)"  # (a row replaced in place is no removal)
            ):
                if guid is not None:
                    gone[cid] = (nid, str(guid), ord_)
        if self.several:
            still = set(col.db.list("select id from cards where id in (select value from json_each(?))", json.dumps(sorted(self.several))))
            gone.update({cid: row for cid, row in self.several.items() if cid not in still})
        return gone

    def only_ours(self, col: Any, card_ids: list[int], since: int) -> set[int]:
        """Of *card_ids*, the cards whose every change since the last sync is the one srs sent."""
        mine = [c for c in card_ids if c in self.cards]
        if not mine:
            return set()
        out = set()
        for part in _chunks(sorted(mine)):
            marks = ",".join("?" * len(part))
            rows = {r[0]: tuple(r[1:]) for r in col.db.all(f"select id, {_CARD_STATE} from cards where id in ({marks})", *part)}
            arrived: dict[int, set[int]] = {}
            for cid, rid in col.db.all(f"select cid, id from revlog where usn > ? and cid in ({marks})", since, *part):
                arrived.setdefault(cid, set()).add(rid)
            notes = dict(col.db.all(f"select c.id, n.id from cards c join notes n on n.id = c.nid where c.id in ({marks}) and n.usn > ?", *part, since))
            wanted = sorted(set(notes.values()))
            note_mods = dict(col.db.all(f"select id, mod from notes where id in ({','.join('?' * len(wanted))})", *wanted)) if wanted else {}
            for cid in part:
                same_row = rows.get(cid) == self.cards[cid]
                no_answers = arrived.get(cid, set()) <= self.revlog
                note = notes.get(cid)
                note_ours = note is None or (note in self.notes and note_mods.get(note) == self.notes[note])
                if same_row and no_answers and note_ours:
                    out.add(cid)
        return out


def _pull(
    session: Session, db_path: Path, col: Any, now: datetime, summary: SyncSummary, step: Step, remove_missing: bool = False,
    sent: _Pending | None = None, removed_here: list[int] | None = None,
) -> int:
    """What arrived in the replica into srs; how many cards answered on both sides got their merged schedule written
    back to the replica (to be sent)."""
    step("merging what arrived", 0, 0)

    def merging(stage: str, done: int, total: int) -> None:  # the importer's stages: notes, then answers
        step(f"merging {stage}", done, total)

    since = int(get_setting(session, WATERMARK) if get_setting(session, WATERMARK) is not None else -1)
    collection = _anki()
    # what Anki's sync removed (read once, before the merge: the card removal and the late answers below use it)
    removed_by_sync = _what_sync_removed(session, db_path, col, sent) if sent is not None else {}
    # everything is new to srs after a full download: no need to ask the replica which cards changed
    card_ids: list[int] = [] if since < 0 else col.db.list(
        "select id from cards where usn > ? union select c.id from cards c join notes n on n.id = c.nid where n.usn > ? "
        "union select cid from revlog where usn > ? and cid in (select id from cards)", since, since, since,
    )
    if sent is not None:  # what srs itself sent comes back unchanged: nothing to merge
        echoed = sent.only_ours(col, card_ids, since)
        card_ids = [c for c in card_ids if c not in echoed]
    _pull_presets(session, col, since)  # first: the answers below replay with the parameters both sides now hold
    left_out = _left_out(session, col)  # (first: what follows looks the replica up through the notes srs takes)
    summary.notes_left_out = {reason: len(ids) for reason, ids in left_out.items() if ids}
    leave_out = sorted({nid for ids in left_out.values() for nid in ids} | set(removed_here or ()))
    if since >= 0:
        _keep_texts_edited_unseen(session, db_path, col, since, now, summary)
    synced = from_ms(int(get_setting(session, LAST_SYNC) or 0)) if since >= 0 else None
    if since < 0 or len(card_ids) >= FULL_PULL_CARDS:
        # all is new to srs (a full download) or much changed: srs reads the replica's file itself, as its importer
        # reads a package's
        col.db.execute("pragma wal_checkpoint")  # (nothing is left pending: the file holds every change)
        result = import_collection(session, replica_path(db_path), now, media_source=replica_media(db_path),
                                   media_folder=media_folder(db_path), progress=merging, synced=synced, leave_out=leave_out)
    elif card_ids:
        with tempfile.TemporaryDirectory(prefix="srs-sync-") as work:
            package = Path(work) / f"pull{EXPORT_SUFFIX}"
            col.export_anki_package(
                out_path=str(package),
                options=collection.ExportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True, with_media=True, legacy=False),
                limit=collection.CardIdsLimit(card_ids),
            )
            result = import_package(session, package, now, media_folder=media_folder(db_path), progress=merging, synced=synced,
                                    leave_out=leave_out)
    if since >= 0:  # (a first sync merges as an import does: srs keeps its decks, and sends them)
        _pull_decks(session, col, since, card_ids, now)
    if since < 0 or card_ids:
        summary.media_received += result.media_new
        summary.answers_received += result.reviews_added
        summary.notes_received += result.notes_new + result.notes_updated
    # removed on the other side (or, with *remove_missing*, not on the server at all)
    session.flush()
    gone = [NoteId(n) for n in session.connection().exec_driver_sql(
        "SELECT id FROM notes WHERE NOT orphaned AND guid NOT IN (SELECT value FROM json_each(?)) "
        f"AND (? OR guid IN ({_SYNCED_GUIDS}))",
        (json.dumps(col.db.list("select guid from notes")), int(remove_missing)),
    ).scalars()]
    summary.notes_removed_here += _remove_notes(session, gone, now)
    summary.cards_removed_here += _remove_cards_gone_there(session, col, removed_by_sync, now)
    session.flush()
    summary.answers_received += _keep_answers_to_removed(session, col, since, now, removed_by_sync)
    if since < 0:
        return 0
    _pull_deck_removals(session, col, now)
    return _push_merged(session, col, result.replayed_over_anki if card_ids else set(), now)


def _what_sync_removed(session: Session, db_path: Path, col: Any, sent: _Pending) -> dict[int, tuple[int, str, int]]:
    """The cards Anki's sync removed from the replica during this srs sync (_Pending.removed_by_sync), with those an
    earlier srs sync noted and could not pull (stopped before its pull committed), noted in a file beside the replica.

    What the triggers saw lives only as long as the replica's connection, and the replica no longer holds what they
    saw go: a sync stopped after Anki's part would lose it, and the next one would keep a card the other side emptied
    out of its note, and lose an answer the other side gave just before removing a note srs had never seen answered.
    So it is written down as soon as Anki's sync returns. The file names the last completed sync (RUN), which every
    completed sync changes, and is read only while that is still the last: its pull took what it holds.
    """
    path = removals_path(db_path)
    run = str(get_setting(session, RUN) or "")
    carried = _read_removals(path, run)
    gone = {**carried, **sent.removed_by_sync(col)}
    if gone != carried:
        cards = [[cid, nid, guid, ord_] for cid, (nid, guid, ord_) in sorted(gone.items())]
        text = json.dumps({"run": run, "cards": cards})

        def write(target: Path) -> None:
            target.write_text(text, encoding="utf-8")

        write_atomically(path, write, "sync record", SyncProblem)
    return gone


def _read_removals(path: Path, run: str) -> dict[int, tuple[int, str, int]]:
    """The removals noted in *path* by a sync after the completed sync *run*; none when the file is missing, stale or
    damaged (then it goes: what a damaged one held is lost, and the pull falls back on the removed cards' earlier
    answers)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(read_limited(path, MAX_REMOVALS_BYTES, "sync record", SyncProblem))
        if data["run"] == run:
            return {int(cid): (int(nid), str(guid), int(ord_)) for cid, nid, guid, ord_ in data["cards"]}
    except (SyncProblem, ValueError, KeyError, TypeError):
        pass
    try:
        path.unlink()
    except OSError:
        pass  # (replaced at the next write)
    return {}


def _remove_cards_gone_there(session: Session, col: Any, removed_by_sync: dict[int, tuple[int, str, int]], now: datetime) -> int:
    """Remove, keeping their answers, the cards the other side removed from notes it keeps (Anki's Empty Cards, once a
    Cloze deletion or an optional reverse card is taken out of the note): cards Anki's sync removed from the replica
    (*removed_by_sync*), their notes still there; how many.

    Only the cards of Anki's own note types: srs's own notes keep the cards srs gives them. As a removed note is,
    such a card is removed though srs answered it meanwhile; its answers are kept.
    """
    lost = list(removed_by_sync.values())
    if not lost:
        return 0
    kept_notes = set(col.db.list(
        f"select n.id from notes n where n.id in (select value from json_each(?)) and {_taken(session)}",
        json.dumps(sorted({nid for nid, _, _ in lost})),
    ))
    # (a card the note has again, made anew since by an edit on the other side, stays)
    present = {(nid, ord_) for nid, ord_ in col.db.all(
        "select nid, ord from cards where nid in (select value from json_each(?))", json.dumps(sorted(kept_notes)),
    )} if kept_notes else set()
    removed = {(guid, ord_) for nid, guid, ord_ in lost if nid in kept_notes and (nid, ord_) not in present}
    if not removed:
        return 0
    stale = [
        CardId(cid) for cid, guid, ord_ in session.connection().exec_driver_sql(
            "SELECT c.id, n.guid, c.ord FROM cards c JOIN notes n ON n.id = c.note_id "
            "WHERE n.kind = ? AND NOT n.orphaned AND n.guid IN (SELECT value FROM json_each(?))",
            (ANKI_KIND, json.dumps(sorted({guid for guid, _ in removed}))),
        )
        if (guid, ord_) in removed
    ]
    if stale:
        remove(session, stale, now)
    return len(stale)


# what the sync says of the notes it left out, by reason
LEFT_OUT_BECAUSE = {
    "guid": "each has no guid, or the guid of another note (Anki allows it; srs tells notes apart by guid). To bring one "
            "here, copy it into a new note in Anki (Browse > Notes > Create Copy) and remove the old one.",
    "size": f"each has a field of over {MAX_FIELD_BYTES:,} characters, more than srs reads (a picture pasted into the field "
            "as text, say). Shorten the field in Anki to bring the note here.",
}


def _left_out(session: Session, col: Any) -> dict[str, list[int]]:
    """The replica's notes a pull leaves out, with their cards and answers, by reason: "guid" (no guid, or another
    note's: see _LEFT_OUT_NOTES) and "size" (a field longer than srs reads). Anki takes both; refusing them would stop
    every sync, where leaving them out lets the rest travel.

    Finding them reads every note (about 20 ms for 20,000); the answer is kept with the state of the notes table (its
    count, ids and highest update number: every note added, removed or changed by a sync moves one), and read again
    only when that state moved.
    """
    state = [int(v or 0) for v in col.db.first("select count(), min(id), max(id), max(usn) from notes")]
    kept = get_setting(session, LEFT_OUT)
    if isinstance(kept, dict) and kept.get("notes") == state:
        return {"guid": list(kept.get("guid", [])), "size": list(kept.get("size", []))}
    oversized = [
        nid for nid, flds in col.db.all("select id, flds from notes where length(flds) > ?", MAX_FIELD_BYTES)
        if max(len(value) for value in str(flds).split("\x1f")) > MAX_FIELD_BYTES
    ]
    found = {"guid": col.db.list(_LEFT_OUT_NOTES), "size": oversized}
    set_setting(session, LEFT_OUT, {"notes": state, **found})
    return found


def _remove_notes(session: Session, note_ids: list[NoteId], now: datetime) -> int:
    """Remove notes the other side removed, keeping their answers (as srs card rm does)."""
    if not note_ids:
        return 0
    stories = list(session.scalars(select(Note.id).where(Note.id.in_(note_ids), Note.kind == NoteKind.STORY)))
    for story_id in stories:
        remove_story(session, story_id, now)
    rest = [n for n in note_ids if n not in set(stories)]
    card_ids = [CardId(c) for c in session.scalars(select(Card.id).where(Card.note_id.in_(rest), ~Card.note.has(Note.kind == NoteKind.PITCH)))]
    if card_ids:
        remove(session, card_ids, now)
    return len(note_ids)
