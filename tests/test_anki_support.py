"""Anki's own test packages (copied from ankitects/anki `pylib/tests/support`): srs imports them as Anki does.

Each sequence of packages is imported into an empty srs collection and into an
empty Anki collection; the notes, the cards and each card's question text must
agree, and what srs then exports must pass Anki's Check Database untouched.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from srs.anki.export import export_package
from srs.anki.import_ import import_package
from srs.anki.render import html_to_text
from srs.db import open_database
from srs.models import Card, Note

from .anki_helpers import anki_collection, import_apkg

SUPPORT = Path(__file__).with_name("data") / "anki-support"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
CLEAN = "Database rebuilt and optimized."  # all Check Database says when it found nothing to fix
SEQUENCES = [
    ["media.apkg"],
    ["update1.apkg", "update2.apkg"],  # the same note, its text changed
    ["diffmodels2-1.apkg", "diffmodels2-2.apkg"],  # the same note type, a card type added: Anki skips the note
    ["diffmodeltemplates-1.apkg", "diffmodeltemplates-2.apkg"],  # the same note type, its front template changed
    ["diffmodels2-2.apkg"],
]


def _anki_side(tmp_path: Path, names: list[str]) -> dict[tuple[str, int], str]:
    (tmp_path / "anki").mkdir()
    col = anki_collection(tmp_path / "anki" / "collection.anki2")
    try:
        for name in names:
            import_apkg(col, SUPPORT / name)
        shown = {}
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            text = html_to_text(card.question())
            for n, tag in enumerate(card.question_av_tags()):  # Anki renders a sound as a play button: name its file
                text = text.replace(f"[anki:play:q:{n}]", f"[sound: {tag.filename}]")
            shown[(card.note().guid, card.ord)] = text
        return shown
    finally:
        col.close()


@pytest.mark.parametrize("names", SEQUENCES, ids=["+".join(n.removesuffix(".apkg") for n in s) for s in SEQUENCES])
def test_ankis_test_packages_import_as_anki_imports_them(tmp_path: Path, names: list[str]) -> None:
    """The same notes and cards as Anki keeps, each with the question Anki shows (its styling aside); the media
    file arrives; srs's export of them imports into Anki and leaves its Check Database nothing to fix."""
    db = open_database(tmp_path / "srs.db")
    with db.session(write=True) as session:
        for name in names:
            import_package(session, SUPPORT / name, NOW, tmp_path / "media")
        session.commit()
        ours = {
            (guid, ord_): front
            for guid, ord_, front in (
                (card.note.guid, card.ord, card.note.fields.get(f"Front {card.ord}", ""))
                for card in session.scalars(select(Card).join(Note).where(Note.kind == "anki"))
            )
        }
    theirs = _anki_side(tmp_path, names)
    assert ours == {key: text.split("}\n", 1)[-1].strip() if "{" in text else text for key, text in theirs.items()}
    if "media.apkg" in names:
        assert (tmp_path / "media" / "foo.wav").exists() and list(ours.values()) == ["[sound: foo.wav]"]
    out = tmp_path / "back.apkg"
    with db.session() as session:
        export_package(session, out, NOW, force=True)
    db.close()
    (tmp_path / "check").mkdir()
    col = anki_collection(tmp_path / "check" / "collection.anki2")
    try:
        import_apkg(col, out)
        problems, ok = col.fix_integrity()
        assert ok and problems == CLEAN, problems
    finally:
        col.close()
