"""Push: what changed in srs since the last sync goes into the replica (notes, text, answers, presets, decks,
removals), and the cards srs changed are held until the other side's changes are known.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from srs.anki.export import (
    EXPORT_SUFFIX,
    CardRow,
    NoteRow,
    _card_row,
    _difficulty_factor,
    _note_fields,
    export_package,
    select_cards,
)
from srs.anki.import_ import MAX_DURATION_MS
from srs.anki.notetypes import NOTE_TYPES
from srs.anki.schedule import QUEUE_SUSPENDED, day_zero
from srs.domain import CardId, DeckId, NoteId, Rating, from_ms, to_ms
from srs.models import Card, Deck, Note, Preset, RemovedReview, Review
from srs.settings import CARDS_REMOVED, clock_for, get_setting, set_setting
from srs.stories import StoryIndex
from srs.sync.base import (
    LAST_SYNC,
    PUSHED_REVIEW,
    REMOVED_CARDS,
    SENT_TEXTS,
    SENT_TEXT_DAYS,
    SYNCED_DECKS,
    SYNCED_PRESETS,
    Step,
    SyncSummary,
    WATERMARK,
    _CARDS_OF_SEVERAL,
    _MOVED_AT_MOST_MS,
    _SYNCED_GUIDS,
    _anki,
    _chunks,
    _left_out_for_guid,
    _taken,
    media_folder,
    replica_media,
)
from srs.sync.replica import _Replica, _ReplicaDecks, _options_group, _preset_values, _touch

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _push(
    session: Session, db_path: Path, col: Any, now: datetime, summary: SyncSummary, step: Step, up_to: int | None = None,
) -> _Held:
    """srs's changes since the last sync into the replica; *up_to* leaves out reviews past that id (they came from it).
    The cards srs changed, whose rows go once the other side's changes are in (_settle_held)."""
    step("sending srs's changes to the replica", 0, 0)
    replica = _Replica(session, col)
    session.flush()
    conn = session.connection()
    # removed in srs since the last sync: Anki's removal, so the deletion travels
    gone = list(replica.note_ids(_removed_since_last_sync(session)).values())
    if gone:
        _note_removed_cards(session, col, "c.nid", gone, now)
        col.remove_notes(gone)
        summary.notes_removed_there += len(gone)
    # and cards srs removed from a note it keeps (Anki removes whole notes; srs can remove one card of several)
    lone = _cards_removed_from_kept_notes(session, col) if get_setting(session, CARDS_REMOVED) else []
    if lone:
        _note_removed_cards(session, col, "c.id", lone, now)
        col.remove_cards_and_orphaned_notes(lone)
        summary.cards_removed_there += len(lone)
    # new in srs: Anki's importer adds them with their cards, schedule and answers
    maybe_new = set(conn.exec_driver_sql(
        f"SELECT guid FROM notes WHERE NOT orphaned AND guid NOT IN ({_SYNCED_GUIDS})"
    ).scalars())
    present = replica.note_ids(maybe_new)
    summary.notes_sent += _add_new_notes(session, db_path, col, now, {g for g in maybe_new if g not in present}, summary)
    summary.answers_sent += _push_answers(session, col, replica, up_to)
    decks = _ReplicaDecks(session, col)
    decks.push_names()
    held = _hold_card_rows(session, col, replica, decks)
    _push_presets(session, col)
    _touch(col)
    return held


def _cards_removed_from_kept_notes(session: Session, col: Any) -> list[int]:
    """The replica's cards srs removed since the last sync from notes it still holds, with other cards.

    Of the notes with more than one card, the cards the replica held at the last pull (update number at most the
    watermark: what arrived since is the other side's, not yet merged) that srs no longer holds. (Single-card notes
    go whole: _removed_since_last_sync.) A few milliseconds: the replica's cards are grouped in SQL.
    """
    rows = [(cid, guid, ord_) for cid, _, guid, ord_ in col.db.all(
        _CARDS_OF_SEVERAL.format(usn=f" and c.usn <= ? and {_taken(session)}"), int(get_setting(session, WATERMARK)),
    )]
    if not rows:
        return []
    ours = session.connection().exec_driver_sql(
        "SELECT n.guid, c.ord FROM notes n JOIN cards c ON c.note_id = n.id "
        "WHERE NOT n.orphaned AND n.guid IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({guid for _, guid, _ in rows})),),
    ).all()
    kept_notes, held = {guid for guid, _ in ours}, {(guid, ord_) for guid, ord_ in ours}
    return [cid for cid, guid, ord_ in rows if guid in kept_notes and (guid, ord_) not in held]


