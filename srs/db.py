"""Where the collection lives, how it is opened, and how its schema evolves.

The database is one SQLite file in WAL mode with a busy timeout, so a second
``srs`` process waits instead of failing. Its schema version is SQLite's
``user_version``; ``MIGRATIONS`` is an ordered list of small steps, each run in
its own transaction and recorded by bumping the version. A file from a newer
srs, or one that is not an srs database at all, is refused before anything is
written to it.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from srs.errors import DatabaseError

# SQLAlchemy's pool logs what goes wrong while it closes or resets a connection (a Ctrl-C landing there, say) with
# a traceback, through Python's last-resort handler when nobody configured logging. What matters reaches srs as an
# exception and becomes its one-line error; the log itself stays quiet unless an application configures logging.
logging.getLogger("sqlalchemy.pool").addHandler(logging.NullHandler())

# PRAGMA application_id marks the file as ours ("SRS1").
APPLICATION_ID = 0x53525331
BUSY_TIMEOUT_MS = 30_000  # one wait of SQLite's busy handler for the write lock
MAX_WAIT_SECONDS = 15 * 60  # in all, a writer waits this long for another srs process
_SQLITE_HEADER = b"SQLite format 3\x00"


def default_db_path() -> Path:
    """``$SRS_DB`` if set, else ``srs.db`` in the user's data folder."""
    env = os.environ.get("SRS_DB")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_data_path("srs", appauthor=False) / "srs.db"


def _m001_initial(conn: Connection) -> None:
    statements = [
        "CREATE TABLE settings (key VARCHAR PRIMARY KEY, value JSON NOT NULL)",
        """CREATE TABLE presets (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            desired_retention FLOAT NOT NULL,
            parameters JSON NOT NULL,
            learning_steps JSON NOT NULL,
            relearning_steps JSON NOT NULL,
            maximum_interval INTEGER NOT NULL)""",
        """CREATE TABLE decks (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            preset_id INTEGER NOT NULL REFERENCES presets(id),
            source VARCHAR,
            description TEXT NOT NULL,
            anki_id BIGINT NOT NULL UNIQUE,
            created BIGINT NOT NULL)""",
        """CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            guid VARCHAR NOT NULL UNIQUE,
            kind VARCHAR NOT NULL,
            fields JSON NOT NULL,
            tags JSON NOT NULL,
            source VARCHAR,
            source_key VARCHAR,
            orphaned BOOLEAN NOT NULL,
            created BIGINT NOT NULL,
            modified BIGINT NOT NULL)""",
        "CREATE INDEX ix_notes_source ON notes (source)",
        """CREATE TABLE cards (
            id INTEGER PRIMARY KEY,
            note_id INTEGER NOT NULL REFERENCES notes(id),
            ord INTEGER NOT NULL,
            deck_id INTEGER NOT NULL REFERENCES decks(id),
            state INTEGER NOT NULL,
            step INTEGER,
            stability FLOAT,
            difficulty FLOAT,
            due BIGINT,
            last_review BIGINT,
            reps INTEGER NOT NULL,
            lapses INTEGER NOT NULL,
            suspended BOOLEAN NOT NULL,
            position INTEGER NOT NULL,
            created BIGINT NOT NULL,
            modified BIGINT NOT NULL,
            UNIQUE (note_id, ord))""",
        "CREATE INDEX ix_cards_queue ON cards (suspended, state, due)",
        "CREATE INDEX ix_cards_deck ON cards (deck_id)",
        """CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            card_id INTEGER NOT NULL REFERENCES cards(id),
            reviewed_at BIGINT NOT NULL,
            rating INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            prev_state INTEGER NOT NULL,
            state INTEGER NOT NULL,
            step INTEGER,
            stability FLOAT NOT NULL,
            difficulty FLOAT NOT NULL,
            due BIGINT NOT NULL)""",
        "CREATE INDEX ix_reviews_card ON reviews (card_id, reviewed_at)",
        "CREATE INDEX ix_reviews_time ON reviews (reviewed_at)",
    ]
    for statement in statements:
        conn.exec_driver_sql(statement)


