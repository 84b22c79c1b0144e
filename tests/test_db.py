"""Opening, migrating and refusing database files."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect

from srs import db as dbmod
from srs.db import APPLICATION_ID, SCHEMA_VERSION, default_db_path, open_database
from srs.errors import DatabaseError
from srs.models import Base


def test_new_database_is_created_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    """A new file gets our application id, the latest schema version and WAL mode."""
    path = tmp_path / "sub" / "new.db"
    database = open_database(path, create_folders=True)
    database.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_migrations_build_the_schema_the_models_describe(tmp_path: Path) -> None:
    """Every model table and column exists after migrating a blank database."""
    database = open_database(tmp_path / "s.db")
    inspector = inspect(database.engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            if column.primary_key:
                continue  # SQLite reports INTEGER PRIMARY KEY as nullable
            assert columns[column.name]["nullable"] == column.nullable, (
                table.name,
                column.name,
            )
    database.close()


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    """Opening an up-to-date database runs no migration step."""
    path = tmp_path / "s.db"
    open_database(path).close()
    calls = []
    original = dbmod.MIGRATIONS[:]
    dbmod.MIGRATIONS[:] = [lambda conn: calls.append(conn)] * len(original)
    try:
        open_database(path).close()
    finally:
        dbmod.MIGRATIONS[:] = original
    assert calls == []


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    """A database from a newer srs is refused with a clear message and not modified."""
    path = tmp_path / "future.db"
    open_database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match=rf"newer srs \(schema {SCHEMA_VERSION + 5}"):
        open_database(path)
    assert path.read_bytes() == before


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    """An SQLite database of another program is not an srs database."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="is not an srs database"):
        open_database(path)
    assert path.read_bytes() == before
    assert not Path(str(path) + "-wal").exists()


def test_text_file_is_refused(tmp_path: Path) -> None:
    """A file that is not SQLite at all is refused."""
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(DatabaseError, match="not an SQLite file"):
        open_database(path)
    assert path.read_text() == "hello"


def test_empty_file_becomes_a_database(tmp_path: Path) -> None:
    """A zero-byte file (e.g. from touch) is initialised."""
    path = tmp_path / "empty.db"
    path.touch()
    open_database(path).close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_path_under_a_file_is_refused(tmp_path: Path) -> None:
    """A --db path whose parent is a regular file gives a clear error (works as root too)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseError, match="cannot create database folder"):
        open_database(blocker / "x.db", create_folders=True)
    with pytest.raises(DatabaseError, match="folder .* does not exist"):
        open_database(blocker / "x.db")


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory given as the database path is refused."""
    with pytest.raises(DatabaseError, match="is a directory"):
        open_database(tmp_path)


