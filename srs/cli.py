"""The ``srs`` command line: parse options, call the core, print.

This is the only module that imports click and the only place that reads the
real clock. Errors raised by the core (``SrsError``) become a one-line
message and exit status 1 here, in ``SrsGroup.invoke``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from srs.errors import EditorError, SrsError
from srs.sanitize import printable

if TYPE_CHECKING:
    from srs.db import Database


class SrsGroup(click.Group):
    """Turns the project's errors (and database failures) into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SrsError as exc:
            raise click.ClickException(printable(str(exc))) from None
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                orig = getattr(exc, "orig", None)
                raise click.ClickException(printable(f"database error: {orig or exc}")) from None
            if isinstance(exc, OSError):
                raise click.ClickException(printable(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))) from None
            raise


class Context:
    """What every command needs: where the database is, and what time it is."""

    def __init__(self, db_path: Path | None, now: datetime | None, keys_from_stdin: bool = False) -> None:
        self.db_path = db_path
        self._now = now
        self._db: Database | None = None
        self.keys_from_stdin = keys_from_stdin

    def read_key(self, command: str) -> Any:
        """The function that reads one key press: the keyboard, or standard input when scripted.

        An interactive command with standard input that is not a terminal
        (a pipe, /dev/null) would show one card and end; it stops with one line instead.
        """
        if self.keys_from_stdin:
            return lambda: sys.stdin.read(1)
        if not sys.stdin.isatty():
            raise SrsError(f"srs {command} needs a terminal: it reads your answers from the keyboard, and standard input is not one")
        return click.getchar

    def now(self) -> datetime:
        return self._now or datetime.now(timezone.utc)

    def clock(self) -> Any:
        """A function giving the time: pinned by --now, else the real clock."""
        fixed = self._now
        return (lambda: fixed) if fixed is not None else (lambda: datetime.now(timezone.utc))

    def database(self, builtin: bool = True) -> Database:
        """Open the collection; build the built-in decks on first use."""
        if self._db is None:
            from srs.db import open_database
            from srs.decks import builtin_decks_stale, ensure_builtin_decks

            self._db = open_database(self.db_path)
            self._db.on_wait = lambda: _say(
                "Waiting for another srs process to finish writing (an import?)...", err=True
            )
            if self._db.backup is not None:
                _say(f"Upgraded the database; a copy from before the upgrade is at {self._db.backup}", err=True)
            if builtin and not self._db.read_only:  # a read-only collection is shown as it is
                with self._db.session() as session:
                    stale = builtin_decks_stale(session)
                if stale:
                    with self._db.session(write=True) as session:
                        ensure_builtin_decks(session, self.now())
                        session.commit()
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {value!r}") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


@click.group(cls=SrsGroup)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    envvar="SRS_DB",
    help="Database file (default: srs.db in your data folder; env SRS_DB).",
)
@click.option("--now", callback=_parse_now, hidden=True, help="Pretend it is this UTC time (tests, benchmarks).")
@click.option("--keys-from-stdin", is_flag=True, hidden=True, help="Read review and mock keys from standard input (scripts, tests).")
@click.version_option(package_name="srs")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None, now: datetime | None, keys_from_stdin: bool) -> None:
    """Spaced repetition for behavioral-interview preparation.

    Start with `srs review`: the built-in decks are ready on first use.
    """
    obj = Context(db_path, now, keys_from_stdin)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def _confirm_replace(path: Path, force: bool) -> bool:
    """--force, or the user's answer on a terminal when *path* exists (a link counts: it is replaced, not followed)."""
    if force or path.is_dir() or not (path.exists() or path.is_symlink()) or not sys.stdin.isatty():
        return force
    if not click.confirm(f"{printable(path)} exists. Replace it?", default=False):
        raise SrsError(f"{path} already exists; nothing written")
    return True


def _say(text: object = "", err: bool = False, nl: bool = True) -> None:
    """Print a line: everything srs prints outside rich goes through ``printable`` here."""
    from srs.sanitize import printable

    click.echo(printable(text), err=err, nl=nl)


def _json(data: Any) -> None:
    from srs.sanitize import json_text

    click.echo(json_text(data))


