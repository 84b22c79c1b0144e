"""Two-way sync through Anki's own sync protocol, with a self-hosted sync server.

srs keeps a *replica*: an Anki collection beside its database
(``NAME.sync/collection.anki2``), touched only through the official
``anki`` library. A sync has three steps:

1. **push** — what changed in srs since the last sync goes into the
   replica: new notes (through Anki's importer, with their cards, schedule
   and answers), edited note text (with the time of the edit, so Anki's
   newer-wins rule compares edit times), answers the replica lacks (revlog
   rows marked for sending), and notes removed in srs (Anki's removal, so
   the deletion travels); the rows of cards srs changed wait for step 4;
2. **Anki's sync** — ``Collection.sync_collection`` with the server;
3. **pull** — what arrived (every row whose update sequence number is past
   the last sync's) is exported by Anki and merged by srs's importer: answers
   are a union keyed by their time, every touched card is replayed, a card
   nobody answered in srs keeps the schedule the other device gave it; notes
   removed on the other side are removed in srs, keeping their answers, and
   answers that arrive for a card removed on either side join them;
4. **send back** — the cards srs changed take, for deck and suspension,
   the side that changed it (the newer where both did), and go into the
   replica with the merged schedules; a second Anki sync sends them.

The first sync uploads srs's collection when the server is empty; when the
server holds a collection it downloads it into the replica, merges it into
srs (union of notes by guid, union of answers) and pushes srs's side back,
so neither side is overwritten. ``--upload`` / ``--download`` force a side.

srs's database changes in one transaction per pull, after Anki's sync has
finished: an interrupted sync leaves it as it was, and the next sync picks
up from the replica (whose rows remember what they sent and received).

The server and client versions must match (Anki keeps them in step); AnkiWeb
does not allow third-party clients, so an endpoint is required.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from srs.anki.export import (
    EXPORT_SUFFIX,
    CardRow,
    NoteRow,
    _card_row,
    _difficulty_factor,
    _note_fields,
    export_package,
    select_cards,
    write_collection,
)
from srs.anki.formats import (
    MAX_FIELD_BYTES,
    Progress,
    legacy_deck_options,
    options_group_names,
    preset_name,
)
from srs.anki.import_ import (
    ANKI_KIND,
    MAX_DURATION_MS,
    apply_options,
    import_collection,
    import_package,
    preset_for,
)
from srs.anki.notetypes import NOTE_TYPES
from srs.anki.schedule import QUEUE_SUSPENDED, day_zero
from srs.bulk import Background, collector_paused
from srs.decks import clean_deck_name, get_or_create_deck
from srs.domain import AnkiDeckId, CardId, DeckId, NoteId, NoteKind, Rating, from_ms, to_ms
from srs.edit import remove, remove_deck, remove_deck_plan, rename_deck
from srs.errors import SrsError
from srs.files import read_limited, write_atomically
from srs.models import Card, Deck, Note, Preset, RemovedReview, Review
from srs.settings import (
    CARDS_REMOVED,
    SYNCED_REVIEW,
    clock_for,
    delete_setting,
    get_setting,
    set_setting,
)
from srs.stories import StoryIndex, remove_story

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

INSTALL_HINT = "srs sync needs the anki package: pip install '.[sync]' (from srs's folder)"
WATERMARK = "sync_watermark"  # the highest update sequence number the replica held after the last pull
LAST_SYNC = "sync_last"  # Unix ms of the last completed sync
PUSHED_REVIEW = SYNCED_REVIEW  # the highest review id pushed
SYNCED_NOTES = "sync_notes"  # guids both sides held after the last sync (to tell a deletion from a note never sent)
SYNCED_PRESETS = "sync_presets"  # each preset's options as of the last sync (to tell a change made in srs since)
SYNCED_DECKS = "sync_decks"  # the Anki ids of srs's decks the replica held after the last sync (to tell a removed deck)
# guid -> Unix ms of the sync that sent srs's edited text of that note (to tell an edit the other side made before it
# could have seen srs's text); kept until the other side's text arrives, or for SENT_TEXT_DAYS
SENT_TEXTS = "sync_sent_texts"
SENT_TEXT_DAYS = 30
# card id in the replica -> [note guid, card ord, Unix ms of the sync] of each card removed on either side that a sync
# knows of: an answer another device gave it before it heard of the removal arrives later, under that id only
REMOVED_CARDS = "sync_removed_cards"
LEFT_OUT = "sync_left_out"  # the notes the last pull left out (_left_out), with the state of the replica's notes then
RUN = "sync_run"  # a token of the last completed sync (see _what_sync_removed)
MAX_REMOVALS_BYTES = 1 << 28  # removed.json: about 60 bytes a card (millions of cards)
# that list as rows of SQL, for comparing guids inside SQLite (no setting yet: none)
_SYNCED_GUIDS = (
    f"SELECT value FROM json_each(coalesce((SELECT value FROM settings WHERE key = '{SYNCED_NOTES}'), '[]')) WHERE type = 'text'"
)
_MOVED_AT_MOST_MS = 64  # an answer moved this little (to keep times unique) is the same answer
# Anki lets notes share a guid, or have none (an add-on, an old import; its Check Database leaves them); srs tells notes
# apart by guid. Of the replica's notes it takes the first of each guid (the lowest id) and leaves the others out:
# the replica's notes srs cannot take, in SQL (see _left_out and _taken)
_LEFT_OUT_NOTES = "select id from notes where guid = '' or id not in (select min(id) from notes group by guid)"


class SyncProblem(SrsError):
    """A sync that could not complete: the server, the network, the login or the versions."""


# What a sync is doing: (stage, done, total), total 0 when the stage has no count
# (the import's progress, with the transfer's bytes and the merge's notes and answers)
Step = Progress


def _anki() -> Any:
    """The anki library, imported only for a sync: no other command pays for it."""
    try:
        import anki.collection
    except ImportError:
        raise SyncProblem(INSTALL_HINT) from None
    return anki.collection


def _anki_version() -> str:
    try:
        from anki.buildinfo import version
    except ImportError:
        return "unknown"
    return str(version)


# --- where things live ------------------------------------------------------------------


def sync_folder(db_path: Path) -> Path:
    return db_path.parent / f"{db_path.name}.sync"


def replica_path(db_path: Path) -> Path:
    return sync_folder(db_path) / "collection.anki2"


def replica_media(db_path: Path) -> Path:
    """The replica's media folder, where Anki keeps it: beside the collection file."""
    return replica_path(db_path).with_suffix(".media")