def test_default_path_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SRS_DB overrides the data-folder default."""
    monkeypatch.setenv("SRS_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("SRS_DB")
    assert default_db_path().name == "srs.db"
    assert "srs" in default_db_path().parent.parts


def test_write_sessions_queue_instead_of_failing(tmp_path: Path) -> None:
    """A second writer waits on the busy timeout rather than failing at once."""
    path = tmp_path / "s.db"
    database = open_database(path)
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    import threading
    import time

    release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    release.start()
    start = time.monotonic()
    with database.session(write=True) as session:
        from srs.settings import set_setting

        set_setting(session, "rollover_hour", 5)
        session.commit()
    waited = time.monotonic() - start
    release.join()
    other.close()
    database.close()
    assert waited >= 0.4


def test_upgrade_from_schema_1_keeps_data(tmp_path: Path) -> None:
    """A version-1 database (before the story bank) is upgraded in place, its rows intact."""
    path = tmp_path / "old.db"
    _schema_1_database(path)
    database = open_database(path)
    with database.session() as session:
        from srs.settings import get_setting

        assert get_setting(session, "rollover_hour") == 5
    tables = set(inspect(database.engine).get_table_names())
    database.close()
    assert {"stories", "story_links"} <= tables
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_upgrade_to_schema_3_fills_intervals_and_unique_times(tmp_path: Path) -> None:
    """Schema 2 reviews get Anki revlog intervals, and colliding review times are moved apart."""
    from sqlalchemy import create_engine

    from srs.clock import Clock
    from srs.scheduler import anki_interval

    path = tmp_path / "v2.db"
    engine = create_engine(f"sqlite:///{path}")
    day = 86_400_000
    t0 = 1_790_000_000_000
    with engine.begin() as conn:
        for step in dbmod.MIGRATIONS[:2]:
            step(conn)
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql("PRAGMA user_version = 2")
        conn.exec_driver_sql("""INSERT INTO settings VALUES ('timezone', '"Europe/Berlin"')""")
        # card 1: learning step of 10 minutes, then a 3-day review; card 2 collides with card 1's first answer
        for rid, card, at, state, due in [
            (1, 1, t0, 1, t0 + 600_000),
            (2, 1, t0 + 600_000, 2, t0 + 3 * day),
            (3, 2, t0, 2, t0 + 8 * day),
        ]:
            conn.exec_driver_sql(
                "INSERT INTO reviews (id, card_id, reviewed_at, rating, duration_ms, prev_state, state, step, stability, difficulty, due) "
                f"VALUES ({rid}, {card}, {at}, 3, 1000, 0, {state}, NULL, 2.3, 5.0, {due})"
            )
    engine.dispose()
    open_database(path).close()
    rows = sqlite3.connect(path).execute("SELECT id, reviewed_at, interval, last_interval FROM reviews ORDER BY id").fetchall()
    clock = Clock(ZoneInfo("Europe/Berlin"), 4)
    assert rows[0] == (1, t0, anki_interval(clock, 1, t0 + 600_000, t0), 0)
    assert rows[0][2] == -600  # 14:53 Berlin: a ten-minute step within the day
    assert rows[1] == (2, t0 + 600_000, anki_interval(clock, 2, t0 + 3 * day, t0 + 600_000), rows[0][2])
    assert rows[2][1] == t0 + 1  # moved on by a millisecond
    assert rows[2][2] == anki_interval(clock, 2, t0 + 8 * day, t0 + 1)


def test_upgrade_to_schema_4_keeps_notes(tmp_path: Path) -> None:
    """Schema 3 notes are kept; the columns for foreign Anki note types start empty."""
    from sqlalchemy import create_engine

    path = tmp_path / "v3.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for step in dbmod.MIGRATIONS[:3]:
            step(conn)
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql("PRAGMA user_version = 3")
        conn.exec_driver_sql(
            "INSERT INTO notes (id, guid, kind, fields, tags, source, source_key, orphaned, created, modified) "
            """VALUES (7, 'g', 'anki', '{"Front 0": "q"}', '[]', 'anki', NULL, 0, 1, 1)"""
        )
    engine.dispose()
    open_database(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, kind, fields, anki_notetype_id, anki_fields FROM notes").fetchall() == [
        (7, "anki", '{"Front 0": "q"}', None, None)
    ]
    assert conn.execute("SELECT count(*) FROM anki_notetypes").fetchone()[0] == 0
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_upgrade_to_schema_5_keeps_cards_and_reviews(tmp_path: Path) -> None:
    """Schema 4 cards and reviews are kept; kept Anki schedules and revlog fields start empty, nothing is buried."""
    from sqlalchemy import create_engine

    path = tmp_path / "v4.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for step in dbmod.MIGRATIONS[:4]:
            step(conn)
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql("PRAGMA user_version = 4")
        conn.exec_driver_sql(
            "INSERT INTO presets VALUES (1, 'Default', 0.9, '[]', '[60]', '[600]', 36500)"
        )
        conn.exec_driver_sql("INSERT INTO decks VALUES (1, 'D', 1, NULL, '', 5, 1)")
        conn.exec_driver_sql(
            "INSERT INTO notes (id, guid, kind, fields, tags, source, source_key, orphaned, created, modified) "
            """VALUES (7, 'g', 'question', '{"Question": "q?"}', '[]', NULL, NULL, 0, 1, 1)"""
        )
        conn.exec_driver_sql(
            "INSERT INTO cards VALUES (3, 7, 0, 1, 2, NULL, 4.5, 5.0, 900000000, 800000000, 1, 0, 0, 1, 1, 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO reviews VALUES (1, 3, 800000000, 3, 9000, 0, 2, NULL, 4.5, 5.0, 900000000, 4, 0)"
        )
    engine.dispose()
    open_database(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, state, due, anki_schedule, buried_until FROM cards").fetchall() == [(3, 2, 900000000, None, None)]
    assert conn.execute(
        "SELECT id, interval, anki_ivl, anki_last_ivl, anki_factor, anki_type FROM reviews"
    ).fetchall() == [(1, 4, None, None, None, None)]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # schema 6: nothing reset, edited or removed yet, no deck knows its guide
    assert conn.execute("SELECT reset_at FROM cards").fetchall() == [(None,)]
    assert conn.execute("SELECT edited FROM notes").fetchall() == [(None,)]
    assert conn.execute("SELECT guide FROM decks").fetchall() == [(None,)]
    assert conn.execute("SELECT count(*) FROM removed_reviews").fetchone()[0] == 0


def _schema_1_database(path: Path) -> None:
    """A database as the first srs left it, with one setting (rollover hour 5)."""
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        dbmod.MIGRATIONS[0](conn)
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql("PRAGMA user_version = 1")
        conn.exec_driver_sql("INSERT INTO settings VALUES ('rollover_hour', '5')")
    engine.dispose()


def test_an_upgrade_keeps_a_copy_of_the_old_database(tmp_path: Path) -> None:
    """Before migrating, the old file is copied whole beside it; later opens neither copy nor touch it again."""
    from click.testing import CliRunner

    from srs.cli import cli

    path = tmp_path / "old.db"
    _schema_1_database(path)
    result = CliRunner().invoke(cli, ["--db", str(path), "--now", "2026-11-25T08:00:00", "status"])
    assert result.exit_code == 0, result.output
    copy = dbmod.backup_path(path, 1)
    assert f"a copy from before the upgrade is at {copy}" in result.stderr
    old = sqlite3.connect(copy)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old.execute("SELECT value FROM settings WHERE key = 'rollover_hour'").fetchone()[0] == 5
    assert old.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    old.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    stamp = copy.stat().st_mtime_ns
    again = CliRunner().invoke(cli, ["--db", str(path), "--now", "2026-11-25T08:00:00", "status"])
    assert again.exit_code == 0 and "upgrade" not in again.stderr
    assert copy.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir() if ".bak" in p.name) == [copy.name]


def test_no_copy_no_upgrade(tmp_path: Path) -> None:
    """When the copy cannot be written, the database is refused with one line and left at its old schema."""
    path = tmp_path / "old.db"
    _schema_1_database(path)
    blocker = dbmod.backup_path(path, 1)
    (blocker / "something").mkdir(parents=True)  # a folder where the copy should go
    with pytest.raises(DatabaseError, match="cannot back up .* before upgrading it"):
        open_database(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.db", blocker.name]  # no partial copy left


@pytest.mark.parametrize("name", ["foreign.sqlite?timeout=5", "pct%41.db", "a#b.db", "with space.db", "q?mode=ro.db"])
def test_the_file_checked_is_the_file_opened(tmp_path: Path, name: str) -> None:
    """A database name with URI characters names exactly that file: no other file is read or written."""
    from click.testing import CliRunner

    from srs.cli import cli

    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE other_program (x)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / name), "--now", "2026-11-25T08:00:00", "status", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / name).is_file()
    assert sqlite3.connect(tmp_path / name).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == sorted({name, "foreign.sqlite"})


def test_a_database_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    """A FIFO or a device as --db is a one-line error at once (no hang, no journal beside it)."""
    import os

    from click.testing import CliRunner

    from srs.cli import cli

    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/null")):
        result = CliRunner().invoke(cli, ["--db", str(target), "status"])
        assert (result.exit_code, result.output) == (1, f"Error: {target} is not a regular file (give a database file)\n")
    assert not Path("/dev/null-journal").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.db"]


SCHEMA_SNAPSHOT = Path(__file__).resolve().parent / "schema.sql"


def _built_schema(path: Path) -> str:
    """The schema the migrations build: tables, columns, types and indexes, as SQLite states them, in a stable order."""
    open_database(path).close()
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name"
        ).fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    lines = [f"-- schema version {version}, built by srs/db.py MIGRATIONS (regenerate: SRS_WRITE_SCHEMA=1 pytest tests/test_db.py)"]
    for _, _, sql in rows:
        lines.append(" ".join(sql.split()) + ";")
    return "\n".join(lines) + "\n"


def test_migrations_build_the_checked_in_schema(tmp_path: Path) -> None:
    """The schema the migrations build equals tests/schema.sql: a changed shipped step or a forgotten new one shows here."""
    import os

    built = _built_schema(tmp_path / "s.db")
    if os.environ.get("SRS_WRITE_SCHEMA"):
        SCHEMA_SNAPSHOT.write_text(built)
    assert built == SCHEMA_SNAPSHOT.read_text()


def test_migrations_import_no_live_srs_code() -> None:
    """A shipped migration step imports only the standard library (and tzlocal for the machine's zone), never srs itself."""
    import ast
    import inspect

    for step in dbmod.MIGRATIONS:
        tree = ast.parse(inspect.getsource(step))
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        ]
        assert not [name for name in imported if name and name.split(".")[0] == "srs"], (step.__name__, imported)