def _note_removed_cards(session: Session, col: Any, column: str, ids: list[int], now: datetime) -> None:
    """Remember the replica's cards whose *column* ("c.nid" or "c.id") is one of *ids*, about to be removed there,
    by their note and card (REMOVED_CARDS)."""
    known = dict(get_setting(session, REMOVED_CARDS))
    for cid, guid, ord_ in col.db.all(
        f"select c.id, n.guid, c.ord from cards c join notes n on n.id = c.nid where {column} in (select value from json_each(?))",
        json.dumps(ids),
    ):
        known[str(cid)] = [guid, int(ord_), to_ms(now)]
    set_setting(session, REMOVED_CARDS, known)


def _keep_answers_to_removed(
    session: Session, col: Any, since: int, now: datetime, removed_by_sync: dict[int, tuple[int, str, int]],
) -> int:
    """Answers that arrived (past update number *since*) for cards removed on either side: kept with the other answers
    of those cards (as `srs card rm` keeps them), each once; how many are new to srs. Called once the pull has removed
    (at *now*) what the other side removed; *removed_by_sync*: the cards Anki's sync removed (_Pending.removed_by_sync)."""
    known: dict[str, list[Any]] = dict(get_setting(session, REMOVED_CARDS))
    if since < 0 and not known:
        return 0
    # (after a full download, the answers of the cards srs removed only: Anki keeps those of every card ever removed)
    rows = col.db.all(
        "select id, cid, ease, time, ivl, lastIvl, factor, type from revlog "
        "where usn > ? and ease between 1 and 4 and cid not in (select id from cards) "
        "and (? or cid in (select cast(key as integer) from json_each(?)))",
        since, int(since >= 0), json.dumps(known if since < 0 else {}),
    )
    if not rows:
        return 0
    unknown = sorted({row[1] for row in rows if str(row[1]) not in known})
    if unknown and since >= 0:  # removed on the other side: which of srs's cards each was
        found: dict[str, list[Any]] = {}
        left_out = _left_out_for_guid(session)
        for cid in unknown:  # removed by this sync: the replica noted the card, and its note
            before = removed_by_sync.get(cid)
            if before is not None and before[0] not in left_out:
                found[str(cid)] = [before[1], before[2], to_ms(now)]
        rest = [cid for cid in unknown if str(cid) not in found]
        if rest:  # a sync killed during Anki's part (removed.json never written): told by the answers srs merged from the card before
            found.update(_removed_cards_by_answers(session, col, rest, since, now))
        if found:
            known.update(found)
            set_setting(session, REMOVED_CARDS, known)
    rows = [row for row in rows if str(row[1]) in known]
    if not rows:
        return 0
    guids = {known[str(row[1])][0] for row in rows}
    held: dict[tuple[str, int], list[int]] = {}
    for guid, ord_, at in [  # what srs holds of those cards: kept as removed, or answers of a card that came back since
        *session.execute(select(RemovedReview.guid, RemovedReview.ord, RemovedReview.reviewed_at).where(RemovedReview.guid.in_(guids))),
        *session.execute(select(Note.guid, Card.ord, Review.reviewed_at).join(Card, Card.id == Review.card_id).join(Note)
                         .where(Note.guid.in_(guids))),
    ]:
        held.setdefault((guid, ord_), []).append(to_ms(at))
    added = []
    for at, cid, ease, duration, ivl, last_ivl, factor, kind in sorted(rows):
        guid, ord_, removed = known[str(cid)]
        times = held.setdefault((guid, ord_), [])
        if any(abs(at - t) < _MOVED_AT_MOST_MS for t in times):  # held already (srs's own answer, sent before, say)
            continue
        times.append(at)
        added.append(RemovedReview(
            guid=guid, ord=ord_, removed_at=from_ms(removed), reviewed_at=from_ms(at), rating=Rating(ease),
            duration_ms=min(max(0, duration), MAX_DURATION_MS), anki_ivl=ivl, anki_last_ivl=last_ivl, anki_factor=factor,
            anki_type=kind,
        ))
    session.add_all(added)
    return len(added)