def _m002_stories(conn: Connection) -> None:
    conn.exec_driver_sql(
        """CREATE TABLE stories (
            note_id INTEGER PRIMARY KEY REFERENCES notes(id),
            competencies JSON NOT NULL,
            impact INTEGER,
            scope INTEGER,
            involvement INTEGER,
            favorite BOOLEAN NOT NULL)"""
    )
    conn.exec_driver_sql(
        """CREATE TABLE story_links (
            story_id INTEGER NOT NULL REFERENCES notes(id),
            question_id INTEGER NOT NULL REFERENCES notes(id),
            created BIGINT NOT NULL,
            PRIMARY KEY (story_id, question_id))"""
    )
    conn.exec_driver_sql("CREATE INDEX ix_story_links_question ON story_links (question_id)")


def _m003_review_intervals(conn: Connection) -> None:
    """Reviews keep Anki's revlog intervals, and review times become unique.

    ``interval`` is what the answer scheduled, in Anki's revlog units (days
    if positive, seconds if negative); ``last_interval`` is the card's
    previous one. Stored at answer time, as Anki's revlog does, so an export
    copies them instead of recomputing days for every review ever given.
    Review times are made unique (like revlog ids) by moving collisions on by
    a millisecond.
    """
    # Frozen: the day rules and the interval as srs defined them when this
    # step shipped, written out here so that later changes to the live code
    # never change what an old database is upgraded to.
    import json
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    def decoded(value: Any) -> Any:
        try:
            return json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return value

    conn.exec_driver_sql("ALTER TABLE reviews ADD COLUMN interval INTEGER NOT NULL DEFAULT 0")
    conn.exec_driver_sql("ALTER TABLE reviews ADD COLUMN last_interval INTEGER NOT NULL DEFAULT 0")
    settings: dict[str, Any] = {key: value for key, value in conn.exec_driver_sql("SELECT key, value FROM settings")}
    zone_name = decoded(settings.get("timezone")) or ""
    hour = decoded(settings.get("rollover_hour"))
    rollover = int(hour) if hour is not None else 4
    try:
        if zone_name:
            zone = ZoneInfo(zone_name)
        else:
            import tzlocal

            zone = tzlocal.get_localzone()
    except Exception:  # an unknown or unreadable zone: UTC, as the live code then fell back
        zone = ZoneInfo("UTC")

    def day(ms: int) -> int:  # the calendar day of an instant, after the rollover hour
        return (datetime.fromtimestamp(ms / 1000, zone) - timedelta(hours=rollover)).date().toordinal()

    def revlog_interval(state: int, due_ms: int, at_ms: int) -> int:  # rslib revlog/mod.rs units
        days = day(due_ms) - day(at_ms)
        if state == 2 or days > 0:
            return max(1, days)
        return -max(1, (due_ms - at_ms + 500) // 1000)

    rows = conn.exec_driver_sql(
        "SELECT id, card_id, reviewed_at, state, due FROM reviews ORDER BY reviewed_at, id"
    ).all()
    last: dict[int, int] = {}
    previous_time = None
    updates = []
    for review_id, card_id, at, state, due in rows:
        if previous_time is not None and at <= previous_time:
            at = previous_time + 1
        previous_time = at
        interval = revlog_interval(state, due, at)
        updates.append((at, interval, last.get(card_id, 0), review_id))
        last[card_id] = interval
    conn.exec_driver_sql("DROP INDEX ix_reviews_time")
    conn.exec_driver_sql(
        "UPDATE reviews SET reviewed_at = ?, interval = ?, last_interval = ? WHERE id = ?", updates
    ) if updates else None
    conn.exec_driver_sql("CREATE UNIQUE INDEX ix_reviews_time ON reviews (reviewed_at)")


def _m004_anki_notetypes(conn: Connection) -> None:
    """Notes imported from foreign Anki note types keep what it takes to export them again.

    ``anki_notetypes`` holds those note types as Anki defines them (fields,
    card templates, CSS); an imported note keeps its note type's id and its
    raw field HTML beside the text srs shows.
    """
    conn.exec_driver_sql(
        """CREATE TABLE anki_notetypes (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL,
            cloze BOOLEAN NOT NULL,
            fields JSON NOT NULL,
            templates JSON NOT NULL,
            css TEXT NOT NULL
        )"""
    )
    conn.exec_driver_sql("ALTER TABLE notes ADD COLUMN anki_notetype_id INTEGER REFERENCES anki_notetypes(id)")
    conn.exec_driver_sql("ALTER TABLE notes ADD COLUMN anki_fields JSON")


def _m005_kept_schedules(conn: Connection) -> None:
    """Cards keep the schedule Anki gave them, reviews the revlog row Anki wrote, and cards can be buried.

    ``cards.anki_schedule`` holds an imported card's scheduling as Anki had it
    (type, queue, due, ivl, factor, left; JSON) until srs schedules the card;
    ``cards.buried_until`` is the day a buried card comes back. Reviews
    imported from Anki keep their revlog row's ivl, lastIvl, factor and type,
    so an export writes them back unchanged (NULL for answers given in srs).
    """
    conn.exec_driver_sql("ALTER TABLE cards ADD COLUMN anki_schedule JSON")
    conn.exec_driver_sql("ALTER TABLE cards ADD COLUMN buried_until INTEGER")
    for column in ("anki_ivl", "anki_last_ivl", "anki_factor", "anki_type"):
        conn.exec_driver_sql(f"ALTER TABLE reviews ADD COLUMN {column} INTEGER")


def _m006_fixing_mistakes(conn: Connection) -> None:
    """What finding and fixing cards needs: resets, user edits, a deck's guide, and the history of removed cards.

    ``cards.reset_at`` (Unix ms) is when the user made a card new again
    (``srs card forget``): its memory is replayed from the answers after it
    only. ``notes.edited`` is when the user last edited a note's text by hand
    (a guide rebuild keeps that text). ``decks.guide`` is the file a deck is
    built from. ``removed_reviews`` keeps the answers of removed cards by
    their note's guid and card ord, so the same card coming back (a rebuild,
    an import) comes back with its progress.
    """
    conn.exec_driver_sql("ALTER TABLE cards ADD COLUMN reset_at BIGINT")
    conn.exec_driver_sql("ALTER TABLE notes ADD COLUMN edited BIGINT")
    conn.exec_driver_sql("ALTER TABLE decks ADD COLUMN guide VARCHAR")
    conn.exec_driver_sql(
        "CREATE TABLE removed_reviews ( id INTEGER PRIMARY KEY, guid VARCHAR NOT NULL, ord INTEGER NOT NULL, "
        "removed_at BIGINT NOT NULL, reviewed_at BIGINT NOT NULL, rating INTEGER NOT NULL, duration_ms INTEGER NOT NULL, "
        "anki_ivl INTEGER, anki_last_ivl INTEGER, anki_factor INTEGER, anki_type INTEGER)"
    )
    conn.exec_driver_sql("CREATE INDEX ix_removed_reviews_card ON removed_reviews (guid, ord)")


# The migrations, in order; position + 1 is the schema version a step leads
# to. NEVER EDIT A STEP THAT HAS SHIPPED: databases in the field were upgraded
# by it as it was. Append a new step instead. A step imports no live srs code
# (it may change), only the standard library and SQL; tests/schema.sql holds
# the schema the steps build, and a test compares the two.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _m001_initial, _m002_stories, _m003_review_intervals, _m004_anki_notetypes, _m005_kept_schedules,
    _m006_fixing_mistakes,
]
SCHEMA_VERSION = len(MIGRATIONS)


