"""Hostile input: shared decks that try to take over the terminal, small files that try to hang srs or eat memory.

Every case ends in srs's one-line error (exit 1) or a correct result, within
seconds, with the database and the media folder unchanged on failure.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from srs.cli import cli

from .conftest import write
from .test_anki_import import valid_package

NOW = "2026-11-25T08:00:00"


def run(db: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner(env=env).invoke(cli, ["--db", str(db), "--now", NOW, "--keys-from-stdin", *args], input=input)


def snapshot(db: Path) -> list[tuple[str, int]]:
    """Row counts of every table: what a failed import must leave as it was."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables]
    finally:
        conn.close()


def doctored(tmp_path: Path, name: str, *statements: str) -> Path:
    """A valid package whose collection was changed by *statements* (as an attacker would)."""
    source = valid_package(tmp_path / "source")
    work = tmp_path / f"{name}-work"
    work.mkdir()
    with zipfile.ZipFile(source) as archive:
        archive.extractall(work)
    conn = sqlite3.connect(work / "collection.anki2")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    out = tmp_path / f"{name}.apkg"
    with zipfile.ZipFile(out, "w") as archive:
        for file in work.iterdir():
            archive.write(file, file.name)
    return out


ENDLESS = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"


@pytest.mark.parametrize(
    ("name", "statements", "message"),
    [
        (
            "revlog view",
            ("DROP TABLE revlog",
             f"CREATE VIEW revlog AS {ENDLESS} SELECT x AS id, 1 AS cid, -1 AS usn, 3 AS ease, 1 AS ivl, 0 AS lastIvl, "
             "2500 AS factor, 1000 AS time, 1 AS type FROM r"),
            "the package's revlog is a view, not a table: srs reads only plain tables",
        ),
        (
            "notes view",
            ("DROP TABLE notes",
             f"CREATE VIEW notes AS {ENDLESS} SELECT x AS id, 'g' || x AS guid, 1 AS mid, 0 AS mod, -1 AS usn, '' AS tags, "
             "printf('%.*c', 100000, 'x') AS flds, '' AS sfld, 0 AS csum, 0 AS flags, '' AS data FROM r"),
            "the package's notes is a view, not a table: srs reads only plain tables",
        ),
        (
            "generated column",
            ("ALTER TABLE notes ADD COLUMN big TEXT GENERATED ALWAYS AS (printf('%.*c', 500000000, 'x')) VIRTUAL",),
            "the package's notes table has generated columns: srs reads only plain tables",
        ),
        (
            "huge field",
            ("UPDATE notes SET flds = printf('%.*c', 2000000, 'x') || char(31) || 'b' WHERE id = (SELECT min(id) FROM notes)",),
            "has a field of 2,000,000 characters; srs imports fields of up to 1,048,576",
        ),
    ],
)
def test_packages_are_data_not_programs(tmp_path: Path, name: str, statements: tuple[str, ...], message: str) -> None:
    """Views, generated columns and oversized fields are refused at once with one line; nothing changes."""
    package = doctored(tmp_path, name.replace(" ", "-"), *statements)
    db = tmp_path / "c.db"
    assert run(db, "status").exit_code == 0
    before = snapshot(db)
    started = time.monotonic()
    result = run(db, "import", str(package))
    assert time.monotonic() - started < 30  # a hang or a gigabyte would not finish
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert message in result.output
    assert snapshot(db) == before


def test_a_query_that_runs_too_long_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its step budget (set tiny here) the reading stops with one line instead of running on."""
    from srs.anki import formats

    package = doctored(  # an honest revlog of 20,000 rows: its reading needs more steps than the budget
        tmp_path, "rows", f"INSERT INTO revlog {ENDLESS.replace('FROM r)', 'FROM r LIMIT 20000)')} "
        "SELECT 1700000000000 + x, (SELECT min(id) FROM cards), -1, 3, 1, 0, 2500, 1000, 1 FROM r",
    )
    assert run(tmp_path / "honest.db", "import", str(package)).exit_code == 0  # within the real budget
    monkeypatch.setattr(formats, "STEPS_FLOOR", 0)
    monkeypatch.setattr(formats, "STEPS_PER_BYTE", 0)
    db = tmp_path / "c.db"
    result = run(db, "import", str(package))
    assert result.exit_code == 1 and "takes far longer to read than its size allows" in result.output
    assert result.output.count("\n") == 1
