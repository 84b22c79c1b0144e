"""What every step of a sync shares: the settings it keeps, where its files live, its error and summary, and the
anki library, loaded on first need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srs.anki.formats import Progress
from srs.errors import SrsError
from srs.settings import SYNCED_REVIEW, get_setting

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


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


# --- pull: replica -> srs ------------------------------------------------------------------


# the replica's cards of notes with more than one card (a note's cards are all its templates Anki found content for;
# srs can remove one of them, and Anki's Empty Cards does): card id, note id, guid, ord; {usn} narrows them
_CARDS_OF_SEVERAL = (
    "select c.id, c.nid, n.guid, c.ord from cards c join notes n on n.id = c.nid "
    "where c.nid in (select nid from cards group by nid having count() > 1){usn}"
)
_HOME_DECK = "case when c.odid != 0 then c.odid else c.did end"  # a card's own deck, also while in a filtered one


def _taken(session: Session) -> str:
    """The condition, in SQL on a replica note "n", that it is one srs takes: not one the last pull left out for its
    guid (_left_out; the ids are srs's own integers)."""
    ids = _left_out_for_guid(session)
    return f"n.id not in ({','.join(str(i) for i in sorted(ids))})" if ids else "1"


def _left_out_for_guid(session: Session) -> set[int]:
    """The replica's notes the last pull left out for their guid (another note's, or none)."""
    kept = get_setting(session, LEFT_OUT)
    return {int(i) for i in kept.get("guid", [])} if isinstance(kept, dict) else set()


def check_anki_available() -> None:
    _anki()