def _removed_cards_by_answers(session: Session, col: Any, cids: list[int], since: int, now: datetime) -> dict[str, list[Any]]:
    """Which of srs's cards the replica's cards *cids* were, removed on the other side with their notes (the replica no
    longer says): told by their answers srs merged at earlier syncs, which this pull kept as removed (at *now*) when it
    removed their notes. A card none or more than one of whose answers match is left out. REMOVED_CARDS entries."""
    earlier = col.db.all("select cid, id from revlog where usn <= ? and cid in (select value from json_each(?))", since, json.dumps(cids))
    if not earlier:
        return {}
    kept = sorted(
        (to_ms(at), guid, ord_) for guid, ord_, at in session.execute(
            select(RemovedReview.guid, RemovedReview.ord, RemovedReview.reviewed_at).where(RemovedReview.removed_at == now)
        )
    )
    times = [row[0] for row in kept]
    matched: dict[int, set[tuple[str, int]]] = {}
    for cid, at in earlier:  # (srs may have moved an answer by a few ms to keep times unique)
        for index in range(bisect_left(times, at - _MOVED_AT_MOST_MS + 1), bisect_left(times, at + _MOVED_AT_MOST_MS)):
            matched.setdefault(cid, set()).add((kept[index][1], kept[index][2]))
    return {str(cid): [*next(iter(cards)), to_ms(now)] for cid, cards in matched.items() if len(cards) == 1}


def _removed_since_last_sync(session: Session) -> set[str]:
    """The guids of notes both sides held after the last sync that srs no longer holds (compared in SQL: a sync reads
    what changed, with no Python object per note of the collection)."""
    session.flush()
    return set(session.connection().exec_driver_sql(
        f"SELECT value FROM ({_SYNCED_GUIDS}) WHERE value NOT IN (SELECT guid FROM notes WHERE NOT orphaned)"
    ).scalars())


def _push_presets(session: Session, col: Any) -> None:
    """Presets changed in srs since the last sync (`srs config`, `srs optimize`) go to the options groups that stand for
    them in the replica, so the other devices schedule with the same retention, parameters and steps."""
    before = get_setting(session, SYNCED_PRESETS) or {}
    configs = {conf["name"]: conf for conf in col.decks.all_config()}
    for preset in session.scalars(select(Preset)):
        values = _preset_values(preset)
        if before.get(preset.name) == values:
            continue
        conf = _options_group(configs, preset.name)
        if conf is None:  # no deck of this preset on the other side (yet): a new deck brings its options with it
            continue
        wanted = {"desiredRetention": preset.desired_retention, "fsrsParams6": list(preset.parameters),
                  "new": [s / 60 for s in preset.learning_steps], "lapse": [s / 60 for s in preset.relearning_steps],
                  "maxIvl": preset.maximum_interval}
        held = {"desiredRetention": conf.get("desiredRetention"), "fsrsParams6": conf.get("fsrsParams6"),
                "new": conf["new"]["delays"], "lapse": conf["lapse"]["delays"], "maxIvl": conf["rev"]["maxIvl"]}
        if wanted == held:
            continue
        conf["desiredRetention"], conf["fsrsParams6"] = wanted["desiredRetention"], wanted["fsrsParams6"]
        conf["new"]["delays"], conf["lapse"]["delays"], conf["rev"]["maxIvl"] = wanted["new"], wanted["lapse"], wanted["maxIvl"]
        col.decks.update_config(conf)  # marked for sending, with the time of the change


