"""The first sync either way: srs's whole collection uploaded, or the server's downloaded and merged into srs.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from srs.anki.export import write_collection
from srs.domain import DeckId, to_ms
from srs.models import Card, Note, Review
from srs.settings import delete_setting, get_setting, set_setting
from srs.sync.base import (
    LAST_SYNC,
    REMOVED_CARDS,
    Step,
    SyncSummary,
    WATERMARK,
    _HOME_DECK,
    _taken,
    media_folder,
    removals_path,
    replica_media,
    replica_path,
)
from srs.sync.pull import _Pending, _left_out, _pull, _what_sync_removed
from srs.sync.push import _media_names, _push, _push_note_text, _removed_since_last_sync, _settle_held
from srs.sync.replica import _Replica, _ReplicaDecks, _full, _open_replica, _sync, _sync_media, _waiting_to_send
from srs.sync.send_back import _send_back

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


# What merging what arrives loads on first use: the review log's arrays, the FSRS scheduler, the local time zone
# (about a tenth of a second on this project's benchmark machine; most of an incremental pull's own work).
_MERGE_MODULES = ("numpy", "fsrs.scheduler", "tzlocal")


def _load_merge_modules() -> None:
    for name in _MERGE_MODULES:
        importlib.import_module(name)


def _upload_from_srs(session: Session, db_path: Path, col: Any, auth: Any, now: datetime, summary: SyncSummary, step: Step) -> Any:
    """Make the replica srs's whole collection and replace the server's with it."""
    step("building the collection to upload", 0, 0)
    col.close()
    path = replica_path(db_path)
    building = path.with_name(f"{path.name}.building")  # the replica is replaced only once the new one is whole
    building.unlink(missing_ok=True)
    shutil.rmtree(replica_media(db_path), ignore_errors=True)
    Path(f"{replica_media(db_path)}.db2").unlink(missing_ok=True)
    # srs's collection written as an Anki collection file, which Anki opens as the replica: a process killed
    # while it is written leaves the old replica as it was, and the next sync starts again
    summary.notes_sent = write_collection(session, building, now, media_folder(db_path), replica_media(db_path))
    summary.media_sent = len(_media_names(db_path))  # (the replica's media folder was emptied above: srs's files only)
    delete_setting(session, REMOVED_CARDS)  # (the ids of the replica srs removed cards from go with it)
    removals_path(db_path).unlink(missing_ok=True)  # (so do the removals a stopped sync noted in it)
    for suffix in ("-wal", "-shm"):  # the old file's log must not be applied to the new one
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(building, path)
    col = _open_replica(db_path)
    col.set_config("fsrs", True)  # srs schedules with FSRS: the other devices do too
    _add_stock_notetypes(col)
    # answers only: a reset to new is a revlog row too (ease 0, type 4), but not an answer (`srs sync status` counts so)
    summary.answers_sent = int(col.db.scalar("select count() from revlog where ease > 0") or 0)
    step("uploading", 0, 0)
    out = _sync(col, auth, auth.endpoint)
    if out.required in (out.FULL_SYNC, out.FULL_UPLOAD, out.FULL_DOWNLOAD):
        _full(col, auth, True, out.server_media_usn, auth.endpoint, step, "uploading")
    # else: the server held an empty collection, and a normal sync sent everything
    _sync_media(col, auth, auth.endpoint)
    _left_out(session, col)  # known now for the replica srs wrote, so that the next pulls read it only once notes change
    summary.direction = "uploaded"
    return col


def _add_stock_notetypes(col: Any) -> None:
    """Anki's own note types (Basic, Cloze, ...), as every new Anki collection has them: the phone adds its notes with these."""
    from anki.stdmodels import get_stock_notetypes

    for name, make in get_stock_notetypes(col):
        if col.models.by_name(name) is None:
            notetype = make(col)
            notetype["id"] = 0  # a new one, with an id of its own
            col.models.add_dict(notetype)