def sqlite_uri(path: Path, read_only: bool = False, immutable: bool = False) -> str:
    """A ``file:`` URI naming exactly *path*: every character that means something in a URI is quoted.

    A path pasted into a URL would let ``?``, ``#`` or ``%`` in a file name
    change which file is opened (``foreign.db?timeout=5`` opens ``foreign.db``).
    """
    uri = path.resolve().as_uri()  # percent-encodes ?, #, % and spaces
    options = [name for name, on in (("mode=ro", read_only), ("immutable=1", immutable)) if on]
    return uri + ("?" + "&".join(options) if options else "")


def _connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection; a WAL database on a read-only medium is opened as immutable."""
    try:
        conn = sqlite3.connect(sqlite_uri(path, read_only=True), uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        if _writable(path):
            raise
        # WAL needs its -shm file; where it cannot be created, read the file as it is
        conn = sqlite3.connect(sqlite_uri(path, read_only=True, immutable=True), uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn


def _writable(path: Path) -> bool:
    """Whether srs may write *path*: the file and its folder (journal, WAL) both writable."""
    folder = path.parent if str(path.parent) else Path(".")
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)


def _inspect_existing(path: Path) -> int:
    """Check an existing file is an srs database we can open; return its version.

    Uses the plain sqlite3 module read-only so a foreign file is never touched.
    """
    if not path.is_file():
        raise DatabaseError(f"{path} is not a regular file (give a database file)")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"cannot read database {path}: {exc.strerror}") from None
    if header == b"":
        return 0  # an empty file: treat as a new database
    if header != _SQLITE_HEADER:
        raise DatabaseError(f"{path} is not an srs database (not an SQLite file)")
    try:
        conn = _connect_ro(path)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path} is not a readable SQLite database: {exc}") from None
    if app_id != APPLICATION_ID:
        if app_id == 0 and tables == 0 and version == 0:
            return 0  # a blank SQLite file
        raise DatabaseError(f"{path} is not an srs database")
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{path} was written by a newer srs (schema {version}, this srs knows up to "
            f"{SCHEMA_VERSION}); upgrade srs to open it"
        )
    return int(version)


class Database:
    """An open collection: the engine and the way to get sessions on it."""

    def __init__(self, path: Path, engine: Engine, read_only: bool = False) -> None:
        self.path = path
        self.engine = engine
        self.read_only = read_only  # a file srs may not write: reading commands work, writing ones stop
        self.backup: Path | None = None  # the copy made before this open upgraded the schema
        # Called once when a writer has waited a whole busy timeout for another
        # process (a long import, say) and goes on waiting; the CLI says so.
        self.on_wait: Callable[[], None] | None = None

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """One unit of work: a writing session commits when its block ends cleanly and rolls back on an exception.

        A writing session takes SQLite's write lock at BEGIN (BEGIN
        IMMEDIATE), so the busy timeout queues two writers instead of failing
        one with "database is locked". An interactive loop may commit inside
        the block (each answer is durable on its own); a reading session
        never writes and ends with a rollback.
        """
        if write and self.read_only:
            raise DatabaseError(f"{self.path} is read-only: this command changes the collection, so nothing was done")
        bind = self.engine.execution_options(srs_write=True, srs_on_wait=self.on_wait) if write else self.engine
        with Session(bind, expire_on_commit=False) as session:
            try:
                yield session
                if write:
                    session.commit()
            except BaseException as exc:
                session.rollback()
                interrupt = _interrupt_behind(exc)
                if interrupt is not None:
                    raise interrupt from None
                raise

    def close(self) -> None:
        self.engine.dispose()


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C an SQLAlchemy error stands in for, if any.

    A Ctrl-C that lands while SQLAlchemy closes a flush's inner transaction
    comes out of the flush as "This transaction is closed" (its clean-up then
    finds the transaction closed, and its error replaces the interrupt): the
    user pressed Ctrl-C, and that is what the commands must see.
    """
    seen: BaseException | None = exc
    while isinstance(seen, SQLAlchemyError):
        seen = seen.__context__
    return seen if isinstance(seen, KeyboardInterrupt) and seen is not exc else None


