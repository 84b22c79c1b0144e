"""Media files through import and export: never replaced, never lost, and named as Anki names them."""

from __future__ import annotations

import hashlib
import html
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from srs.anki.media import _hashed, media_refs, replace_media_refs, safe_name
from srs.cli import cli
from srs.db import open_database
from srs.errors import ImportError_
from srs.models import Note
from srs.templates import card_sides

from .anki_helpers import anki_collection, export_apkg, import_apkg
from .test_anki_import import import_fresh, make_zip, valid_package

NOW = ["--now", "2026-11-25T08:00:00"]
PICTURE_A = b"\x89PNG picture of the first pipeline"
PICTURE_B = b"\x89PNG picture of another pipeline, same file name"
_SRC = re.compile(r'src="([^"]+)"')


def picture_package(folder: Path, name: str, data: bytes, front: str, legacy: bool = False) -> Path:
    """A package written by the anki library: one Basic note showing a picture called *name*."""
    folder.mkdir(parents=True)
    col = anki_collection(folder / "collection.anki2")
    stored = col.media.write_data(name, data)
    note = col.new_note(col.models.by_name("Basic"))
    note["Front"], note["Back"] = f'{front} <img src="{html.escape(stored)}">', "an answer"
    col.add_note(note, col.decks.id("Pictures"))
    out = folder.with_suffix(".apkg")
    export_apkg(col, out, scheduling=False, media=True, legacy=legacy)
    col.close()
    return out


def srs(db: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--db", str(db), *NOW, *args])


def picture_of(fields: list[str]) -> str:
    return html.unescape(_SRC.search(fields[0]).group(1))  # type: ignore[union-attr]


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


@pytest.mark.parametrize("legacy", [False, True], ids=["modern", "legacy"])
def test_a_different_file_under_a_taken_name_is_stored_beside_it_as_anki_would(tmp_path: Path, legacy: bool) -> None:
    """Two packages each with their own diagram.png: both survive, named as Anki names them, and go back to Anki."""
    first = picture_package(tmp_path / "a", "diagram.png", PICTURE_A, "First", legacy)
    second = picture_package(tmp_path / "b", "diagram.png", PICTURE_B, "Second", legacy)

    # the judge: what Anki itself does with the same two packages
    (tmp_path / "anki").mkdir()
    col = anki_collection(tmp_path / "anki" / "collection.anki2")
    import_apkg(col, first, with_scheduling=False)
    import_apkg(col, second, with_scheduling=False)
    ankis_names = {col.get_note(nid)["Front"].split(" ")[0]: picture_of([col.get_note(nid)["Front"]]) for nid in col.find_notes("")}
    col.close()
    assert ankis_names["First"] == "diagram.png" and ankis_names["Second"] != "diagram.png"

    db, media = tmp_path / "srs" / "c.db", tmp_path / "srs" / "media"
    db.parent.mkdir()
    assert srs(db, "import", str(first)).exit_code == 0
    result = srs(db, "import", str(second))
    assert result.exit_code == 0, result.output
    assert "1 media files (1 new)" in result.output and "1 media file(s) stored under a new name" in result.output
    conn = open_database(db)
    with conn.session() as session:
        ours = {n.anki_fields[0].split(" ")[0]: picture_of(n.anki_fields) for n in session.scalars(select(Note).where(Note.kind == "anki"))}
    conn.close()
    assert ours == ankis_names
    assert ours["Second"] == f"diagram-{hashlib.sha1(PICTURE_B).hexdigest()}.png"
    assert (media / "diagram.png").read_bytes() == PICTURE_A
    assert (media / ours["Second"]).read_bytes() == PICTURE_B

    # importing again stores nothing new and changes no note
    before = folder_state(media)
    again = srs(db, "import", str(second))
    assert again.exit_code == 0 and "notes 0 new, 0 updated, 1 unchanged" in again.output
    assert "1 media files (0 new)" in again.output and "new name" not in again.output
    assert folder_state(media) == before

    # each note takes its own picture back to Anki
    assert srs(db, "export", str(tmp_path / "back.apkg"), "--deck", "Pictures").exit_code == 0
    (tmp_path / "back").mkdir()
    col = anki_collection(tmp_path / "back" / "collection.anki2")
    import_apkg(col, tmp_path / "back.apkg")
    shown = {}
    for nid in col.find_notes(""):
        front = col.get_note(nid)["Front"]
        shown[front.split(" ")[0]] = (Path(col.media.dir()) / picture_of([front])).read_bytes()
    assert col.media.check().missing == []
    col.close()
    assert shown == {"First": PICTURE_A, "Second": PICTURE_B}


def test_a_path_in_a_media_name_is_dropped_and_the_note_follows(tmp_path: Path) -> None:
    """A hostile media name with a folder in it is stored under its plain name; the note's reference follows it."""
    (tmp_path / "anki").mkdir()
    col = anki_collection(tmp_path / "anki" / "collection.anki2")
    note = col.new_note(col.models.by_name("Basic"))
    note["Front"], note["Back"] = 'Layers <img src="sub/layers.png">', "answer"
    col.add_note(note, col.decks.id("Pictures"))
    plain = export_apkg(col, tmp_path / "plain.apkg", scheduling=False, legacy=True)
    col.close()
    with zipfile.ZipFile(plain) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["media"] = json.dumps({"0": "sub/layers.png"}).encode()
    members["0"] = PICTURE_A
    package = make_zip(tmp_path / "hostile.apkg", members)

    db = tmp_path / "c.db"
    result = srs(db, "import", str(package))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "media" / "layers.png").read_bytes() == PICTURE_A and not (tmp_path / "media" / "sub").exists()
    conn = open_database(db)
    with conn.session() as session:
        note_row = session.scalars(select(Note).where(Note.kind == "anki")).one()
        assert picture_of(note_row.anki_fields) == "layers.png"
        assert card_sides(note_row, 0).front == "Layers [image: layers.png]"
    conn.close()
    assert srs(db, "export", str(tmp_path / "back.apkg"), "--deck", "Pictures").exit_code == 0
    (tmp_path / "back").mkdir()
    col = anki_collection(tmp_path / "back" / "collection.anki2")
    import_apkg(col, tmp_path / "back.apkg")
    assert (Path(col.media.dir()) / "layers.png").read_bytes() == PICTURE_A
    assert col.media.check().missing == []
    col.close()


