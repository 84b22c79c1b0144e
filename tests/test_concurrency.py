"""Two srs processes on one database: a review session and a deck build or import at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

GUIDE = "# Busy guide\n" + "".join(f"- Tell me about a time you shipped model {i}.\n" for i in range(200))


def test_review_while_building_decks(tmp_path: Path) -> None:
    """A review session answering cards while another process rebuilds a deck: no 'database is locked', no lost answer."""
    db = tmp_path / "c.db"
    env_cmd = [sys.executable, "-m", "srs", "--db", str(db), "--keys-from-stdin"]
    subprocess.run([*env_cmd, "status"], check=True, capture_output=True, timeout=60)
    guide = tmp_path / "g.md"
    reviewer = subprocess.Popen(
        [*env_cmd, "review", "--new-limit", "30"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    builds = 0
    deadline = time.monotonic() + 120
    assert reviewer.stdin is not None
    for i in range(12):  # 12 answers, interleaved with 12 rebuilds of a 200-question guide
        guide.write_text(GUIDE + f"- Tell me about a launch you led in quarter {i}.\n")
        build = subprocess.run([*env_cmd, "deck", "build", str(guide)], capture_output=True, text=True, timeout=60)
        assert build.returncode == 0, build.stderr
        builds += 1
        reviewer.stdin.write(b" 3")
        reviewer.stdin.flush()
        time.sleep(0.05)
        assert time.monotonic() < deadline
    _, err = reviewer.communicate(b"q", timeout=60)
    assert reviewer.returncode == 0, err.decode()
    conn = sqlite3.connect(db)
    reviews = conn.execute("select count(*) from reviews").fetchone()[0]
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert reviews == 12 and builds == 12


def _hold_write_lock(db: Path, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """Another writer (as a long import would) holding SQLite's write lock for *seconds*."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE settings SET value = value")  # a real write, committed at the end
        taken.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(10)
    return thread, taken


def test_an_answer_waits_out_a_writer_longer_than_the_busy_timeout(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A writer that holds the lock past one busy timeout is waited for, with a message: no 'database is locked'."""
    from click.testing import CliRunner

    from srs import db as db_module
    from srs.cli import cli

    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    db = tmp_path / "c.db"
    base = ["--db", str(db), "--now", "2026-11-25T08:00:00", "--keys-from-stdin"]
    assert CliRunner().invoke(cli, [*base, "status"]).exit_code == 0
    thread, _ = _hold_write_lock(db, 1.5)  # seven busy timeouts
    started = time.monotonic()
    result = CliRunner().invoke(cli, [*base, "review", "--new-limit", "2"], input=" 3 3q")
    thread.join()
    assert result.exit_code == 0, (result.output, result.exception)
    assert time.monotonic() - started >= 1.0  # it really waited for the other writer
    assert result.stderr.count("Waiting for another srs process to finish writing") == 1
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from reviews").fetchone()[0] == 2
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_a_writer_gives_up_after_the_longest_wait_with_one_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Past MAX_WAIT_SECONDS the command stops with srs's one-line error and writes nothing."""
    from click.testing import CliRunner

    from srs import db as db_module
    from srs.cli import cli

    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(db_module, "MAX_WAIT_SECONDS", 0.5)
    db = tmp_path / "c.db"
    base = ["--db", str(db), "--now", "2026-11-25T08:00:00", "--keys-from-stdin"]
    assert CliRunner().invoke(cli, [*base, "status"]).exit_code == 0
    thread, _ = _hold_write_lock(db, 2.0)
    result = CliRunner().invoke(cli, [*base, "config", "new_per_day", "7"])
    thread.join()
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == "Error: database error: database is locked"
    assert "Traceback" not in result.output
    assert CliRunner().invoke(cli, [*base, "config", "new_per_day"]).output.strip() != "7"