def _deck_ids(session: Any, deck: str | None) -> list[int] | None:
    if deck is None:
        return None
    from srs.decks import deck_and_children

    return deck_and_children(session, deck)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, markup=False, emoji=False)  # text is shown as written, never interpreted


@cli.command()
@click.option("--deck", help="Study only this deck (and its sub-decks).")
@click.option("--new-limit", type=click.IntRange(min=0), help="New cards today (default: the new_per_day setting).")
@click.option("--review-limit", type=click.IntRange(min=0), help="Reviews today (default: the reviews_per_day setting).")
@click.pass_obj
def review(obj: Context, deck: str | None, new_limit: int | None, review_limit: int | None) -> None:
    """Study today's cards.

    Answer aloud, press space to see the answer, then rate your recall:
    1 Again, 2 Hard, 3 Good, 4 Easy. u undoes the last answer, q quits.
    Every answer is saved at once.

    Example: srs review --deck "Interview::Behavioral questions"
    """
    from srs.review import Limits, ReviewSession
    from srs.terminal import run_review

    read_key = obj.read_key("review")
    db = obj.database()
    console = _console()
    # Writing sessions begin with BEGIN IMMEDIATE, so an answer waits for a
    # concurrent import instead of failing; the loop holds no transaction
    # while the user thinks.
    with db.session(write=True) as session:
        deck_ids = _deck_ids(session, deck)
        limits = Limits.from_settings(session, new_limit, review_limit)
        study = ReviewSession(session, limits, deck_ids)
        clock = obj.clock()
        run_review(
            study,
            console,
            read_key,
            clock,
            live_timer=console.is_terminal,
            edit=lambda card: _edit_behind(obj, session, card),
        )


@cli.command()
@click.option("--deck", help="Only this deck (and its sub-decks).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (documented in the README).")
@click.pass_obj
def status(obj: Context, deck: str | None, as_json: bool) -> None:
    """Show what is due today and the collection's size.

    Example: srs status --json
    """
    from srs.browse import status as get_status

    db = obj.database()
    with db.session() as session:
        data = get_status(session, obj.now(), _deck_ids(session, deck))
    if as_json:
        _json(data)
        return
    from srs.terminal import format_status

    _console().print(format_status(data))


@cli.command()
@click.option("--deck", help="Only this deck (and its sub-decks).")
@click.option("--due", is_flag=True, help="Only cards due today (learning and review).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (documented in the README).")
@click.pass_obj
def cards(obj: Context, deck: str | None, due: bool, as_json: bool) -> None:
    """Browse cards with their memory state.

    Example: srs cards --due --json
    """
    from srs.browse import list_cards

    db = obj.database()
    with db.session() as session:
        rows = list_cards(session, obj.now(), _deck_ids(session, deck), due)
    if as_json:
        # One card per line: readable, and uses json's fast C encoder per row.
        from srs.sanitize import json_text

        body = ",\n".join("  " + json_text(r, indent=None) for r in rows)
        click.echo("[\n" + body + "\n]" if rows else "[]")
        return
    from srs.terminal import CARD_COLUMNS, card_cells, print_listing

    print_listing(_console(), CARD_COLUMNS, card_cells(rows))


@cli.group(cls=SrsGroup)
def deck() -> None:
    """Build and list decks."""


@deck.command("build")
@click.argument("guide", type=click.Path(path_type=Path))
@click.option("--deck", "deck_name", help="Deck to build into (default: the guide's title).")
@click.pass_obj
def deck_build(obj: Context, guide: Path, deck_name: str | None) -> None:
    """Turn a Markdown interview guide into cards, or update them.

    Rebuilding after the guide changes updates text in place and keeps
    progress; items removed from the guide are suspended, not deleted.

    Example: srs deck build guide.md --deck "Interview::My guide"
    """
    from srs.decks import build_from_file, read_guide

    parsed = read_guide(guide)  # before the database: a bad guide changes nothing
    db = obj.database()
    with db.session(write=True) as session:
        result = build_from_file(session, guide, deck_name, obj.now(), parsed)
        session.commit()
    _say(
        f"{result.deck}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.orphaned} suspended (gone from the guide), {result.restored} restored"
    )


