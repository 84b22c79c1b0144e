"""The `srs` process (`srs ...`, `python -m srs ...`): start-up with the cyclic collector paused, then the command line.

Loading the command line and a command's module (SQLAlchemy, click, srs's
own modules) makes about a hundred thousand objects that live as long as
the process. With the collector running, its passes walk them again and
again as they pile up: about a sixth of `srs status`'s time on this
project's machine. So the collector waits until the command's module is
loaded; then those objects are set apart from its passes (``gc.freeze``, in
``srs.cli``) and collection resumes for what the command itself makes.

The pause is this module's first statement, before even `typing` is loaded
(which alone makes enough objects for a pass).

A Ctrl-C while Python loads those modules (the first few tenths of a
second, before click's own handling of it) ends the process as click
would: "Aborted!" on one line, exit status 1, no traceback.
"""

import gc

gc.disable()  # resumed by srs.cli once the command's module is loaded

import os  # noqa: E402  (after the pause, on purpose)
import sys  # noqa: E402
from typing import NoReturn  # noqa: E402


def run() -> NoReturn:
    gc.disable()  # again, for a caller that imported this module earlier and let the collector run since
    try:
        from srs.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("Aborted!\n")
        sys.stderr.flush()
        # (at once, as srs.cli ends: the interpreter, having seen the interrupt in the middle of an import, would
        # otherwise end itself by SIGINT on the way out, whatever the status)
        os._exit(1)
    main(startup_paused=True)


if __name__ == "__main__":
    run()