def test_a_failed_import_leaves_the_media_folder_as_it_was(tmp_path: Path) -> None:
    """Media are stored before the notes; when the notes are refused, the files this import added go again."""
    package = valid_package(tmp_path / "v")
    with zipfile.ZipFile(package) as archive:
        collection = archive.read("collection.anki2")
    work = tmp_path / "collection.anki2"
    work.write_bytes(collection)
    conn = sqlite3.connect(work)
    conn.execute("update notes set flds = 'only one field' where id = (select max(id) from notes)")
    conn.commit()
    conn.close()
    bad = make_zip(
        tmp_path / "bad.apkg",
        {"collection.anki2": work.read_bytes(), "media": json.dumps({"0": "diagram.png", "1": "fresh.png"}).encode(),
         "0": PICTURE_B, "1": b"a new file"},
    )
    db, media = tmp_path / "c.db", tmp_path / "media"
    media.mkdir()
    (media / "diagram.png").write_bytes(PICTURE_A)
    (media / "notes.txt").write_text("mine")
    before = folder_state(media)
    result = srs(db, "import", str(bad))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error:") and "fields but its note type" in result.output
    assert folder_state(media) == before


def test_a_media_file_over_the_limit_removes_the_files_already_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from srs.anki import formats

    package = valid_package(tmp_path / "v")
    with zipfile.ZipFile(package) as archive:
        collection = archive.read("collection.anki2")
    bomb = make_zip(
        tmp_path / "bomb.apkg",
        {"collection.anki2": collection, "media": json.dumps({"0": "small.png", "1": "large.png"}).encode(),
         "0": b"x" * 10, "1": b"y" * 5000},
    )
    monkeypatch.setattr(formats, "MAX_MEDIA_BYTES", 1000)
    media = tmp_path / "media"
    with pytest.raises(ImportError_, match="over the limit"):
        import_fresh(tmp_path / "srs.db", bomb, media)
    assert folder_state(media) == {}


# --- references in field HTML -------------------------------------------------------------

_names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs"), blacklist_characters="\"'<>[]/\\"), min_size=1, max_size=12)


@st.composite
def fields_with_refs(draw):  # type: ignore[no-untyped-def]
    parts, names = [], []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(_names)
        style = draw(st.sampled_from(["double", "single", "bare", "sound", "text"]))
        if style == "text":
            parts.append(draw(st.text(st.characters(blacklist_characters="<[", blacklist_categories=("Cs",)), max_size=10)))
            continue
        names.append(name)
        escaped = html.escape(name, quote=True)
        parts.append(
            {"double": f'<img alt="x" src="{escaped}">', "single": f"<audio src='{escaped}'>",
             "bare": f"<img src={escaped}>", "sound": f"[sound:{name}]"}[style]
        )
    return "".join(parts), names


@given(fields_with_refs(), st.data())
def test_rewritten_references_point_at_the_new_names(field_and_names, data) -> None:  # type: ignore[no-untyped-def]
    value, names = field_and_names
    found = media_refs(value)
    assert found == set(names)
    renamed = {name: data.draw(_names) + ".png" for name in names if data.draw(st.booleans())}
    rewritten = replace_media_refs(value, renamed)
    assert media_refs(rewritten) == {renamed.get(name, name) for name in names}
    assert replace_media_refs(value, {}) == value


