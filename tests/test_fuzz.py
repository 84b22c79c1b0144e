"""Mutated packages and guides: success or the project's own error, never a traceback or a half-written database."""

from __future__ import annotations

import os
import sqlite3
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srs.errors import SrsError

from .anki_helpers import export_apkg

EXAMPLES = int(os.environ.get("SRS_FUZZ_EXAMPLES", "25"))  # raise for a longer run
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def package_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from srs.anki.export import export_package
    from srs.db import open_database
    from srs.decks import ensure_builtin_decks

    folder = tmp_path_factory.mktemp("fuzz")
    db = open_database(folder / "v.db")
    with db.session(write=True) as session:
        ensure_builtin_decks(session, NOW)
        session.commit()
        export_package(session, folder / "v.apkg", NOW, ["Interview::STAR and CARL"])
    db.close()
    return (folder / "v.apkg").read_bytes()


def _snapshot(path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(path)
    try:
        return tuple(conn.execute(f"select count(*) from {t}").fetchone()[0] for t in ("notes", "cards", "reviews"))  # type: ignore[return-value]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def anki_packages(package_bytes: bytes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The same content written by the anki library, current and legacy layout, with two media files."""
    from anki.collection import (
        Collection,
        ImportAnkiPackageOptions,
        ImportAnkiPackageRequest,
    )

    folder = tmp_path_factory.mktemp("modern")
    (folder / "v.apkg").write_bytes(package_bytes)
    col = Collection(str(folder / "collection.anki2"))
    col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(folder / "v.apkg"), options=ImportAnkiPackageOptions(with_scheduling=True))
    )
    picture = col.media.write_data("diagram.png", b"\x89PNG a picture that differs from the one already held")
    sound = col.media.write_data("answer.mp3", b"ID3 a recorded answer" * 50)
    note = col.new_note(col.models.by_name("Basic"))
    note["Front"], note["Back"] = f'<img src="{picture}">', f"[sound:{sound}]"
    col.add_note(note, col.decks.id("Media"))
    out = {}
    for layout, legacy in (("modern", False), ("legacy", True)):
        export_apkg(col, folder / f"{layout}.apkg", legacy=legacy, media=True)
        out[layout] = (folder / f"{layout}.apkg").read_bytes()
    col.close()
    return out


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    # a member's declared size, in its local header and the central directory
    st.tuples(
        st.sampled_from(["size", "compressed size"]),
        st.integers(0, 20),
        st.one_of(st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1]), st.integers(0, 2**32 - 1)),
    ),
)


def _declare_size(data: bytearray, member: int, value: int, compressed: bool) -> None:
    """Overwrite a zip member's declared size (ZIP APPNOTE 4.3.7 and 4.3.12)."""
    import struct

    entries = []
    at = data.find(b"PK\x01\x02")
    while at != -1 and at + 46 <= len(data):
        entries.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    if not entries:
        return
    entry = entries[member % len(entries)]
    struct.pack_into("<I", data, entry + (20 if compressed else 24), value)
    local = struct.unpack_from("<I", data, entry + 42)[0]
    if data[local : local + 4] == b"PK\x03\x04" and local + 30 <= len(data):
        struct.pack_into("<I", data, local + (18 if compressed else 22), value)


HELD = b"\x89PNG the user's own picture, already in media/"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@given(st.lists(mutation, min_size=1, max_size=4), st.sampled_from(["srs", "modern", "legacy"]))
@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_mutated_package(package_bytes: bytes, anki_packages: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory, mutations, source) -> None:  # type: ignore[no-untyped-def]
    """Flipped bytes, truncations and lying member sizes in a package (srs's, or Anki's in either layout, with media).

    The only outcomes: imported, or refused with our one-line error and the
    database and the media folder as they were. Either way a file already in
    the media folder is never changed.
    """
    from srs.anki.import_ import import_package
    from srs.db import open_database

    folder = tmp_path_factory.mktemp("m")
    data = bytearray(package_bytes if source == "srs" else anki_packages[source])
    for kind, position, value in mutations:
        if kind in ("size", "compressed size"):
            _declare_size(data, position, value, kind == "compressed size")
            continue
        position %= max(1, len(data))
        if kind == "flip" and data:
            data[position] ^= value
        else:
            del data[position:]
    path = folder / "m.apkg"
    path.write_bytes(bytes(data))
    media = folder / "media"
    media.mkdir()
    (media / "diagram.png").write_bytes(HELD)
    held = _files(media)
    db = open_database(folder / "t.db")
    before = _snapshot(db.path)
    try:
        with db.session(write=True) as session:
            import_package(session, path, NOW, media)
            session.commit()
    except SrsError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert _snapshot(db.path) == before
        assert _files(media) == held
    finally:
        db.close()
    assert (media / "diagram.png").read_bytes() == HELD
    assert not [p for p in media.iterdir() if p.name.startswith(".incoming-")]


