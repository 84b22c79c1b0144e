"""Run the srs command line, pausing once srs's collection has been written for an upload, before it is finished.

Used by tests/test_sync.py to kill `srs sync` while it builds the collection
it uploads: the notes, cards and review log are in the file, its last
settings not yet. The process prints PAUSED-IN-BUILD to stderr and sleeps there.
"""

import sys
import time

import srs.anki.export

_build = srs.anki.export._build_collection


def build(*args, **kwargs):  # type: ignore[no-untyped-def]
    result = _build(*args, **kwargs)
    sys.stderr.write("PAUSED-IN-BUILD\n")
    sys.stderr.flush()
    time.sleep(120)
    return result


srs.anki.export._build_collection = build

from srs.cli import main  # noqa: E402

main()
