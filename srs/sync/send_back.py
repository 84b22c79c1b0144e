"""Send back: after a pull, Anki's sync once more, sending what srs wrote into the replica; whatever arrives with it
is pulled in turn.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srs.settings import set_setting
from srs.sync.base import SYNCED_NOTES, Step, SyncSummary, WATERMARK
from srs.sync.pull import _Pending, _pull
from srs.sync.replica import _server_usn, _sync, _touch, _watermark

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


SEND_BACK_ROUNDS = 3  # syncs that send what a pull wrote into the replica, each pulling what arrived with it


def _send_back(
    session: Session, db_path: Path, col: Any, auth: Any, endpoint: str, now: datetime, summary: SyncSummary, step: Step,
) -> None:
    """Anki's sync once more, after a pull: it sends what srs wrote into the replica since the first (merged schedules,
    srs's side of a first sync).

    Like every Anki sync it also receives: a device that synced after this sync's first one (a phone synced meanwhile)
    has its changes arrive now, and they are pulled in turn, their own merged schedules sent the same way. The server
    moves its update number on by one per sync, so a move of one says no other device synced in between. After a few
    rounds (a device syncing again and again) the rest is left to the next srs sync: everything received has been
    pulled, and what is still to send waits in the replica.
    """
    for _ in range(SEND_BACK_ROUNDS):
        _record_synced_notes(session, col, bool(summary.notes_left_out))  # (a removal meanwhile reads as one)
        set_setting(session, WATERMARK, _watermark(col))  # what the replica holds from the server is in srs by now
        before, sent = _server_usn(col), _Pending.of(col)
        _touch(col)
        out = _sync(col, auth, endpoint)
        if out.required in (out.FULL_SYNC, out.FULL_DOWNLOAD, out.FULL_UPLOAD):
            return  # the server's collection was replaced meanwhile: the next srs sync takes it whole and merges
        if _server_usn(col) <= before + 1:  # only this sync moved the server: nothing else arrived
            return
        if not _pull(session, db_path, col, now, summary, step, sent=sent):
            return


def _record_synced_notes(session: Session, col: Any, left_out: bool) -> None:
    """The notes both sides hold: every note of the replica, but for those a pull left out (*left_out*: whether it
    did; srs never held them, and must not read their absence here as its removal)."""
    guids = col.db.list("select guid from notes")
    if left_out:
        guids = session.connection().exec_driver_sql(
            "SELECT guid FROM notes WHERE guid IN (SELECT value FROM json_each(?))", (json.dumps(guids),)
        ).scalars().all()
    set_setting(session, SYNCED_NOTES, sorted(guids))