def _push_deck_removals(session: Session, col: Any) -> int:
    """Decks removed in srs since the last sync (`srs deck rm`) are removed in the replica, once Anki's sync has
    brought the other side's changes, if no card is left in them there; a deck that gained a card on the phone
    meanwhile stays, and the card comes to srs. How many were removed."""
    synced = {int(i) for i in get_setting(session, SYNCED_DECKS) or []}
    gone = synced - {int(i) for i in session.scalars(select(Deck.anki_id))}
    theirs = {int(d["id"]): str(d["name"]) for d in col.decks.all() if not d.get("dyn")}
    removed = 0
    for did in sorted((d for d in gone if d in theirs), key=lambda d: -theirs[d].count("::")):  # sub-decks first
        if not col.decks.card_count(did, include_subdecks=True):
            col.decks.remove([did])
            removed += 1
    return removed


def _add_new_notes(session: Session, db_path: Path, col: Any, now: datetime, guids: set[str] | None, summary: SyncSummary) -> int:
    """Put srs's notes with *guids* (all when None) into the replica through an export and Anki's importer; how many.
    The media files they bring that the replica lacked are counted as sent (Anki's media sync takes them)."""
    if guids is not None and not guids:
        return 0
    note_ids: set[NoteId] | None = None
    if guids is not None:
        note_ids = set(session.scalars(select(Note.id).where(Note.guid.in_(list(guids)))))
    cards, _ = select_cards(session, None, note_ids)
    if not cards:
        return 0
    collection = _anki()
    with tempfile.TemporaryDirectory(prefix="srs-sync-") as work:
        package = Path(work) / f"push{EXPORT_SUFFIX}"
        exported = export_package(session, package, now, only_notes=note_ids, media_folder=media_folder(db_path))
        held = _media_names(db_path) if exported.media else set()
        col.import_anki_package(
            collection.ImportAnkiPackageRequest(
                package_path=str(package),
                options=collection.ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True),
            )
        )
    if exported.media:
        summary.media_sent += len(_media_names(db_path) - held)
    return len({c.note_id for c in cards})


def _media_names(db_path: Path) -> set[str]:
    """The names of the files in the replica's media folder."""
    try:
        return {entry.name for entry in os.scandir(replica_media(db_path)) if entry.is_file()}
    except FileNotFoundError:
        return set()


def _anki_values(stories: StoryIndex, note: Note) -> list[str] | None:
    """The field values a note has in Anki (None: a note srs cannot write to Anki)."""
    if note.kind in NOTE_TYPES:
        return _note_fields(stories, NoteRow(note.id, note.guid, note.kind, note.fields, note.tags, 0, 0))
    return list(note.anki_fields) if note.anki_fields is not None else None


def _push_note_text(session: Session, db_path: Path, col: Any, since: int, now: datetime, summary: SyncSummary) -> int:
    """Note text edited in srs since the last sync, once Anki's sync has brought the other side's edits.

    Written with the time of the edit, so the next sync (and every device)
    keeps the newer text. A note edited on both sides keeps the newer edit;
    the other text is saved as a draft and reported, never dropped silently.
    """
    last = int(get_setting(session, LAST_SYNC) or 0)
    if not last:
        return 0
    stories = StoryIndex(session)
    sent: dict[str, int] = dict(get_setting(session, SENT_TEXTS) or {})
    changed = 0
    for note in session.scalars(select(Note).where(Note.modified > from_ms(last), Note.orphaned.is_(False))):
        row = col.db.first("select id, flds, mod, usn from notes where guid = ? order by id limit 1", note.guid)  # the first: the one srs took
        values = _anki_values(stories, note)
        if row is None or values is None:
            continue
        nid, flds, mod, usn = row
        if "\x1f".join(values) == flds:
            continue
        edited = int(note.modified.timestamp())
        anki_note = col.get_note(nid)
        # the other side edited it since the last sync too (after a full download, *since* -1, the update numbers are
        # the server's whole history: the note's time tells instead; Anki's has whole seconds, so an edit in the
        # second of the last sync counts as after it: at worst a draft too many, never a text lost)
        theirs_changed = usn > since if since >= 0 else (mod + 1) * 1000 > last
        if theirs_changed and mod > edited:  # theirs is newer: the pull brings it; srs's text is kept
            summary.conflicts.append(_keep_draft(db_path, note.guid, dict(note.fields), now))
            continue
        if theirs_changed:  # srs's is newer: it goes; theirs is kept
            summary.conflicts.append(_keep_draft(db_path, note.guid, dict(zip(anki_note.keys(), anki_note.fields)), now))
        for i, value in enumerate(values[: len(anki_note.fields)]):
            anki_note.fields[i] = value
        col.update_note(anki_note)
        # the edit's own time, for Anki's newer-wins rule; both edits in one second (Anki's note times have whole
        # seconds): a second later, so that srs's is the newer everywhere and no side keeps its own
        stamp = edited + 1 if theirs_changed and mod == edited else edited
        col.db.execute("update notes set mod = ? where id = ?", stamp, nid)
        sent[note.guid] = to_ms(now)
        changed += 1
    if changed:
        set_setting(session, SENT_TEXTS, sent)
    return changed


