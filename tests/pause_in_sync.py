"""Run the srs command line, pausing at one point of a sync so that a test can kill it there.

Used by tests/test_sync.py. SRS_PAUSE_IN picks the point:

* ``build`` — srs's collection has been written for an upload (notes, cards
  and review log in the file), its last settings not yet;
* ``merge`` — a pull has read the replica and written its notes, cards and
  review rows into srs's database, uncommitted.

The process prints PAUSED to stderr and sleeps there.
"""

import os
import sys
import time

import srs.anki.export
import srs.anki.import_


def _pausing(module, name):  # type: ignore[no-untyped-def]
    original = getattr(module, name)

    def paused(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = original(*args, **kwargs)
        sys.stderr.write("PAUSED\n")
        sys.stderr.flush()
        time.sleep(120)
        return result

    setattr(module, name, paused)


where = os.environ["SRS_PAUSE_IN"]
if where == "build":
    _pausing(srs.anki.export, "_build_collection")
elif where == "merge":
    _pausing(srs.anki.import_, "_write_rows")
else:
    raise SystemExit(f"SRS_PAUSE_IN is build or merge, not {where!r}")

from srs.cli import main  # noqa: E402

main()
