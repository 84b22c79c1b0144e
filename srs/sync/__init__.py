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

The steps live in modules of their own, each readable alone, in the order
they import each other: ``base`` (settings, paths, the error, the summary),
``login``, ``replica`` (the replica and Anki's sync on it), ``push``,
``pull``, ``send_back``, ``merge`` (a first sync, either way) and ``run``
(a whole sync, and ``srs sync status``). This module names what the rest of
srs uses.
"""

from __future__ import annotations

from srs.sync.base import (
    INSTALL_HINT,
    SyncProblem,
    SyncSummary,
    auth_path,
    check_anki_available,
    media_folder,
    removals_path,
    replica_media,
    replica_path,
    sync_folder,
)
from srs.sync.login import Login, login, logout, read_login
from srs.sync.pull import LEFT_OUT_BECAUSE
from srs.sync.push import _keep_draft
from srs.sync.run import run_sync, sync_status

__all__ = [
    "INSTALL_HINT", "LEFT_OUT_BECAUSE", "Login", "SyncProblem", "SyncSummary", "_keep_draft", "auth_path",
    "check_anki_available", "login", "logout", "media_folder", "read_login", "removals_path", "replica_media",
    "replica_path", "run_sync", "sync_folder", "sync_status",
]
