"""The replica, srs's Anki collection beside its database: opening it (a damaged one is set aside), Anki's own
sync and media sync on it, and matching its cards and decks to srs's.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from srs.anki.formats import options_group_names
from srs.decks import get_or_create_deck
from srs.domain import AnkiDeckId, DeckId
from srs.models import Deck, Preset
from srs.sync.base import Step, SyncProblem, _anki, _explain, _taken, replica_path, sync_folder

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


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


def _preset_values(preset: Preset) -> list[Any]:
    """What a sync carries of a preset: retention, FSRS parameters, learning and relearning steps (s), longest interval."""
    return [preset.desired_retention, list(preset.parameters), list(preset.learning_steps), list(preset.relearning_steps),
            preset.maximum_interval]


def _options_group(configs: dict[str, Any], preset: str) -> Any:
    """The replica's options group (by name, from *configs*) that stands for srs's preset *preset*, or None."""
    return next((configs[name] for name in options_group_names(preset) if name in configs), None)


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


def _touch(col: Any) -> None:
    """Rows written directly do not mark the collection changed; Anki's sync
    compares modification times first, so mark it (wall clock, as Anki does)."""
    col.db.execute("update col set mod = max(mod + 1, ?)", int(time.time() * 1000))