def media_folder(db_path: Path) -> Path:
    """srs's own media folder (where `srs import` puts pictures and sounds)."""
    return db_path.parent / "media"


def auth_path(db_path: Path) -> Path:
    return sync_folder(db_path) / "auth.json"


def removals_path(db_path: Path) -> Path:
    """What Anki's sync removed from the replica during a sync whose pull has not committed yet (_what_sync_removed)."""
    return sync_folder(db_path) / "removed.json"


@dataclass(frozen=True)
class Login:
    endpoint: str
    username: str
    hkey: str


def read_login(db_path: Path) -> Login | None:
    path = auth_path(db_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Login(str(data["endpoint"]), str(data["username"]), str(data["hkey"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError):
        raise SyncProblem(f"{path} is damaged; run srs sync login again") from None


def _write_login(db_path: Path, login: Login) -> None:
    folder = sync_folder(db_path)
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    text = json.dumps({"endpoint": login.endpoint, "username": login.username, "hkey": login.hkey}, indent=2)

    def write(target: Path) -> None:  # readable by the user only: the host key is a password for the server
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(target, 0o600)

    write_atomically(auth_path(db_path), write, "sync login", SyncProblem)
    os.chmod(auth_path(db_path), 0o600)  # the atomic write gives new files the umask's mode; this one stays private


def _explain(exc: Exception, endpoint: str) -> SyncProblem:
    """An exception from Anki's sync as one line a user can act on."""
    name = type(exc).__name__
    text = " ".join(str(exc).split()) or name
    if name == "NetworkError":
        # the anki library's message leaves the address out ("error sending request for url ()"): put it back
        text = text.replace("for url ()", f"for {endpoint}")
        return SyncProblem(f"cannot reach the sync server at {endpoint}: {text}")
    if name == "SyncError":
        lowered = text.lower()
        if "password" in lowered or "auth" in lowered or "403" in lowered:
            return SyncProblem(f"the sync server refused the login: {text} (srs sync login --endpoint {endpoint})")
        if "version" in lowered or "upgrade" in lowered or "too old" in lowered or "too new" in lowered:
            return SyncProblem(
                f"the sync server does not accept the sync of anki {_anki_version()}, which srs uses: {text} "
                "(run the server and srs's anki library at the same Anki release)"
            )
        if "check database" in lowered:
            # HTTP 400: how Anki's own server refuses a sync version it does not support (rslib sync/version.rs
            # ensure_supported), and how the anki library words any 400 (it cannot tell the two apart)
            return SyncProblem(
                f"the sync server rejected srs's request (HTTP 400): most often a server on another Anki release than "
                f"srs's anki library ({_anki_version()}); run both at the same release, then srs sync again"
            )
        return SyncProblem(f"sync failed: {text}")
    if name == "Interrupted":
        return SyncProblem("sync stopped (Ctrl-C); nothing in srs changed, and the next srs sync picks up from here")
    return SyncProblem(f"sync failed ({name}): {text}")


def _open_replica(db_path: Path) -> Any:
    collection = _anki()
    folder = sync_folder(db_path)
    folder.mkdir(mode=0o700, exist_ok=True)
    return collection.Collection(str(replica_path(db_path)))


def _held_by_another(path: Path) -> bool:
    """Whether another process holds the replica locked (the anki library keeps a collection it has open locked):
    in use, not damaged."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
    except sqlite3.Error:
        return False
    try:
        conn.execute("select count() from sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc) or "busy" in str(exc)
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return False


def _open_or_set_aside(db_path: Path, now: datetime) -> tuple[Any, Path | None]:
    """The replica, or, when Anki cannot open it (a damaged file), a new empty one: the damaged file is moved
    aside (its path returned) so that nothing is deleted, and the sync goes on as a first sync."""
    from anki.errors import DBError

    try:
        return _open_replica(db_path), None
    except DBError:
        path = replica_path(db_path)
        if _held_by_another(path):
            raise SyncProblem(
                f"the sync replica {path} is open in another program (Anki opened on that file?): close it and sync again"
            ) from None
        aside = path.with_name(f"{path.name}.damaged-{now:%Y%m%d-%H%M%S}")
        number = 1
        while aside.exists():  # one set aside earlier in the same second is kept too
            number += 1
            aside = path.with_name(f"{path.name}.damaged-{now:%Y%m%d-%H%M%S}-{number}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):  # its log belongs to the damaged file
            Path(str(path) + suffix).unlink(missing_ok=True)
        return _open_replica(db_path), aside


# --- login ----------------------------------------------------------------------------


def login(db_path: Path, endpoint: str, username: str, password: str) -> Login:
    """Log in to the server: store its host key (never the password) for later syncs."""
    if not endpoint.startswith(("http://", "https://")):
        raise SyncProblem(f"the endpoint is a URL such as http://127.0.0.1:8080/, got {endpoint!r}")
    endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
    collection = _anki()
    # the login needs an Anki collection but none of its content: a scratch one, so the replica is never touched here
    with tempfile.TemporaryDirectory(prefix="srs-login-") as scratch:
        col = collection.Collection(str(Path(scratch) / "collection.anki2"))
        try:
            auth = col.sync_login(username, password, endpoint)
        except Exception as exc:  # the anki library's errors, named in _explain
            raise _explain(exc, endpoint) from None
        finally:
            col.close()
    done = Login(endpoint, username, auth.hkey)
    _write_login(db_path, done)
    return done


def logout(db_path: Path) -> bool:
    """Forget the host key; whether there was one."""
    try:
        auth_path(db_path).unlink()
    except FileNotFoundError:
        return False
    return True


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


# --- the sync ---------------------------------------------------------------------------


@dataclass
class SyncSummary:
    direction: str = "both"  # "both", "uploaded", "downloaded"
    answers_sent: int = 0
    answers_received: int = 0
    notes_sent: int = 0
    notes_received: int = 0
    notes_removed_here: int = 0
    notes_removed_there: int = 0
    cards_removed_here: int = 0  # single cards of notes that stay (a Cloze deletion, a reverse card)
    cards_removed_there: int = 0
    media_sent: int = 0  # media files srs put into the replica for Anki's media sync
    media_received: int = 0
    cards_sent: int = 0  # cards srs moved to another deck, suspended or unsuspended: their rows sent
    schedules_sent: int = 0  # cards answered on both sides: the schedule srs worked out from all their answers, sent
    notes_left_out: dict[str, int] = field(default_factory=dict)  # the server's notes srs does not take: how many, by reason
    conflicts: list[str] = field(default_factory=list)  # notes edited on both sides: where the losing text was kept
    replica_set_aside: Path | None = None  # a replica Anki could not open, moved here; the sync merged as a first sync

    def line(self) -> str:
        head = {"both": "Synced", "uploaded": "Uploaded srs's collection to the server and synced", "downloaded": "Downloaded the server's collection and merged it"}[self.direction]
        return (
            f"{head}: {self.answers_sent} answers and {self.notes_sent} notes sent; {self.answers_received} answers and "
            f"{self.notes_received} notes received; {self.notes_removed_here} notes removed here, {self.notes_removed_there} there"
            + (f"; {self.cards_removed_here} cards of kept notes removed here, {self.cards_removed_there} there"
               if self.cards_removed_here or self.cards_removed_there else "")
            + (f"; {self.cards_sent} cards moved or (un)suspended here sent" if self.cards_sent else "")
            + (f"; {self.schedules_sent} schedules of cards answered on both sides sent" if self.schedules_sent else "")
            + (f"; {self.media_sent} media files sent" if self.media_sent else "")
            + (f"; {self.media_received} media files received" if self.media_received else "")
            + "."
        )


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


SEND_BACK_ROUNDS = 3  # syncs that send what a pull wrote into the replica, each pulling what arrived with it
FULL_PULL_CARDS = 2_000  # past this many changed cards a pull reads the replica file whole: faster than an export of many ids
MEDIA_WAIT_SECONDS = 600  # a media sync that takes longer is left to the next srs sync
PROGRESS_POLL_SECONDS = 0.1  # how often a full sync's transfer is asked how far it is


def _sync(col: Any, auth: Any, endpoint: str) -> Any:
    try:
        return col.sync_collection(auth, False)
    except Exception as exc:  # the anki library's errors, named in _explain
        raise _explain(exc, endpoint) from None


def _sync_media(col: Any, auth: Any, endpoint: str) -> None:
    """Anki's media sync (it runs in the background): start it and wait until it ends."""
    try:
        col.sync_media(auth)
        deadline = time.monotonic() + MEDIA_WAIT_SECONDS
        while col.media_sync_status().active and time.monotonic() < deadline:
            time.sleep(0.01)
        col.media_sync_status()  # raises what the media sync failed with
    except Exception as exc:  # the anki library's errors, named in _explain
        raise _explain(exc, endpoint) from None


def _full(col: Any, auth: Any, upload: bool, server_usn: int | None, endpoint: str, step: Step, stage: str) -> None:
    """Anki's full upload or download, its bytes reported to *step* as they move."""
    col.close_for_full_sync()
    done = threading.Event()

    def watch() -> None:  # the anki library lets go of Python's lock while it transfers; its progress is polled, as Anki's own UI does
        while not done.wait(PROGRESS_POLL_SECONDS):
            latest = col.latest_progress()
            if latest.WhichOneof("value") == "full_sync":
                step(stage, int(latest.full_sync.transferred), int(latest.full_sync.total))

    watcher = threading.Thread(target=watch, name="srs-sync-progress", daemon=True)
    watcher.start()
    try:
        col.full_upload_or_download(auth=auth, server_usn=server_usn, upload=upload)
    except Exception as exc:  # the anki library's errors, named in _explain
        raise _explain(exc, endpoint) from None
    finally:
        done.set()
        watcher.join()
        col.reopen(after_full_sync=True)


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


# the tables of an Anki collection (schema 18) with an update number column that a push or a merge writes to; -1
# marks a row waiting to be sent. (Not ``config``: srs writes none of it there, and a downloaded collection can hold
# settings still marked -1 from the device that uploaded it; the next sync sends them.)
_SENT_TABLES = ("notes", "cards", "revlog", "graves", "decks", "deck_config", "notetypes", "templates", "tags")


def _waiting_to_send(col: Any) -> bool:
    """Whether the replica holds a change of srs's that its next sync would send."""
    return bool(col.db.scalar("select " + " or ".join(f"exists (select 1 from {t} where usn = -1)" for t in _SENT_TABLES)))


def _watermark(col: Any) -> int:
    return int(col.db.scalar(
        "select max(m) from (select max(usn) m from cards union all select max(usn) from notes union all select max(usn) from revlog)"
    ) or 0)


def _server_usn(col: Any) -> int:
    """The replica's update number: the server's after each sync, which moves it on by one."""
    return int(col.db.scalar("select usn from col"))


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


# --- push: srs -> replica ------------------------------------------------------------------


class _Replica:
    """Lookups in the replica by guid, a few at a time: a sync reads what changed, not the whole collection."""

    def __init__(self, session: Session, col: Any) -> None:
        self.col = col
        self._taken = _taken(session)
        self._cards: dict[tuple[str, int], int] = {}
        self._asked: set[str] = set()

    def note_ids(self, guids: set[str]) -> dict[str, int]:
        if not guids:
            return {}
        # one statement, the guids matched inside SQLite (a first sync asks about every note)
        return dict(self.col.db.all(
            f"select guid, id from notes n where guid in (select value from json_each(?)) and {self._taken}", json.dumps(sorted(guids))
        ))

    def card_ids(self, guids: set[str]) -> dict[tuple[str, int], int]:
        wanted = sorted(guids - self._asked)
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            for cid, guid, ord_ in self.col.db.all(
                f"select c.id, n.guid, c.ord from cards c join notes n on n.id = c.nid where n.guid in ({','.join('?' * len(part))}) "
                f"and {self._taken}", *part
            ):
                self._cards[(guid, ord_)] = cid
        self._asked.update(wanted)
        return self._cards


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


def _preset_values(preset: Preset) -> list[Any]:
    """What a sync carries of a preset: retention, FSRS parameters, learning and relearning steps (s), longest interval."""
    return [preset.desired_retention, list(preset.parameters), list(preset.learning_steps), list(preset.relearning_steps),
            preset.maximum_interval]


def _options_group(configs: dict[str, Any], preset: str) -> Any:
    """The replica's options group (by name, from *configs*) that stands for srs's preset *preset*, or None."""
    return next((configs[name] for name in options_group_names(preset) if name in configs), None)


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


class _ReplicaDecks:
    """srs's decks and the replica's, matched: by the Anki id srs keeps for each deck, else by name (srs then takes the
    replica's id, so a rename on either side is still the same deck). Filtered decks are Anki's alone."""

    def __init__(self, session: Session, col: Any) -> None:
        self.session, self.col = session, col
        theirs = {int(d["id"]): d for d in col.decks.all() if not d.get("dyn")}
        self.configs = {int(c["id"]): c for c in col.decks.all_config()}
        ours = list(session.scalars(select(Deck)))
        taken = {int(d.anki_id) for d in ours}
        by_name = {str(d["name"]).lower(): did for did, d in theirs.items()}
        self.pairs: dict[DeckId, int] = {}
        for deck in ours:
            if int(deck.anki_id) in theirs:
                self.pairs[deck.id] = int(deck.anki_id)
                continue
            did = by_name.get(deck.name.lower())
            if did is not None and did not in taken:
                deck.anki_id, self.pairs[deck.id] = AnkiDeckId(did), did
                taken.add(did)
        self.theirs = theirs

    def ours(self, did: int) -> Deck | None:
        return next((self.session.get(Deck, deck_id) for deck_id, paired in self.pairs.items() if paired == did), None)

    def ours_or_made(self, did: int, now: datetime) -> Deck:
        """srs's deck for the replica's deck *did*; for a deck made on the other side, srs makes its own (paired from now on)."""
        deck = self.ours(did)
        if deck is None:
            deck = get_or_create_deck(self.session, str(self.col.decks.name(did)), now, source="anki")
            if self.session.scalar(select(Deck.id).where(Deck.anki_id == did)) is None:
                deck.anki_id = AnkiDeckId(did)
            self.pairs[deck.id] = did
        return deck

    def replica_id(self, deck_id: DeckId) -> int | None:
        """The replica's deck for srs's deck *deck_id*, made (with the options group of its preset) if it has none yet;
        None where the replica has a filtered deck of that name (a card cannot live there)."""
        if deck_id in self.pairs:
            return self.pairs[deck_id]
        deck = self.session.get(Deck, deck_id)
        assert deck is not None, "cards belong to decks"
        did = int(self.col.decks.id(deck.name))  # the replica's deck of that name, or a new one
        if self.col.decks.is_filtered(did):
            return None
        conf = _options_group({c["name"]: c for c in self.configs.values()}, deck.preset.name)
        if conf is not None:
            made = self.col.decks.get(did)
            made["conf"] = int(conf["id"])
            self.col.decks.save(made)
        if self.session.scalar(select(Deck.id).where(Deck.anki_id == did)) is None:
            deck.anki_id = AnkiDeckId(did)
        self.pairs[deck_id] = did
        return did

    def push_names(self) -> int:
        """Decks renamed in srs since the last sync get srs's names in the replica (Anki takes their sub-decks along).

        After each sync's pull the two sides agree on every name, so a name
        that differs now is srs's change.
        """
        renamed = 0
        for deck_id, did in sorted(self.pairs.items(), key=lambda pair: self._depth(pair[0])):
            deck = self.session.get(Deck, deck_id)
            if deck is not None and self.col.decks.name(did) != deck.name:
                try:
                    self.col.decks.rename(did, deck.name)
                except Exception:  # the anki library refused the name: both keep theirs, and the next sync tries again
                    continue
                renamed += 1
        return renamed

    def _depth(self, deck_id: DeckId) -> int:
        deck = self.session.get(Deck, deck_id)
        return deck.name.count("::") if deck is not None else 0


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


def _touch(col: Any) -> None:
    """Rows written directly do not mark the collection changed; Anki's sync
    compares modification times first, so mark it (wall clock, as Anki does)."""
    col.db.execute("update col set mod = max(mod + 1, ?)", int(time.time() * 1000))


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


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


# --- pull: replica -> srs ------------------------------------------------------------------


# the replica's cards of notes with more than one card (a note's cards are all its templates Anki found content for;
# srs can remove one of them, and Anki's Empty Cards does): card id, note id, guid, ord; {usn} narrows them
_CARDS_OF_SEVERAL = (
    "select c.id, c.nid, n.guid, c.ord from cards c join notes n on n.id = c.nid "
    "where c.nid in (select nid from cards group by nid having count() > 1){usn}"
)
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
_HOME_DECK = "case when c.odid != 0 then c.odid else c.did end"  # a card's own deck, also while in a filtered one
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


def _taken(session: Session) -> str:
    """The condition, in SQL on a replica note "n", that it is one srs takes: not one the last pull left out for its
    guid (_left_out; the ids are srs's own integers)."""
    ids = _left_out_for_guid(session)
    return f"n.id not in ({','.join(str(i) for i in sorted(ids))})" if ids else "1"


def _left_out_for_guid(session: Session) -> set[int]:
    """The replica's notes the last pull left out for their guid (another note's, or none)."""
    kept = get_setting(session, LEFT_OUT)
    return {int(i) for i in kept.get("guid", [])} if isinstance(kept, dict) else set()


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


def check_anki_available() -> None:
    _anki()
