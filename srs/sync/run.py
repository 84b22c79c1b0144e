"""A sync from start to end (`srs sync`): the replica opened, push, Anki's sync, pull and send back, or a first
sync; and `srs sync status`.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from srs.bulk import Background, collector_paused
from srs.domain import from_ms, to_ms
from srs.models import Deck, Note, Preset, Review
from srs.settings import CARDS_REMOVED, delete_setting, get_setting, set_setting
from srs.sync.base import (
    LAST_SYNC,
    LEFT_OUT,
    PUSHED_REVIEW,
    RUN,
    SENT_TEXTS,
    SYNCED_DECKS,
    SYNCED_NOTES,
    SYNCED_PRESETS,
    Step,
    SyncProblem,
    SyncSummary,
    WATERMARK,
    _anki,
    replica_path,
)
from srs.sync.login import Login, read_login
from srs.sync.merge import _download_and_merge, _load_merge_modules, _upload_from_srs
from srs.sync.pull import _Pending, _pull, _what_sync_removed
from srs.sync.push import _push, _push_deck_removals, _push_note_text, _settle_held
from srs.sync.replica import _open_or_set_aside, _preset_values, _sync, _sync_media, _touch, _watermark
from srs.sync.send_back import _record_synced_notes, _send_back

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def sync_status(session: Session, db_path: Path) -> dict[str, Any]:
    """What `srs sync status` shows: the login, the last sync, and what srs holds that the server has not seen."""
    who = read_login(db_path)
    last = int(get_setting(session, LAST_SYNC) or 0)
    pushed = int(get_setting(session, PUSHED_REVIEW) or 0)
    pending_answers = session.scalar(select(func.count(Review.id)).where(Review.id > pushed)) or 0
    changed_notes = session.scalar(select(func.count(Note.id)).where(Note.modified > from_ms(last))) if last else None
    return {
        "logged_in": who is not None,
        "endpoint": who.endpoint if who else None,
        "username": who.username if who else None,
        "last_sync": from_ms(last).isoformat() if last else None,
        "answers_to_send": pending_answers,
        "notes_changed_since": changed_notes,
        "replica": str(replica_path(db_path)) if replica_path(db_path).exists() else None,
    }


@collector_paused()
def run_sync(
    session: Session, db_path: Path, now: datetime, force: str | None = None, step: Step = lambda stage, done, total: None,
) -> SyncSummary:
    """Sync srs with the server: push, Anki's sync, pull. *force* is None, "upload" or "download". The caller commits."""
    who = read_login(db_path)
    if who is None:
        raise SyncProblem("not logged in: srs sync login --endpoint URL [--user NAME]")
    collection = _anki()
    auth = collection.SyncAuth(hkey=who.hkey, endpoint=who.endpoint)
    summary = SyncSummary()
    # what merging loads on first use loads on a second thread meanwhile: the anki library lets go of Python's lock
    # while it opens the replica, talks to the server and moves a full sync's bytes
    loading = Background(_load_merge_modules, "srs-sync-load")
    try:
        return _run_sync(session, db_path, now, force, step, who, auth, summary)
    finally:
        loading.wait()  # (a module that fails to load fails again, with its error, where the merge needs it)


def _run_sync(
    session: Session, db_path: Path, now: datetime, force: str | None, step: Step, who: Login, auth: Any, summary: SyncSummary,
) -> SyncSummary:
    """run_sync's steps: open the replica, then upload, download and merge, or push, Anki's sync and pull."""
    # srs's write lock before the replica: a second `srs sync` of this collection waits here until this one is done
    # (the anki library holds the replica locked while it is open, and refuses a second opener)
    session.connection()
    col, summary.replica_set_aside = _open_or_set_aside(db_path, now)
    if summary.replica_set_aside is not None:  # what the old replica held is unknown: the next steps are a first sync's
        for key in (LAST_SYNC, WATERMARK, PUSHED_REVIEW, SYNCED_NOTES, SYNCED_PRESETS, SYNCED_DECKS, SENT_TEXTS, LEFT_OUT, RUN):
            delete_setting(session, key)
        session.flush()  # (the guid comparisons read the settings table in SQL)
    try:
        fresh = col.note_count() == 0 and not get_setting(session, LAST_SYNC)
        if force == "upload":
            col = _upload_from_srs(session, db_path, col, auth, now, summary, step)
        elif force == "download" or fresh:
            col = _download_and_merge(session, db_path, col, auth, now, summary, step, force == "download")
        else:
            held = _push(session, db_path, col, now, summary, step)
            sent = _Pending.of(col, held)
            step("syncing with the server", 0, 0)
            out = _sync(col, auth, who.endpoint)
            _what_sync_removed(session, db_path, col, sent)  # (noted beside the replica at once: a media sync can take long)
            step("syncing media", 0, 0)
            _sync_media(col, auth, who.endpoint)
            if out.required in (out.FULL_SYNC, out.FULL_DOWNLOAD, out.FULL_UPLOAD):
                # the server's collection changed shape (a note type edited on a phone, say), or was reset:
                # take it whole and merge, then send srs's side back on top (what the push above put in the replica
                # goes with it, and is sent again then: counted once)
                summary.answers_sent = summary.notes_sent = summary.notes_removed_there = summary.cards_removed_there = 0
                col = _download_and_merge(session, db_path, col, auth, now, summary, step, False, out, sent)
            else:
                since = int(get_setting(session, WATERMARK))
                texts = _push_note_text(session, db_path, col, since, now, summary)
                summary.notes_sent += texts
                # srs's edits, and the decks it removed, go now that the other side's changes are known
                if _push_deck_removals(session, col) or texts:
                    _touch(col)
                    _sync(col, auth, who.endpoint)
                held.arrived(col)
                merged = _pull(session, db_path, col, now, summary, step, sent=sent)
                summary.schedules_sent += merged
                summary.cards_sent += _settle_held(session, col, held, now)
                if merged or summary.cards_sent:  # the merged schedules and srs's changed cards go out now
                    _send_back(session, db_path, col, auth, who.endpoint, now, summary, step)
        _finish(session, col, now, bool(summary.notes_left_out))
    finally:
        col.close()
    return summary


def _finish(session: Session, col: Any, now: datetime, left_out: bool) -> None:
    """Remember what this sync leaves both sides holding; *left_out*: whether its pull left notes out."""
    set_setting(session, WATERMARK, _watermark(col))
    set_setting(session, LAST_SYNC, to_ms(now))
    set_setting(session, RUN, os.urandom(8).hex())  # (what a stopped sync noted beside the replica is stale from here)
    delete_setting(session, CARDS_REMOVED)
    set_setting(session, PUSHED_REVIEW, session.scalar(select(func.max(Review.id))) or 0)
    _record_synced_notes(session, col, left_out)
    set_setting(session, SYNCED_PRESETS, {p.name: _preset_values(p) for p in session.scalars(select(Preset))})
    theirs = {int(d["id"]) for d in col.decks.all() if not d.get("dyn")}
    set_setting(session, SYNCED_DECKS, sorted(int(i) for i in session.scalars(select(Deck.anki_id)) if int(i) in theirs))
