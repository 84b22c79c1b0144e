"""Exchange with Anki: `srs export` and `srs import`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from srs.anki.export import export_package
from srs.anki.import_ import ImportSummary, import_package
from srs.commands.common import (
    Context,
    complete_decks,
    confirm_replace,
    progress_bar,
    say,
)
from srs.errors import ImportError_, SrsError
from srs.files import open_regular


@click.command(short_help="Export decks to an Anki package.")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--deck", "decks", multiple=True, help="Export only this deck and its sub-decks (repeatable).", shell_complete=complete_decks)
@click.option("--search", "query", metavar="QUERY", help="Only the notes with a card this search finds (Anki's search language).")
@click.option("--no-scheduling", is_flag=True, help="Export every card as new, without review history.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.pass_obj
def export(obj: Context, out: Path, decks: tuple[str, ...], query: str | None, no_scheduling: bool, force: bool) -> None:
    """Export decks to an Anki package (.apkg) with scheduling and history.

    Import it in Anki with "Import any scheduling information" on; exporting
    again later updates the notes already in Anki.

    Example: srs export interview.apkg --deck Interview
    """
    force = confirm_replace(out, force)
    db = obj.database()
    with db.session() as session:
        result = export_package(
            session, out, obj.now(), list(decks) or None, not no_scheduling, force, media_folder=db.path.parent / "media", search=query,
        )
    say(
        f"Wrote {result.path}: {result.notes} notes, {result.cards} cards, {result.reviews} reviews "
        f"in {result.decks} deck(s)" + (f", {result.media} media files" if result.media else "")
        + (" (without scheduling)" if no_scheduling else "") + "."
    )
    if result.unsupported_notes:
        say(
            f"Not exported: {result.unsupported_notes} note(s) with no Anki note type "
            "(placeholders from a review-log CSV, or imported before srs kept note types: import that package again)."
        )


@click.command("import", short_help="Import an Anki package with its history.")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
def import_(obj: Context, file: Path) -> None:
    """Import an Anki package (.apkg, .colpkg) with its review history.

    Notes you exported from srs and edited or reviewed in Anki are updated;
    nothing is duplicated, and importing the same file twice adds nothing.
    The import is one transaction: if it fails, nothing changes.

    Example: srs import ~/Downloads/interview.apkg
    """
    os.close(open_regular(file, "package", ImportError_))  # before the database: a bad path changes nothing
    db = obj.database()
    summary: ImportSummary | None = None
    with progress_bar("Importing") as progress:
        try:
            with db.session(write=True) as session:
                summary = import_package(session, file, obj.now(), db.path.parent / "media", progress)
        except BaseException as exc:
            if summary is not None:  # the commit failed (a full disk): nothing was imported, so neither are its media
                summary.discard_media()
            if isinstance(exc, KeyboardInterrupt):
                raise SrsError(f"interrupted: nothing from {file.name} was imported (an import is all or nothing)") from None
            raise
    assert summary is not None
    for line in summary.lines(file.name):
        say(line)