def _keep_texts_edited_unseen(session: Session, db_path: Path, col: Any, since: int, now: datetime, summary: SyncSummary) -> None:
    """Before a pull: srs's text of a note, sent by an earlier sync and unchanged since, about to be replaced by an
    edit the other side made before that sync. That edit cannot have seen srs's text: both edited the note, and the
    server kept the newer by time, as Anki's sync does. srs's text is saved as a draft and reported.

    (An edit made after srs's sync may or may not have seen srs's text, and Anki does not say: it replaces srs's text
    as any later edit does.)
    """
    sent: dict[str, int] = dict(get_setting(session, SENT_TEXTS) or {})
    if not sent:
        return
    now_ms = to_ms(now)
    rows = col.db.all(
        f"select guid, flds, mod from notes n where usn > ? and guid in (select value from json_each(?)) and {_taken(session)}",
        since, json.dumps(sorted(sent)),
    )
    held = {n.guid: n for n in session.scalars(select(Note).where(Note.guid.in_([r[0] for r in rows])))} if rows else {}
    stories = StoryIndex(session)
    for guid, flds, mod in rows:
        sent_at = sent[guid]
        if sent_at >= now_ms:  # sent by this sync: what the replica holds is srs's own text
            continue
        del sent[guid]  # the other side's text has arrived: whatever it is, the next edit starts afresh
        note = held.get(guid)
        values = _anki_values(stories, note) if note is not None else None
        if note is None or values is None or to_ms(note.modified) > sent_at:  # gone, or edited in srs again since
            continue
        if int(mod) * 1000 < sent_at and "\x1f".join(values) != flds:
            summary.conflicts.append(_keep_draft(db_path, guid, dict(note.fields), now))
    oldest = now_ms - SENT_TEXT_DAYS * 86_400_000
    set_setting(session, SENT_TEXTS, {guid: at for guid, at in sent.items() if at >= oldest})