def _configure(engine: Engine, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # implicit transactions skip DDL and cannot take the lock early).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if not options.get("srs_write", False):
            conn.exec_driver_sql("BEGIN")
            return
        _begin_immediate(conn, options.get("srs_on_wait"))


def _begin_immediate(conn: Connection, on_wait: Callable[[], None] | None) -> None:
    """Take the write lock, waiting up to MAX_WAIT_SECONDS for another writer.

    SQLite's busy handler waits BUSY_TIMEOUT_MS per attempt; a writer that
    still finds the lock taken (another process importing a large package)
    says so once through *on_wait* and tries again, rather than failing with
    "database is locked". Nothing has been read or written yet at this point,
    so trying again is safe.
    """
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    told = False
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            busy = "locked" in str(exc.orig) or "busy" in str(exc.orig)
            if not busy or time.monotonic() >= deadline:
                raise
            if on_wait is not None and not told:
                on_wait()
                told = True
            time.sleep(0.05)  # SQLite can answer "busy" at once, without its handler's wait


def open_database(path: Path | str | None = None, create_folders: bool | None = None) -> Database:
    """Open (creating if needed) and migrate the collection at *path*.

    The folders of the default path are created on first use; an explicit
    path must name a folder that exists (*create_folders* decides; by default,
    only when no path is given). A file srs may not write is opened
    read-only: reading works, writing raises DatabaseError.
    """
    if create_folders is None:
        create_folders = path is None
    path = Path(path) if path is not None else default_db_path()
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory, not a database file")
    exists = path.exists() or path.is_symlink()
    version = _inspect_existing(path) if exists else 0
    read_only = exists and not _writable(path)
    if not exists:
        if not path.parent.is_dir():
            if not create_folders:
                raise DatabaseError(f"cannot create database {path}: folder {path.parent} does not exist")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create database folder {path.parent}: {exc.strerror}") from None
        if not os.access(path.parent, os.W_OK):
            raise DatabaseError(f"cannot create database {path}: folder is not writable")
    elif version < SCHEMA_VERSION and read_only:
        raise DatabaseError(f"cannot upgrade database {path}: it is read-only (schema {version}, this srs needs {SCHEMA_VERSION})")

    backup = _backup_before_upgrade(path, version) if 0 < version < SCHEMA_VERSION else None
    if read_only:
        creator = functools.partial(_connect_ro, path)
    else:
        # the path itself, never pasted into a URL: the file checked is the file opened
        creator = functools.partial(sqlite3.connect, str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    # "sqlite://" with a creator: SQLAlchemy would pick its in-memory pool; a file wants a pool of connections
    engine = create_engine("sqlite://", creator=creator, poolclass=QueuePool)
    _configure(engine, read_only)
    try:
        with engine.connect() as conn:
            _migrate(conn.execution_options(srs_write=True), version)
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseError(f"cannot open database {path}: {exc.orig}") from None
    database = Database(path, engine, read_only)
    database.backup = backup
    return database


def database_file(session: Session) -> Path:
    """The file a session's connection has open (SQLite's own answer, not a URL)."""
    rows = session.connection().exec_driver_sql("PRAGMA database_list").all()
    return Path(next(file for _, name, file in rows if name == "main"))


def backup_path(path: Path, version: int) -> Path:
    """Where the copy of a schema-*version* database is kept before it is upgraded."""
    return path.with_name(f"{path.name}.schema{version}.bak")


def _backup_before_upgrade(path: Path, version: int) -> Path:
    """Copy the collection (SQLite's online backup: a consistent snapshot) before migrating it.

    A copy from an earlier attempt at the same upgrade is kept as it is: it
    is the older one. Without a copy, nothing is migrated.
    """
    import tempfile

    target = backup_path(path, version)
    if target.is_file():
        return target
    partial: Path | None = None
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=path.parent)
        os.close(handle)
        partial = Path(name)
        source = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise DatabaseError(f"cannot back up {path} before upgrading it: {exc}") from None
    return target


def _migrate(conn: Connection, version: int) -> None:
    for index in range(version, SCHEMA_VERSION):
        with conn.begin():
            # Re-read under the write lock: another process may have migrated.
            current = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
            if current > index:
                continue
            MIGRATIONS[index](conn)
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.exec_driver_sql(f"PRAGMA user_version = {index + 1}")