@deck.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def deck_list(obj: Context, as_json: bool) -> None:
    """List decks with their card counts.

    Example: srs deck list
    """
    from srs.browse import deck_summaries

    db = obj.database()
    with db.session() as session:
        rows = deck_summaries(session, obj.now())
    if as_json:
        _json(rows)
        return
    from srs.terminal import decks_table

    _console().print(decks_table(rows))


@cli.command()
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.pass_obj
def config(obj: Context, key: str | None, value: str | None) -> None:
    """Show or change settings.

    With no arguments, list every setting. With KEY, show it; with KEY and
    VALUE, change it.

    Example: srs config desired_retention 0.92
    """
    from srs.settings import all_settings, update_setting

    db = obj.database(builtin=False)
    if value is None:
        with db.session() as session:
            values = all_settings(session)
        if key is not None:
            name = key.replace("-", "_")
            if name not in values:
                raise SrsError(f"unknown setting {key!r} (known: {', '.join(sorted(values))})")
            _say(values[name])
            return
        for name, current in values.items():
            _say(f"{name} = {current}")
        return
    assert key is not None
    with db.session(write=True) as session:
        stored = update_setting(session, key, value)
        session.commit()
    _say(f"{key.replace('-', '_')} = {stored}")


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--deck", "decks", multiple=True, help="Export only this deck and its sub-decks (repeatable).")
@click.option("--no-scheduling", is_flag=True, help="Export every card as new, without review history.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.pass_obj
def export(obj: Context, out: Path, decks: tuple[str, ...], no_scheduling: bool, force: bool) -> None:
    """Export decks to an Anki package (.apkg) with scheduling and history.

    Import it in Anki with "Import any scheduling information" on; exporting
    again later updates the notes already in Anki.

    Example: srs export interview.apkg --deck Interview
    """
    from srs.anki.export import export_package

    force = _confirm_replace(out, force)
    db = obj.database()
    with db.session() as session:
        result = export_package(
            session, out, obj.now(), list(decks) or None, not no_scheduling, force, media_folder=db.path.parent / "media"
        )
    _say(
        f"Wrote {result.path}: {result.notes} notes, {result.cards} cards, {result.reviews} reviews "
        f"in {result.decks} deck(s)" + (f", {result.media} media files" if result.media else "")
        + (" (without scheduling)" if no_scheduling else "") + "."
    )
    if result.unsupported_notes:
        _say(
            f"Not exported: {result.unsupported_notes} note(s) with no Anki note type "
            "(placeholders from a review-log CSV, or imported before srs kept note types: import that package again)."
        )


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
def import_(obj: Context, file: Path) -> None:
    """Import an Anki package (.apkg, .colpkg) with its review history.

    Notes you exported from srs and edited or reviewed in Anki are updated;
    nothing is duplicated, and importing the same file twice adds nothing.
    The import is one transaction: if it fails, nothing changes.

    Example: srs import ~/Downloads/interview.apkg
    """
    import os

    from rich.progress import Progress

    from srs.anki.import_ import import_package
    from srs.errors import ImportError_
    from srs.files import open_regular

    os.close(open_regular(file, "package", ImportError_))  # before the database: a bad path changes nothing
    db = obj.database()
    console = _console()
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("Importing", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"Importing {stage}", completed=done, total=total or None)

        try:
            with db.session(write=True) as session:
                summary = import_package(session, file, obj.now(), db.path.parent / "media", progress)
                try:
                    session.commit()
                except BaseException:  # nothing was imported: neither are its media files
                    summary.discard_media()
                    raise
        except KeyboardInterrupt:
            raise SrsError(f"interrupted: nothing from {file.name} was imported (an import is all or nothing)") from None
    _say(
        f"Imported {file.name}: notes {summary.notes_new} new, {summary.notes_updated} updated, "
        f"{summary.notes_unchanged} unchanged; {summary.cards_new} new cards; reviews {summary.reviews_added} added, "
        f"{summary.reviews_present} already present" + (f"; {summary.media} media files ({summary.media_new} new)" if summary.media else "") + "."
    )
    if summary.media_renamed:
        _say(
            f"  {summary.media_renamed} media file(s) stored under a new name (the folder already had a different file "
            "by that name); their notes refer to the new name"
        )
    if summary.schedules_replaced:
        _say(
            f"  {summary.schedules_replaced} card(s) scheduled by srs: their history in the package does not explain "
            "the state Anki had them in (a due date set by hand, say)"
        )
    for reason, count in sorted(summary.skipped_cards.items()):
        _say(f"  skipped {count} card(s): {reason}")
    for reason, count in sorted(summary.skipped.items()):
        _say(f"  skipped {count} revlog row(s): {reason}")


@cli.command()
@click.option("--preset", help="Only this preset (default: every preset).")
@click.option("--reschedule", is_flag=True, help="Recompute due dates with the new parameters.")
@click.option("--dry-run", is_flag=True, help="Report only; keep the current parameters.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def optimize(obj: Context, preset: str | None, reschedule: bool, dry_run: bool, as_json: bool) -> None:
    """Fit FSRS parameters to your own review history.

    New parameters are adopted only when they predict your answers better
    (lower log loss) than the current ones.

    Example: srs optimize --reschedule
    """
    from srs.optimize import optimize as fit
    from srs.optimize import reschedule as redo

    with obj.database().session(write=True) as session:
        results = fit(session, preset, adopt=not dry_run)
        rescheduled = {r.preset: redo(session, r.preset, obj.now()) for r in results if r.adopted and reschedule}
        session.commit()
    if as_json:
        _json([{**r.as_dict(), "rescheduled": rescheduled.get(r.preset, 0)} for r in results])
        return
    for r in results:
        _say(f"{r.preset}: {r.reviews} reviews of {r.cards} cards, {r.items} training items. {r.message}.")
        if r.current is not None and r.fitted is not None:
            _say(
                f"  log loss {r.current.log_loss:.4f} -> {r.fitted.log_loss:.4f}; "
                f"RMSE(bins) {r.current.rmse_bins:.4f} -> {r.fitted.rmse_bins:.4f}"
            )
        if r.preset in rescheduled:
            _say(f"  rescheduled {rescheduled[r.preset]} cards")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--png", "png", type=click.Path(path_type=Path), help="Also write the charts as a PNG image.")
@click.option("--force", is_flag=True, help="Replace the --png file if it exists.")
@click.pass_obj
def stats(obj: Context, as_json: bool, png: Path | None, force: bool) -> None:
    """Your activity, true retention, the due forecast and recall by deck and competency.

    Example: srs stats --png progress.png
    """
    from srs.stats import collection_stats, write_png

    if png is not None:
        from srs.errors import ConfigError
        from srs.files import check_target

        force = _confirm_replace(png, force)
        check_target(png, force, "chart", ConfigError)
    with obj.database().session() as session:
        data = collection_stats(session, obj.now())
    if png is not None:
        if not data["reviews"]:
            raise SrsError("nothing to chart yet: no reviews so far")
        write_png(data, png)
    if as_json:
        _json(data)
        return
    from srs.terminal import stats_view

    _console().print(stats_view(data))


@cli.command()
@click.option("--count", type=click.IntRange(min=1, max=50), default=5, show_default=True, help="How many questions.")
@click.option("--seed", type=int, hidden=True, help="Fix the draw (tests).")
@click.pass_obj
def mock(obj: Context, count: int, seed: int | None) -> None:
    """A timed mock interview, weighted toward your weakest questions.

    Answer each question aloud, press space when done, read your linked
    stories, then rate yourself 1-4; ratings are recorded as reviews.

    Example: srs mock --count 6
    """
    import random

    from srs.mock import pick_questions
    from srs.review import Limits, ReviewSession
    from srs.terminal import run_mock

    read_key = obj.read_key("mock")
    console = _console()
    with obj.database().session(write=True) as session:
        questions = pick_questions(session, obj.now(), count, random.Random(seed))
        if not questions:
            raise SrsError("no questions to ask: build a deck of questions first (srs deck build GUIDE.md)")
        clock = obj.clock()
        run_mock(ReviewSession(session, Limits.from_settings(session)), questions, console, read_key, clock, console.is_terminal)


@cli.command()
@click.option("--interview", metavar="YYYY-MM-DD", help="The interview date to aim at.")
@click.option("--max-minutes", type=int, help="Minutes a day you can spend until then.")
@click.option("--clear", is_flag=True, help="Drop the plan: back to plain FSRS.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def plan(obj: Context, interview: str | None, max_minutes: int | None, clear: bool, as_json: bool) -> None:
    """Aim the schedule at an interview date and show the work until then.

    Example: srs plan --interview 2026-12-15 --max-minutes 20
    """
    from srs.plan import clear_plan, plan_report, set_plan

    db = obj.database()
    if clear or interview:
        with db.session(write=True) as session:
            if clear:
                clear_plan(session)
            else:
                assert interview is not None
                set_plan(session, interview, max_minutes, obj.now())
            session.commit()
        if clear:
            _say("Plan cleared: scheduling is plain FSRS again.")
            return
    elif max_minutes is not None:
        raise SrsError("--max-minutes goes with --interview YYYY-MM-DD")
    with db.session() as session:
        report = plan_report(session, obj.now())
    if as_json:
        _json(report)
        return
    from srs.terminal import plan_view

    _console().print(plan_view(report))


# --- editing ----------------------------------------------------------------------


def _drafts(obj: Context) -> Path:
    folder = obj.database(builtin=False).path.parent / "drafts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _edit_until_valid(obj: Context, text: str, parse: Any, name: str) -> Any:
    """Open *text* in $EDITOR until it parses; return the parsed value.

    The text lives in a draft file for the whole exchange, so neither a parse
    error, an aborted edit nor a failing editor loses what the user typed.
    On a parse error the file reopens with the error at the top.
    """
    import re

    draft = _drafts(obj) / f"{name}-{obj.now():%Y%m%d-%H%M%S}.md"
    original = text
    error: str | None = None
    previous = None
    while True:
        header = f"<!-- srs: ERROR: {error}. Fix it and save; save unchanged to give up. -->\n" if error else ""
        draft.write_text(header + text, encoding="utf-8")
        try:
            click.edit(filename=str(draft), extension=".md")
        except click.ClickException as exc:
            raise EditorError(f"{exc.format_message()}; your text is kept in {draft}") from None
        text = re.sub(r"\A<!-- srs: ERROR:.*?-->\n?", "", draft.read_text(encoding="utf-8"), flags=re.DOTALL)
        if text == original and error is None:
            draft.unlink()
            raise SrsError("nothing changed, nothing saved")
        try:
            value = parse(text)
        except SrsError as exc:
            if text == previous:
                raise SrsError(f"not saved: {exc}; your text is kept in {draft}") from None
            error, previous = str(exc), text
            continue
        draft.unlink()
        return value


def _read_text(path: Path, what: str = "story") -> str:
    from srs.errors import StoryError
    from srs.files import read_text
    from srs.stories import MAX_STORY_BYTES

    return read_text(path, MAX_STORY_BYTES, what, StoryError)


def _show_lint(spec: Any, wpm: int = 150) -> None:
    from srs.lint import lint_story
    from srs.terminal import findings_text

    _console().print(findings_text(lint_story(spec, wpm)))


def _edit_behind(obj: Context, session: Any, card: Any) -> str | None:
    """`e` during review: edit the story (or pitch) behind *card*.

    Returns what to tell the user before going back to the card (None when
    there is nothing behind the card to edit). Nothing here ends the session:
    an edit that changes nothing, text that does not parse or an editor that
    fails is a notice, with the draft's path when the text was kept.
    """
    from srs.pitch import get_pitch, parse_pitch, render_pitch, save_pitch
    from srs.stories import editable_behind, get_story, parse_story, render_story, save_story, spec_of

    target = editable_behind(session, card.note)
    if target is None:
        return None
    kind, story_id = target
    try:
        if kind == "pitch":
            note = get_pitch(session)
            pitch = _edit_until_valid(obj, render_pitch(note.fields if note else None), parse_pitch, "pitch")
            save_pitch(session, pitch, obj.now())
            message = "Saved your pitch."
        else:
            assert story_id is not None
            note, story = get_story(session, story_id)
            spec = _edit_until_valid(obj, render_story(spec_of(note, story)), parse_story, f"story-{story_id}")
            save_story(session, spec, obj.now(), story_id)
            message = f"Saved story {story_id}."
    except SrsError as exc:
        session.rollback()
        return f"{exc} (back to the card)"
    session.commit()
    return message


# --- stories -------------------------------------------------------------------------


@cli.group(cls=SrsGroup)
def story() -> None:
    """Your own STAR/CARL stories, reviewed like everything else."""


@story.command("add")
@click.option("--file", "path", type=click.Path(path_type=Path), help="Read the story from a file instead of the editor.")
@click.pass_obj
def story_add(obj: Context, path: Path | None) -> None:
    """Write a new story (opens $EDITOR on a template).

    Example: srs story add --file launch.md
    """
    from srs.stories import blank_story, parse_story, render_story, save_story

    db = obj.database()
    spec = parse_story(_read_text(path)) if path else _edit_until_valid(obj, render_story(blank_story()), parse_story, "story")
    with db.session(write=True) as session:
        note = save_story(session, spec, obj.now())
        session.commit()
        story_id = note.id
    _say(f"Added story {story_id}: {spec.title}")
    _show_lint(spec)


@story.command("edit")
@click.argument("story_id", type=int)
@click.option("--file", "path", type=click.Path(path_type=Path), help="Replace the story with this file.")
@click.pass_obj
def story_edit(obj: Context, story_id: int, path: Path | None) -> None:
    """Edit a story; its cards keep their progress.

    Example: srs story edit 12
    """
    from srs.stories import get_story, parse_story, render_story, save_story, spec_of

    db = obj.database()
    with db.session() as session:
        note, row = get_story(session, story_id)
        current = render_story(spec_of(note, row))
    spec = parse_story(_read_text(path)) if path else _edit_until_valid(obj, current, parse_story, f"story-{story_id}")
    with db.session(write=True) as session:
        save_story(session, spec, obj.now(), story_id)
        session.commit()
    _say(f"Saved story {story_id}: {spec.title}")
    _show_lint(spec)


@story.command("show")
@click.argument("story_id", type=int)
@click.pass_obj
def story_show(obj: Context, story_id: int) -> None:
    """Print a story as Markdown, in the format `story add --file` reads.

    Example: srs story show 12
    """
    from srs.stories import get_story, render_story, spec_of

    with obj.database().session() as session:
        note, row = get_story(session, story_id)
        _say(render_story(spec_of(note, row)), nl=False)


@story.command("list")
@click.option("--rank", is_flag=True, help="Order by impact + scope + involvement, best first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def story_list(obj: Context, rank: bool, as_json: bool) -> None:
    """List your stories.

    Example: srs story list --rank
    """
    from srs.stories import list_stories

    with obj.database().session() as session:
        rows = list_stories(session, obj.now(), rank)
    if as_json:
        _json(rows)
        return
    if not rows:
        _say("No stories yet: `srs story add` writes one, `srs story import BRAG.md` drafts them from a brag document.")
        return
    from srs.terminal import STORY_COLUMNS, print_listing, story_cells

    print_listing(_console(), STORY_COLUMNS, story_cells(rows))


@story.command("rm")
@click.argument("story_id", type=int)
@click.option("--purge", is_flag=True, help="Also delete its cards and review history.")
@click.pass_obj
def story_rm(obj: Context, story_id: int, purge: bool) -> None:
    """Remove a story (its review history is kept unless --purge).

    Example: srs story rm 12
    """
    from srs.stories import remove_story

    with obj.database().session(write=True) as session:
        remove_story(session, story_id, obj.now(), purge)
        session.commit()
    _say(f"Removed story {story_id}" + (" and its review history." if purge else " (review history kept)."))


@story.command("link")
@click.argument("story_id", type=int)
@click.argument("question")
@click.pass_obj
def story_link(obj: Context, story_id: int, question: str) -> None:
    """Link a story to a question (by id or words of the question).

    Example: srs story link 12 "conflict you resolved"
    """
    from srs.stories import link_story

    with obj.database().session(write=True) as session:
        q = link_story(session, story_id, question, obj.now())
        session.commit()
        _say(f"Linked story {story_id} to question {q.id}: {q.fields.get('Question', '')}")


@story.command("unlink")
@click.argument("story_id", type=int)
@click.argument("question")
@click.pass_obj
def story_unlink(obj: Context, story_id: int, question: str) -> None:
    """Remove a story's link to a question.

    Example: srs story unlink 12 34
    """
    from srs.stories import unlink_story

    with obj.database().session(write=True) as session:
        q = unlink_story(session, story_id, question)
        session.commit()
        _say(f"Unlinked story {story_id} from question {q.id}")


@story.command("lint")
@click.argument("story_id", type=int, required=False)
@click.option("--wpm", type=click.IntRange(min=60, max=300), default=150, show_default=True, help="Speaking rate for the length check.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def story_lint(obj: Context, story_id: int | None, wpm: int, as_json: bool) -> None:
    """Check stories against the common mistakes (offline).

    Example: srs story lint 12 --wpm 140
    """
    from srs.lint import lint_story, speaking_seconds
    from srs.stories import all_stories, get_story, spec_of

    with obj.database().session() as session:
        pairs = [get_story(session, story_id)] if story_id is not None else all_stories(session)
        report = []
        for note, row in pairs:
            spec = spec_of(note, row)
            report.append(
                {
                    "id": note.id,
                    "title": spec.title,
                    "seconds": round(speaking_seconds(spec, wpm)),
                    "findings": [f.as_dict() for f in lint_story(spec, wpm)],
                }
            )
    if as_json:
        _json(report)
        return
    if not report:
        _say("No stories yet.")
        return
    from srs.terminal import lint_report

    _console().print(lint_report(report))


@story.command("import")
@click.argument("brag", type=click.Path(path_type=Path))
@click.pass_obj
def story_import(obj: Context, brag: Path) -> None:
    """Draft stories from a brag document or journal.

    Each heading or top-level bullet becomes a draft story with its sections
    marked TODO; the original text is kept in its Notes.

    Example: srs story import brag.md
    """
    from srs.stories import import_brag

    from srs.errors import StoryError
    from srs.files import read_text
    from srs.stories import MAX_BRAG_BYTES

    text = read_text(brag, MAX_BRAG_BYTES, "brag document", StoryError)
    with obj.database().session(write=True) as session:
        created, skipped = import_brag(session, text, obj.now())
        session.commit()
        for note in created:
            _say(f"  {note.id}: {note.fields.get('Title', '')}")
    _say(f"{len(created)} draft stories added, {skipped} already in the bank. Fill them in with `srs story edit ID`.")


# --- pitch and coverage -----------------------------------------------------------------


@cli.group(cls=SrsGroup, invoke_without_command=True)
@click.pass_context
def pitch(ctx: click.Context) -> None:
    """Your "Tell me about yourself" pitch (shows it; `edit` changes it)."""
    if ctx.invoked_subcommand is None:
        from srs.pitch import get_pitch, render_pitch

        with ctx.obj.database().session() as session:
            note = get_pitch(session)
            if note is None:
                _say("No pitch yet: `srs pitch edit` writes one.")
                return
            _say(render_pitch(note.fields), nl=False)


@pitch.command("edit")
@click.option("--file", "path", type=click.Path(path_type=Path), help="Read the pitch from a file.")
@click.pass_obj
def pitch_edit(obj: Context, path: Path | None) -> None:
    """Write or change your pitch (opens $EDITOR).

    Example: srs pitch edit
    """
    from srs.pitch import get_pitch, parse_pitch, render_pitch, save_pitch

    db = obj.database()
    with db.session() as session:
        note = get_pitch(session)
        current = render_pitch(note.fields if note else None)
    value = parse_pitch(_read_text(path, "pitch")) if path else _edit_until_valid(obj, current, parse_pitch, "pitch")
    with db.session(write=True) as session:
        save_pitch(session, value, obj.now())
        session.commit()
    _say("Saved your pitch.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def coverage(obj: Context, as_json: bool) -> None:
    """Which competencies your stories cover, and how well you recall them.

    Example: srs coverage
    """
    from srs.stories import coverage as get_coverage

    with obj.database().session() as session:
        data = get_coverage(session, obj.now())
    if as_json:
        _json(data)
        return
    from srs.terminal import coverage_view

    _console().print(coverage_view(data))


def main() -> NoReturn:
    """The `srs` command: click's own errors (a mistyped command, a bad option) are shown through ``printable`` too."""
    try:
        code = cli.main(prog_name="srs", standalone_mode=False)
    except click.ClickException as exc:
        exc.message = printable(exc.message)
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
