"""Two srs processes on one database: a review session and a deck build or import at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import sqlite3

GUIDE = "# Busy guide\n" + "".join(f"- Tell me about a time you shipped model {i}.\n" for i in range(200))


def test_review_while_building_decks(tmp_path: Path) -> None:
    """A review session answering cards while another process rebuilds a deck: no 'database is locked', no lost answer."""
    db = tmp_path / "c.db"
    env_cmd = [sys.executable, "-m", "srs", "--db", str(db)]
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