def _rewrite_collection(package_bytes: bytes, folder: Path, statements, table: str) -> Path:  # type: ignore[no-untyped-def]
    """``folder/q.apkg``: the package with *statements(columns of table)* run on its collection."""
    (folder / "p.apkg").write_bytes(package_bytes)
    with zipfile.ZipFile(folder / "p.apkg") as archive:
        archive.extract("collection.anki2", folder)
    conn = sqlite3.connect(folder / "collection.anki2")
    for statement in statements([row[1] for row in conn.execute(f"pragma table_info({table})")]):
        conn.execute(statement)
    conn.commit()
    conn.close()
    with zipfile.ZipFile(folder / "q.apkg", "w") as archive:
        archive.write(folder / "collection.anki2", "collection.anki2")
        archive.writestr("media", "{}")
    return folder / "q.apkg"


@given(st.sampled_from(["notes", "cards", "revlog", "col"]), st.sampled_from(["flds", "nid", "did", "ivl", "mid", "guid", "decks", "models"]))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_altered_rows(package_bytes: bytes, tmp_path_factory: pytest.TempPathFactory, table: str, column: str) -> None:
    """Rows altered inside the package's collection (wrong types, missing values): our error or success."""
    from srs.anki.import_ import import_package
    from srs.db import open_database

    folder = tmp_path_factory.mktemp("r")
    _rewrite_collection(
        package_bytes, folder,
        lambda columns: [f"update {table} set {column} = 'garbage'"] if column in columns else [], table,
    )
    db = open_database(folder / "t.db")
    before = _snapshot(db.path)
    try:
        with db.session(write=True) as session:
            import_package(session, folder / "q.apkg", NOW)
            session.commit()
    except SrsError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert _snapshot(db.path) == before
    finally:
        db.close()


# Collections built to run, not to be read: each must be refused with one line, quickly.
ENDLESS = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"
TRAPS = {
    "endless view": lambda table, columns: [
        f'DROP TABLE "{table}"',
        f'CREATE VIEW "{table}" AS {ENDLESS} SELECT ' + ", ".join(f"x AS {c}" for c in columns) + " FROM r",
    ],
    "generated column": lambda table, columns: [
        f"ALTER TABLE \"{table}\" ADD COLUMN trap TEXT GENERATED ALWAYS AS (printf('%.*c', 400000000, 'x')) VIRTUAL"
    ],
    "virtual table": lambda table, columns: [
        f'DROP TABLE "{table}"', f'CREATE VIRTUAL TABLE "{table}" USING fts5(' + ", ".join(columns) + ")",
    ],
}


@given(st.sampled_from(["notes", "cards", "revlog", "col"]), st.sampled_from(sorted(TRAPS)))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_collection_traps(package_bytes: bytes, tmp_path_factory: pytest.TempPathFactory, table: str, trap: str) -> None:
    """A table srs reads replaced by an endless view, a virtual table or a generated column: one line, in seconds."""
    import time

    from srs.anki.import_ import import_package
    from srs.db import open_database

    folder = tmp_path_factory.mktemp("t")
    _rewrite_collection(package_bytes, folder, lambda columns: TRAPS[trap](table, columns), table)
    db = open_database(folder / "t.db")
    before = _snapshot(db.path)
    started = time.monotonic()
    try:
        with db.session(write=True) as session, pytest.raises(SrsError) as caught:
            import_package(session, folder / "q.apkg", NOW)
        assert str(caught.value) and "\n" not in str(caught.value)
        assert time.monotonic() - started < 20
        assert _snapshot(db.path) == before
    finally:
        db.close()


@given(st.text(max_size=600))
@settings(max_examples=EXAMPLES * 4, deadline=None)
def test_any_story_text_parses_or_fails_cleanly(text: str) -> None:
    """Any text given as a story is a story or a one-line StoryError."""
    from srs.errors import StoryError
    from srs.story_format import parse_story

    try:
        parse_story("---\ntitle: t\n---\n" + text)
        parse_story(text)
    except StoryError as exc:
        assert str(exc) and "\n" not in str(exc)


GUIDE = (Path(__file__).resolve().parent.parent / "decks" / "behavioral-questions.md").read_bytes()