def _push_answers(session: Session, col: Any, replica: _Replica, up_to: int | None) -> int:
    """srs's answers (and resets) the replica does not hold, as revlog rows marked for sending."""
    pushed = int(get_setting(session, PUSHED_REVIEW) or 0)
    query = (
        select(Review, Note.guid, Card.ord, Card.reset_at)
        .join(Card, Card.id == Review.card_id)
        .join(Note, Note.id == Card.note_id)
        .where(Review.id > pushed)
    )
    if up_to is not None:
        query = query.where(Review.id <= up_to)
    # sorted here, not in SQL: ordered by time, SQLite walks the whole log by its time index to find the few new ones
    rows = sorted(session.execute(query).all(), key=lambda row: row[0].reviewed_at)
    if not rows:
        return 0
    cards = replica.card_ids({guid for _, guid, _, _ in rows})
    wanted = {cards[(guid, ord_)] for _, guid, ord_, _ in rows if (guid, ord_) in cards}
    held: dict[int, list[int]] = {}
    for part in _chunks(sorted(wanted)):
        for cid, rid in col.db.all(f"select cid, id from revlog where cid in ({','.join('?' * len(part))})", *part):
            held.setdefault(cid, []).append(rid)
    taken = set(col.db.list("select id from revlog where id >= ?", min(to_ms(r.reviewed_at) for r, *_ in rows) - _MOVED_AT_MOST_MS))
    out = []
    resets: dict[int, int] = {}
    for review, guid, ord_, reset_at in rows:
        cid = cards.get((guid, ord_))
        if cid is None:
            continue
        at = to_ms(review.reviewed_at)
        if any(at - _MOVED_AT_MOST_MS < t <= at + _MOVED_AT_MOST_MS for t in held.get(cid, ())):
            continue
        while at in taken:
            at += 1
        taken.add(at)
        factor = review.anki_factor if review.anki_factor is not None else _difficulty_factor(review.difficulty)
        kind = review.anki_type if review.anki_type is not None else {2: 1, 3: 2}.get(int(review.prev_state), 0)
        out.append((at, cid, int(review.rating), review.anki_ivl if review.anki_ivl is not None else review.interval,
                    review.anki_last_ivl if review.anki_last_ivl is not None else review.last_interval, factor,
                    max(0, review.duration_ms), kind))
        if reset_at is not None:
            resets[cid] = to_ms(reset_at)
    for cid, at in resets.items():  # a reset to new, as Anki writes one
        if at not in held.get(cid, []) and at not in taken:
            out.append((at, cid, 0, 0, 0, 0, 0, 4))
    col.db.executemany("insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) values (?,?,-1,?,?,?,?,?,?)", out)
    return sum(1 for row in out if row[2] > 0)


def _hold_card_rows(session: Session, col: Any, replica: _Replica, decks: _ReplicaDecks) -> _Held:
    """The cards srs changed since the last sync, with their deck and suspension as the replica holds them now (as
    both sides held them, unless srs sent a change before) and as srs holds them. Their rows go to the replica only
    once Anki's sync has brought the other side's changes (_settle_held)."""
    held = _Held()
    last = int(get_setting(session, LAST_SYNC) or 0)
    if not last:
        return held
    since = int(get_setting(session, WATERMARK) if get_setting(session, WATERMARK) is not None else -1)
    rows, notes = select_cards(session, None, None, modified_after=last)
    cards = replica.card_ids({note.guid for note in notes.values()})
    placed: dict[int, tuple[int, int, int, int]] = {}
    for part in _chunks(sorted(cards.values())):
        for cid, *row in col.db.all(f"select id, did, odid, queue, usn from cards where id in ({','.join('?' * len(part))})", *part):
            placed[cid] = (row[0], row[1], row[2], row[3])
    for row in rows:
        cid = cards.get((notes[row.note_id].guid, row.ord))
        if cid is None or cid not in placed:
            continue
        did, odid, queue, usn = placed[cid]
        home = decks.replica_id(row.deck_id)  # (made in the replica now if srs's deck is new there)
        held.cards[cid] = row.id
        # a row that arrived after srs's last pull (a sync killed before srs took it in) is the other side's change,
        # not what both held: what came before it is unknown
        held.before[cid] = None if 0 <= since < usn else (int(odid or did), queue == QUEUE_SUSPENDED)
        held.ours[cid] = (row.deck_id, int(home) if home is not None else int(odid or did), row.suspended, row.modified)
    return held


