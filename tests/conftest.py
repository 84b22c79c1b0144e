"""Shared fixtures: a private data folder, a pinned clock and open collections."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings

from srs.clock import Clock
from srs.db import Database, open_database
from srs.settings import set_setting

# Property tests draw the same examples on every run, so the suite (and CI)
# is reproducible; SRS_HYPOTHESIS_PROFILE=explore draws new ones each run,
# to look for counterexamples (with SRS_FUZZ_EXAMPLES for more of them).
settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("SRS_HYPOTHESIS_PROFILE", "deterministic"))

# A Wednesday morning in Berlin (09:00 local).
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real data folder, or leaves files in the machine's temporary folder.

    Temporary files (srs's and the processes a test starts) go to a folder of
    pytest's, which it clears after a few runs: a process a test kills on
    purpose cannot remove its work folder itself.
    """
    monkeypatch.setenv("SRS_DB", str(tmp_path / "default.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    scratch = tmp_path_factory.mktemp("scratch")
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))


@pytest.fixture(scope="module")
def daytime_here() -> Iterator[str]:
    """A zone where it is daytime now, set as the local zone for the rest of the module that asks for it. Each switch
    of zone makes Anki's clock wait a second (anki_helpers.CHRONO_ZONE_CACHE_SECONDS): a switch there and back in every
    test of a module costs two seconds a test; tests that enter this zone again pay nothing."""
    from .anki_helpers import daytime_zone, local_timezone

    name = daytime_zone(datetime.now(timezone.utc))
    with local_timezone(name):
        yield name


@pytest.fixture
def clock() -> Clock:
    return Clock(BERLIN, 4)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty collection whose timezone is Europe/Berlin."""
    database = open_database(tmp_path / "srs.db")
    with database.session(write=True) as session:
        set_setting(session, "timezone", "Europe/Berlin")
        session.commit()
    yield database
    database.close()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sigint_as_at_a_terminal() -> None:
    """For a child process a test sends Ctrl-C (SIGINT) to: Python's own handling of it, as at a terminal.

    A runner started in the background (``cmd &`` in a script) ignores SIGINT, and its children inherit the
    ignoring, so the signal would never reach srs; ``subprocess.Popen(preexec_fn=...)`` undoes that in the child.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until_open(process: subprocess.Popen, path: Path) -> None:  # type: ignore[type-arg]
    """Until *process* has *path* open (Linux: /proc/PID/fd)."""
    deadline = time.monotonic() + 60
    fds = Path(f"/proc/{process.pid}/fd")
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if any(Path(os.readlink(fd)) == path for fd in fds.iterdir()):
                return
        except OSError:
            pass  # an fd closed while we looked
        time.sleep(0.005)