def test_names_made_safe_and_hashed_within_limits() -> None:
    assert safe_name("../../escape.txt") == "escape.txt"
    assert safe_name("C:\\Users\\me\\pic.png") == "pic.png"
    assert safe_name("bell\x07.mp3") == "bell_.mp3"
    assert safe_name("..") == "media"
    assert safe_name("\ud800.png") == "_.png"  # a lone surrogate from a JSON media list
    digest = hashlib.sha1(b"x").hexdigest()
    assert _hashed("diagram.png", digest) == f"diagram-{digest}.png"
    assert _hashed("README", digest) == f"README-{digest}"
    long = _hashed("é" * 200 + ".jpeg", digest)
    assert len(long.encode()) <= 120 and long.endswith(f"-{digest}.jpeg")
    assert _hashed(".bashrc", digest) == f".bashrc-{digest}"


@given(
    st.text(st.characters(), min_size=1, max_size=300)
    | st.text(st.characters(categories=["Cs", "Cc", "Ll"]), min_size=1, max_size=30)
    | st.text(st.sampled_from("a.é/\\\x00 "), min_size=1, max_size=8)
)
@example("0.")  # a plain name ending in a dot is kept whole
def test_safe_names_are_plain_and_short(name: str) -> None:
    """Whatever a package calls a file, the stored name is one plain file name within Anki's length limit."""
    from srs.anki.media import plain_name

    stored = safe_name(name)
    assert plain_name(stored) and len(stored.encode()) <= 120
    assert len(_hashed(stored, hashlib.sha1(b"x").hexdigest()).encode()) <= 120
    if plain_name(name) and len(name.encode()) <= 120:
        assert stored == name  # an ordinary name is kept as it is


def test_progress_reports_media_notes_and_reviews_in_order(tmp_path: Path) -> None:
    """The progress callback hears each stage, in the order the import works, never past its total."""

    package = picture_package(tmp_path / "a", "diagram.png", PICTURE_A, "First")
    heard: list[tuple[str, int, int]] = []
    import_fresh(tmp_path / "srs.db", package, tmp_path / "media", lambda stage, done, total: heard.append((stage, done, total)))
    stages = [stage for stage, _, _ in heard]
    assert stages[0] == "media" and "notes" in stages and stages.index("notes") > stages.index("media")
    assert all(0 <= done <= total for _, done, total in heard)


def test_media_are_stored_under_the_write_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While an import picks names in the media folder, no other srs writer can start (so none picks the same)."""
    from srs.anki import media as media_module

    package = picture_package(tmp_path / "a", "diagram.png", PICTURE_A, "First")
    db_path = tmp_path / "srs.db"
    place = media_module.MediaImport._place
    locked: list[bool] = []

    def checking_place(self, incoming, name):  # type: ignore[no-untyped-def]
        other = sqlite3.connect(db_path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            locked.append(False)
        except sqlite3.OperationalError as exc:
            locked.append("locked" in str(exc))
        finally:
            other.close()
        return place(self, incoming, name)

    monkeypatch.setattr(media_module.MediaImport, "_place", checking_place)
    import_fresh(db_path, package, tmp_path / "media")
    assert locked == [True]


@pytest.mark.parametrize("name", ["\ud800.png", "a" * 300 + ".png", "con\x00trol.png", "..", "dir/"], ids=["surrogate", "long", "nul", "dots", "folder"])
def test_odd_media_names_are_stored_not_refused(tmp_path: Path, name: str) -> None:
    """Media names Anki would never write still import: under a plain, short name inside the folder."""
    package = valid_package(tmp_path / "v")
    with zipfile.ZipFile(package) as archive:
        collection = archive.read("collection.anki2")
    odd = make_zip(tmp_path / "odd.apkg", {"collection.anki2": collection, "media": json.dumps({"0": name}).encode(), "0": b"data"})
    result = srs(tmp_path / "c.db", "import", str(odd))
    assert result.exit_code == 0, result.output
    stored = folder_state(tmp_path / "media")
    assert list(stored.values()) == [b"data"] and len(next(iter(stored)).encode()) <= 120


def test_a_whole_collection_brings_its_media(tmp_path: Path) -> None:
    """A .colpkg written by the anki library with its media: the files arrive, byte for byte, under their names."""
    (tmp_path / "anki").mkdir()
    col = anki_collection(tmp_path / "anki" / "collection.anki2")
    name = col.media.write_data("chart.png", PICTURE_A)
    note = col.new_note(col.models.by_name("Basic"))
    note["Front"], note["Back"] = f'Chart <img src="{name}">', "answer"
    col.add_note(note, col.decks.id("Pictures"))
    package = tmp_path / "whole.colpkg"
    col.export_collection_package(str(package), include_media=True, legacy=False)  # closes the collection
    result = srs(tmp_path / "c.db", "import", str(package))
    assert result.exit_code == 0, result.output
    assert "1 media files (1 new)" in result.output
    assert folder_state(tmp_path / "media") == {"chart.png": PICTURE_A}
