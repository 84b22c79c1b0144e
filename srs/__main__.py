"""The `srs` process (`srs ...`, `python -m srs ...`): start-up with the cyclic collector paused, then the command line.

Loading the command line and a command's module (SQLAlchemy, click, srs's
own modules) makes about a hundred thousand objects that live as long as
the process. With the collector running, its passes walk them again and
again as they pile up: about a sixth of `srs status`'s time on this
project's machine. So the collector waits until the command's module is
loaded; then those objects are set apart from its passes (``gc.freeze``, in
``srs.cli``) and collection resumes for what the command itself makes.
"""

from __future__ import annotations

import gc
from typing import NoReturn


def run() -> NoReturn:
    gc.disable()  # resumed by srs.cli once the command's module is loaded
    from srs.cli import main

    main(startup_paused=True)


if __name__ == "__main__":
    run()