@dataclass
class _Held:
    """srs's cards changed since the last sync, by the replica's card id: their rows wait until the other side's
    changes are in the replica.

    Anki's sync keeps one side's whole card row where both changed a card, the newer one: sent before the sync, an
    answer given in srs would put back a deck move or suspension made on the phone meanwhile (and the phone's answer
    srs's move). Held back, each card's deck and suspension are settled one by one against what both sides held at
    the last sync (_settle_held): the side that changed it wins, the newer change where both did; the answers of
    both sides are merged by the pull.
    """

    cards: dict[int, CardId] = field(default_factory=dict)  # the replica's card id -> srs's
    before: dict[int, tuple[int, bool] | None] = field(default_factory=dict)  # home deck, suspended: the replica's before
    # the sync (None: unknown)
    ours: dict[int, tuple[DeckId, int, bool, int]] = field(default_factory=dict)  # srs's deck, its replica id, suspended, changed (ms)
    theirs: dict[int, tuple[int, int, int, int]] | None = None  # did, odid, queue, mod: the replica's after the sync

    def arrived(self, col: Any) -> None:
        """Note the held cards' rows as the sync left them, before a pull writes merged schedules into some."""
        self.theirs = {}
        for part in _chunks(sorted(self.cards)):
            for cid, *row in col.db.all(f"select id, did, odid, queue, mod from cards where id in ({','.join('?' * len(part))})", *part):
                self.theirs[cid] = (row[0], row[1], row[2], row[3])


