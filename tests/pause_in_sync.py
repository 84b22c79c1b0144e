"""Run the srs command line, pausing at one point of a sync so that a test can kill it there.

Used by tests/test_sync.py. SRS_PAUSE_IN picks the point:

* ``build`` — srs's collection has been written for an upload (notes, cards
  and review log in the file), its last settings not yet;
* ``merge`` — a pull has read the replica and written its notes, cards and
  review rows into srs's database, uncommitted;
* ``sync`` — an incremental sync is about to run Anki's sync, the replica
  open.

The process prints PAUSED to stderr and sleeps there (until the file named by
SRS_PAUSE_UNTIL exists, when that is set). ``none`` runs without a pause.
SRS_BUSY_TIMEOUT_MS, when set, shortens SQLite's wait for the write lock (so
that a test sees a waiting process say so at once).
"""

import os
import sys
import time

import srs.anki.export
import srs.anki.import_
import srs.db


def _pausing(module, name):  # type: ignore[no-untyped-def]
    original = getattr(module, name)

    def paused(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = original(*args, **kwargs)
        sys.stderr.write("PAUSED\n")
        sys.stderr.flush()
        until = os.environ.get("SRS_PAUSE_UNTIL")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (until and os.path.exists(until)):
            time.sleep(0.05)
        return result

    setattr(module, name, paused)


where = os.environ["SRS_PAUSE_IN"]
if where == "build":
    _pausing(srs.anki.export, "_build_collection")
elif where == "merge":
    _pausing(srs.anki.import_, "_write_rows")
elif where == "none":
    pass
elif where == "sync":
    import srs.sync.run

    _pausing(srs.sync.run, "_push")  # (where an incremental sync calls it)
else:
    raise SystemExit(f"SRS_PAUSE_IN is build, merge, sync or none, not {where!r}")

if os.environ.get("SRS_BUSY_TIMEOUT_MS"):
    srs.db.BUSY_TIMEOUT_MS = int(os.environ["SRS_BUSY_TIMEOUT_MS"])

from srs.cli import main  # noqa: E402

main()
