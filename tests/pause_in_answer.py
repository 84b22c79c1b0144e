"""Run the srs command line, pausing inside the write transaction of the Nth answer.

Used by tests/test_crash.py to kill `srs review` at the one moment its own
tests cannot reach from outside: after an answer's review row is inserted and
its card updated, before the commit. SRS_PAUSE_AT_ANSWER=N picks the answer;
the process prints PAUSED-IN-TRANSACTION to stderr and sleeps there.
"""

import os
import sys
import time

from srs.review import ReviewSession

_answer = ReviewSession.answer
_count = 0


def answer(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    global _count
    result = _answer(self, *args, **kwargs)
    _count += 1
    if _count == int(os.environ["SRS_PAUSE_AT_ANSWER"]):
        self.session.flush()  # the review row and the card's new state are now written, uncommitted
        sys.stderr.write("PAUSED-IN-TRANSACTION\n")
        sys.stderr.flush()
        time.sleep(120)
    return result


ReviewSession.answer = answer  # type: ignore[method-assign]

from srs.cli import main  # noqa: E402

main()