line_edit = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10**4), st.just(b"")),
    st.tuples(st.just("duplicate"), st.integers(0, 10**4), st.just(b"")),
    st.tuples(st.just("insert"), st.integers(0, 10**4), st.binary(max_size=40)),
    st.tuples(st.just("insert"), st.integers(0, 10**4), st.text(max_size=40).map(lambda s: s.encode())),
    st.tuples(st.just("insert"), st.integers(0, 10**4), st.sampled_from([b"# ", b"## ", b"- ", b"1. ", b"**", b"> ", b"```", b"|---|", b"<div>", b"\x00", b"\xff\xfe"])),
    # hostile shapes: YAML anchors, aliases and nesting, padded headings, unclosed comments, terminal escapes
    st.tuples(st.just("insert"), st.integers(0, 10**4), st.sampled_from([
        b"a: &a [x, x, x]", b"b: [*a, *a, *a]", b"title: " + b"[" * 500, b"## Situation" + b" " * 5000 + b"x",
        b"<!--" * 500, b"\x1b]0;pwned\x07", b"\xc2\x9b31m", b"\xe2\x80\xae", b"(" * 2000, b"{{c1::" * 500,
    ])),
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255).map(lambda v: bytes([v]))),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(b"")),
)


def _mutate(edits: list[tuple[str, int, bytes]], text: bytes = GUIDE) -> bytes:
    """*text* with line edits, byte flips and truncations applied in turn."""
    lines = text.split(b"\n")
    for kind, position, value in edits:
        if kind in ("flip", "truncate"):
            data = bytearray(b"\n".join(lines))
            position %= max(1, len(data))
            if kind == "flip" and data:
                data[position] ^= value[0]
            else:
                del data[position:]
            lines = bytes(data).split(b"\n")
            continue
        index = position % max(1, len(lines))
        if kind == "delete" and lines:
            del lines[index]
        elif kind == "duplicate" and lines:
            lines.insert(index, lines[index])
        else:
            lines.insert(index, value)
    return b"\n".join(lines)


@given(st.lists(line_edit, min_size=1, max_size=6))
@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_mutated_guide(tmp_path_factory: pytest.TempPathFactory, edits) -> None:  # type: ignore[no-untyped-def]
    """A damaged guide, rebuilt over a deck built from the good one: synced, or our error with nothing changed.

    On success, no note is deleted (removed items are suspended), a second
    build of the same text changes nothing, and building the good guide again
    brings every original item back.
    """
    from srs.db import open_database
    from srs.decks import build_from_file

    folder = tmp_path_factory.mktemp("g")
    good, bad = folder / "good.md", folder / "bad.md"
    good.write_bytes(GUIDE)
    bad.write_bytes(_mutate(edits))
    db = open_database(folder / "t.db")
    try:
        with db.session(write=True) as session:
            original = build_from_file(session, good, "Fuzz", NOW)
            session.commit()
        before = _snapshot(db.path)
        try:
            with db.session(write=True) as session:
                build_from_file(session, bad, "Fuzz", NOW)
                session.commit()
        except SrsError as exc:
            assert str(exc) and "\n" not in str(exc)
            assert _snapshot(db.path) == before
            return
        assert _snapshot(db.path)[0] >= before[0]  # notes are never deleted
        with db.session(write=True) as session:
            again = build_from_file(session, bad, "Fuzz", NOW)
            session.commit()
        assert (again.added, again.updated, again.restored) == (0, 0, 0)
        with db.session(write=True) as session:
            back = build_from_file(session, good, "Fuzz", NOW)
            session.commit()
            from sqlalchemy import select

            from srs.models import Note

            live = {n.source_key for n in session.scalars(select(Note).where(Note.source == "guide:Fuzz", Note.orphaned.is_(False)))}
        assert back.added + back.updated + back.unchanged == original.added  # restored ones are among these
        assert len(live) == original.added
    finally:
        db.close()


@given(st.lists(line_edit, min_size=1, max_size=5))
@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_mutated_story_file(tmp_path_factory: pytest.TempPathFactory, edits) -> None:  # type: ignore[no-untyped-def]
    """`srs story edit ID --file` with a damaged story: saved (and shown back the same), or one error line, nothing changed."""
    from click.testing import CliRunner

    from srs.cli import cli
    from srs.story_format import parse_story

    from .test_stories import STORY

    folder = tmp_path_factory.mktemp("s")
    db = folder / "t.db"
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--db", str(db), "--now", "2026-11-25T08:00:00", *args], env={"COLUMNS": "200"})

    (folder / "good.md").write_text(STORY)
    assert run("story", "add", "--file", str(folder / "good.md")).exit_code == 0
    story_id = sqlite3.connect(db).execute("select note_id from stories").fetchone()[0]
    (folder / "bad.md").write_bytes(_mutate(edits, STORY.encode()))
    before = _snapshot(db)
    shown_before = run("story", "show", str(story_id)).output
    result = run("story", "edit", str(story_id), "--file", str(folder / "bad.md"))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code:
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
        assert _snapshot(db) == before
        assert run("story", "show", str(story_id)).output == shown_before
    else:
        shown = run("story", "show", str(story_id)).output
        assert parse_story(shown) == parse_story((folder / "bad.md").read_text(encoding="utf-8"))