def _settle_held(session: Session, col: Any, held: _Held, now: datetime) -> int:
    """After a pull: each held card takes, for its deck and its suspension, srs's value where only srs changed it,
    the replica's where only the other side did, the newer where both did; then srs's card goes into the replica
    row (schedule, memory, deck, suspension), marked to be sent. How many rows were written."""
    if not held.cards:
        return 0
    ours_won_over: set[int] = set()  # cards whose replica row the other side changed, and srs's change still stands
    decks = _ReplicaDecks(session, col)
    if held.theirs is None:
        held.arrived(col)
    assert held.theirs is not None
    for cid, card_id in held.cards.items():
        row = held.theirs.get(cid)
        card = session.get(Card, card_id)
        if row is None or card is None:  # removed on one side meanwhile
            continue
        did, odid, queue, mod = row
        their_home, their_suspended = int(odid or did), queue == QUEUE_SUSPENDED
        deck_id, our_home, our_suspended, changed_ms = held.ours[cid]
        theirs_newer = int(mod) * 1000 > changed_ms
        before = held.before[cid]
        if before is None:  # what both held is unknown: where the two sides differ, each counts as changed (the newer wins)
            ours_moved = theirs_moved = our_home != their_home
            ours_switched = theirs_switched = our_suspended != their_suspended
        else:
            ours_moved, theirs_moved = our_home != before[0], their_home != before[0]
            ours_switched, theirs_switched = our_suspended != before[1], their_suspended != before[1]
        ours_moved = ours_moved and session.get(Deck, deck_id) is not None  # (a deck a rename on the other side merged away)
        if ours_moved and (not theirs_moved or not theirs_newer):
            if card.deck_id != deck_id:
                card.deck_id, card.modified = deck_id, now
            if their_home != our_home and theirs_newer:
                ours_won_over.add(cid)
        elif theirs_moved:
            deck = decks.ours_or_made(their_home, now)
            if card.deck_id != deck.id:
                card.deck_id, card.modified = deck.id, now
        suspended = our_suspended if ours_switched and (not theirs_switched or not theirs_newer) else their_suspended
        if suspended != their_suspended and theirs_newer:
            ours_won_over.add(cid)
        if card.suspended != suspended:
            card.suspended, card.modified = suspended, now
    session.flush()
    card_ids = set(held.cards.values())
    note_ids = set(session.scalars(select(Card.note_id).where(Card.id.in_(sorted(card_ids)))))
    rows, notes = select_cards(session, None, note_ids)
    # a row the other side changed later than srs, with srs's deck or suspension put on top: sent with Anki's wall
    # clock, newer than that row wherever it still waits to be sent (the other rows carry the time srs changed the card)
    wall = int(time.time())
    return _write_card_rows(session, col, [r for r in rows if r.id in card_ids], notes, _Replica(session, col), decks, now,
                            memory_too=False, mods={cid: max(wall, held.ours[cid][3] // 1000) for cid in ours_won_over})


def _push_merged(session: Session, col: Any, card_ids: set[CardId], now: datetime) -> int:
    """Cards answered on both sides since the last sync, whose schedule srs has just replayed from the merged answers:
    that schedule and memory go to the replica, so the other devices take it on their next sync. How many."""
    if not card_ids:
        return 0
    note_ids = set(session.scalars(select(Card.note_id).where(Card.id.in_(sorted(card_ids)))))
    rows, notes = select_cards(session, None, note_ids)
    rows = [row for row in rows if row.id in card_ids]
    return _write_card_rows(session, col, rows, notes, _Replica(session, col), _ReplicaDecks(session, col), now, memory_too=True)


def _write_card_rows(
    session: Session, col: Any, rows: list[CardRow], notes: dict[int, NoteRow], replica: _Replica, decks: _ReplicaDecks,
    now: datetime, memory_too: bool, mods: dict[int, int] | None = None,
) -> int:
    """srs's cards *rows* into their replica rows where these differ (in the memory too, with *memory_too*): how many.
    *mods* gives some of them (by the replica's card id) another modification time (s) than srs's change."""
    if not rows:
        return 0
    clock = clock_for(session)
    today = clock.today(now)
    offset = col.get_config("creationOffset", None)
    first_day = day_zero(int(col.crt), int(offset) if offset is not None else None, clock)  # the replica's day 0 in srs's days
    guid_of = {note_id: note.guid for note_id, note in notes.items()}
    cards = replica.card_ids(set(guid_of.values()))
    presets = {p.id: p for p in session.scalars(select(Preset))}
    deck_preset = dict(session.execute(select(Deck.id, Deck.preset_id)).all())
    written = 0
    compared = 9 if memory_too else 8
    for row in rows:
        cid = cards.get((guid_of[row.note_id], row.ord))
        if cid is None:
            continue
        values = _card_row(row, clock, first_day, presets[deck_preset[row.deck_id]], True, today)
        current = col.db.first("select type, queue, due, ivl, factor, reps, lapses, left, data, did, odid from cards where id = ?", cid)
        if current is None:
            continue
        home = decks.replica_id(row.deck_id)  # a card in a filtered deck on the phone has its home deck in odid
        if home is None:
            did, odid = current[9], current[10]
        else:
            did, odid = (current[9], home) if current[10] else (home, 0)
        if tuple(current[:compared]) == tuple(values[:compared]) and (current[9], current[10]) == (did, odid):
            continue
        # the row carries the time srs changed the card, not the sync's: where the phone changed it too, Anki's sync
        # keeps the newer change (rslib sync/collection/chunks.rs: a pending row gives way to a newer mtime)
        mod = row.modified // 1000 if row.modified else int(now.timestamp())
        if mods and cid in mods:
            mod = mods[cid]
        col.db.execute(
            "update cards set type=?, queue=?, due=?, ivl=?, factor=?, reps=?, lapses=?, left=?, data=?, did=?, odid=?, mod=?, usn=-1 "
            "where id=?",
            *values, did, odid, mod, cid,
        )
        written += 1
    return written


def _keep_draft(db_path: Path, guid: str, fields: dict[str, str], now: datetime) -> str:
    """The losing text of a note edited on both sides, as a file in drafts/; its path.

    The file is named after the note's guid made safe for a file name (an
    Anki guid may hold '/' and other punctuation, and comes from the other
    side). No draft is ever overwritten; the same text of the same note,
    kept by a sync that was interrupted and run again, is not kept twice.
    """
    folder = db_path.parent / "drafts"
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(f"## {name}\n{value}\n\n" for name, value in fields.items())
    data = text.encode("utf-8")
    stem = f"sync-conflict-{_file_safe(guid)}"
    for kept in sorted(folder.glob(f"{stem}-*.md")):
        if kept.is_file() and not kept.is_symlink() and kept.stat().st_size == len(data) and kept.read_bytes() == data:
            return str(kept)
    n = 1
    while True:
        path = folder / f"{stem}-{now:%Y%m%d-%H%M%S}{'' if n == 1 else f'-{n}'}.md"
        try:
            with path.open("xb") as out:
                out.write(data)
        except FileExistsError:
            n += 1
            continue
        return str(path)


def _file_safe(guid: str, most: int = 40) -> str:
    """*guid* in letters, digits, '-' and '_' only (others as '_'), at most *most* characters."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", guid)[:most] or "_"