def _download_and_merge(
    session: Session, db_path: Path, col: Any, auth: Any, now: datetime, summary: SyncSummary, step: Step, replace: bool,
    out: Any = None, sent: _Pending | None = None,
) -> Any:
    """Take the server's collection into the replica and merge it into srs; then send srs's side back (unless *replace*).
    In mid-life (a full sync the other side forced), *out* is what Anki's sync answered and *sent* what the replica
    held before it."""
    step("asking the server", 0, 0)
    out = out or _sync(col, auth, auth.endpoint)
    server_empty = out.required == out.FULL_UPLOAD or (out.required == out.NO_CHANGES and col.note_count() == 0)
    if server_empty and not replace:  # srs's collection goes up
        return _upload_from_srs(session, db_path, col, auth, now, summary, step)
    if out.required != out.NO_CHANGES or replace:
        if sent is not None:  # (the download replaces the file: what it no longer holds is told against this)
            sent.note_cards_of_several(col)
        step("downloading the server's collection", 0, 0)
        _full(col, auth, False, out.server_media_usn, auth.endpoint, step, "downloading the server's collection")
        if sent is not None:
            _what_sync_removed(session, db_path, col, sent)
    _sync_media(col, auth, auth.endpoint)
    removed_here: list[int] = []
    if get_setting(session, LAST_SYNC) and not replace:
        # a full sync in mid-life (the phone changed a note type, say): what srs did since its last sync still goes
        # over, as an incremental sync would send it: its note edits (the newer text wins, the other kept as a draft)
        # and its removals (those notes are not taken back from the server's collection; the push removes them there)
        summary.notes_sent += _push_note_text(session, db_path, col, -1, now, summary)
        removed_here = list(_Replica(session, col).note_ids(_removed_since_last_sync(session)).values())
        summary.cards_removed_there += _remove_single_cards_again(session, col, now)
    set_setting(session, WATERMARK, -1)  # everything in the replica is new to srs
    held_before = session.scalar(select(func.max(Review.id))) or 0
    placed = _placements(session)
    _pull(session, db_path, col, now, summary, step, remove_missing=replace, sent=sent, removed_here=removed_here)
    summary.direction = "downloaded"
    if replace:
        return col
    _settle_first_decks(session, col, placed, now)
    held = _push(session, db_path, col, now, summary, step, up_to=held_before)  # the answers just pulled are the replica's own
    _settle_held(session, col, held, now)  # (the server's changes are in: srs's card rows go on top)
    if _waiting_to_send(col):  # (nothing when srs held nothing the server lacked)
        step("sending srs's side", 0, 0)
        _send_back(session, db_path, col, auth, auth.endpoint, now, summary, step)
    _sync_media(col, auth, auth.endpoint)
    return col


def _remove_single_cards_again(session: Session, col: Any, now: datetime) -> int:
    """After a full download in mid-life: the single cards this sync's push removed from notes srs keeps (it recorded
    them in REMOVED_CARDS at *now*) came back with the server's collection; out of the replica again before the pull
    (which would take them back), the removal sent with srs's side. How many."""
    again = sorted(int(cid) for cid, (_, _, at) in get_setting(session, REMOVED_CARDS).items() if at == to_ms(now))
    if not again:
        return 0
    rows = col.db.all(
        "select c.id, n.guid from cards c join notes n on n.id = c.nid where c.id in (select value from json_each(?))", json.dumps(again),
    )
    kept = set(session.connection().exec_driver_sql(
        "SELECT guid FROM notes WHERE NOT orphaned AND guid IN (SELECT value FROM json_each(?))", (json.dumps(sorted({g for _, g in rows})),),
    ).scalars()) if rows else set()
    cards = [cid for cid, guid in rows if guid in kept]  # (a note srs removed whole goes as removed_here says)
    if cards:
        col.remove_cards_and_orphaned_notes(cards)
    return len(cards)


def _placements(session: Session) -> dict[tuple[str, int], tuple[DeckId, int]]:
    """Where each of srs's cards is, before a merge: (note guid, template) -> (deck, last modified in ms)."""
    return {
        (guid, ord_): (deck_id, to_ms(modified))
        for guid, ord_, deck_id, modified in session.execute(select(Note.guid, Card.ord, Card.deck_id, Card.modified).join(Note))
    }


def _settle_first_decks(session: Session, col: Any, placed: dict[tuple[str, int], tuple[DeckId, int]], now: datetime) -> None:
    """After a merge with the server's collection: a card both sides held goes, on both, to the deck the side that
    changed it last had it in (srs's card modification time against Anki's card mod)."""
    if not placed:
        return
    decks = _ReplicaDecks(session, col)
    rows = col.db.all(
        f"select n.guid, c.ord, c.id, {_HOME_DECK}, c.odid != 0, c.mod "
        f"from cards c join notes n on n.id = c.nid where n.guid in (select value from json_each(?)) and {_taken(session)}",
        json.dumps(sorted({guid for guid, _ in placed})),
    )
    cards = {(guid, ord_): card for card, guid, ord_ in session.execute(
        select(Card, Note.guid, Card.ord).join(Note).where(Note.guid.in_([r[0] for r in rows]))
    ).all()} if rows else {}
    for guid, ord_, cid, home, filtered, anki_mod in rows:
        held = placed.get((guid, ord_))
        card = cards.get((guid, ord_))
        if held is None or card is None or decks.pairs.get(held[0]) == home:
            continue
        if held[1] > int(anki_mod) * 1000:  # srs moved it last: the replica follows
            did = decks.replica_id(held[0])
            if did is not None:
                column = "odid" if filtered else "did"
                col.db.execute(f"update cards set {column} = ?, mod = ?, usn = -1 where id = ?", did, held[1] // 1000, cid)
            continue
        card.deck_id, card.modified = decks.ours_or_made(int(home), now).id, now
    session.flush()
