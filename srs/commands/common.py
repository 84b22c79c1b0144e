"""What every command shares: the context (database, clock), printing, shared options and editing.

Everything srs prints outside rich goes through ``say`` (one line at a time,
through ``printable``) or ``show`` (JSON, or a view ``srs.terminal`` draws);
rich consoles come from ``console`` with markup off. Views are named, and
``srs.terminal`` (with rich) is loaded only when something is drawn: a
``--json`` command never pays for it.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from srs.db import default_db_path, open_database, sqlite_uri
from srs.decks import builtin_decks_stale, deck_and_children, ensure_builtin_decks
from srs.domain import DeckId
from srs.errors import EditorError, NothingChanged, SrsError, StoryError
from srs.files import read_text
from srs.sanitize import json_text, printable
from srs.story_format import MAX_STORY_BYTES

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.orm import Session

    from srs.db import Database

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command needs: where the database is, what time it is, and where keys come from."""

    def __init__(self, db_path: Path | None, now: datetime | None, keys_from_stdin: bool = False) -> None:
        self.db_path = db_path
        self._now = now
        self._db: Database | None = None
        self.keys_from_stdin = keys_from_stdin

    def read_key(self, command: str) -> Callable[[], str]:
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
        """The time: pinned by --now, else the real clock (the only place srs reads it)."""
        return self._now or datetime.now(timezone.utc)

    def clock(self) -> Callable[[], datetime]:
        """A function giving the time, for loops that run while the user thinks."""
        fixed = self._now
        return (lambda: fixed) if fixed is not None else (lambda: datetime.now(timezone.utc))

    def database(self, builtin: bool = True) -> Database:
        """Open the collection; build the built-in decks on first use."""
        if self._db is None:
            self._db = open_database(self.db_path)
            self._db.on_wait = lambda: say("Waiting for another srs process to finish writing (an import?)...", err=True)
            if self._db.backup is not None:
                say(f"Upgraded the database; a copy from before the upgrade is at {self._db.backup}", err=True)
            if builtin and not self._db.read_only:  # a read-only collection is shown as it is
                with self._db.session() as session:
                    stale = builtin_decks_stale(session)
                if stale:
                    with self._db.session(write=True) as session:
                        ensure_builtin_decks(session, self.now())
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


# --- groups and the options every command takes ----------------------------------------


class Group(click.Group):
    """A group of commands that suggests the nearest name for a mistyped one, and shows its help (exit 0) alone."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not self.invoke_without_command and not ctx.resilient_parsing:
            self._help(ctx)
        rest = super().parse_args(ctx, args)
        # options but no command (`srs --db x.db`): the same (click keeps the command's name apart from ctx.args)
        if not getattr(ctx, "_protected_args", rest) and not rest and not self.invoke_without_command and not ctx.resilient_parsing:
            self._help(ctx)
        return rest

    @staticmethod
    def _help(ctx: click.Context) -> None:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit(0)  # asked for nothing: the help is the answer, not a usage error

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and not name.startswith("-") and self.get_command(ctx, name) is None and not ctx.resilient_parsing:
            import difflib

            near = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)


def _db_after_command(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """--db given after a command's name: the same as before it (where it also shows in the root's help)."""
    if value is None:
        return
    ctx.meta["srs.db_path"] = value  # for shell completion, which runs no command
    obj = ctx.find_object(Context)
    if obj is not None:
        obj.db_path = value


DB_HELP = "Database file (default: srs.db in your data folder; env SRS_DB)."


def accept_db_anywhere(command: click.Command) -> None:
    """Give *command* (and, for a group, each of its commands) the root's --db, so it may follow the command's name."""
    if not any(param.name == "db_after" for param in command.params):
        command.params.append(
            click.Option(["--db", "db_after"], type=click.Path(path_type=Path), expose_value=False,
                         callback=_db_after_command, is_eager=True, help=DB_HELP)
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_db_anywhere(sub)


def db_path_for_completion(ctx: click.Context) -> Path:
    """The database a completion reads: --db where it was typed (before or after the command), else the default."""
    raw = ctx.meta.get("srs.db_path") or ctx.find_root().params.get("db_path")
    return Path(raw) if raw else default_db_path()


# --- printing -----------------------------------------------------------------------


def say(text: object = "", err: bool = False, nl: bool = True) -> None:
    """Print a line: everything srs prints outside rich goes through ``printable`` here."""
    click.echo(printable(text), err=err, nl=nl)


def console() -> Console:
    """A rich console that shows text as written: no markup, no emoji codes, no highlighting."""
    from rich.console import Console

    return Console(highlight=False, markup=False, emoji=False)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[str, int, int], None]]:
    """A bar on a terminal (nothing elsewhere), as a callback ``(stage, done, total)``: a stage with a total shows
    how far it is, one without (total 0) a pulsing bar; each new stage starts its own bar."""
    if not sys.stdout.isatty():  # nobody to show it to (a script, a pipe): rich is not even loaded
        yield lambda stage, done, total: None
        return
    from rich.progress import Progress

    screen = console()
    with Progress(console=screen, transient=True, disable=not screen.is_terminal) as bar:
        shown, task = "", bar.add_task(label, total=None)

        def report(stage: str, done: int, total: int) -> None:
            nonlocal shown, task
            if stage != shown:  # (rich keeps a task's total once set: a new stage gets a new task)
                bar.remove_task(task)
                shown, task = stage, bar.add_task(f"{label} {stage}", total=total or None)
            bar.update(task, completed=done, total=total or None)

        yield report


def draw(view: str, data: Any) -> None:
    """Draw *data* with the ``srs.terminal`` function named *view*.

    A view returns something rich can print, or prints by itself (a long
    listing writes its lines directly) and returns None.
    """
    drawn = getattr(importlib.import_module("srs.terminal"), view)(data)
    if drawn is not None:
        console().print(drawn)


def show(data: Any, as_json: bool, view: str) -> None:
    """The one output step of a reporting command: the data as JSON, or drawn by the terminal view *view*."""
    if as_json:
        click.echo(json_text(data))
    else:
        draw(view, data)


# --- shared options -------------------------------------------------------------------


def json_option(f: F) -> F:
    """--json: machine-readable output, in the shapes the README documents."""
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output (documented in the README).")(f)


def deck_option(help_text: str = "Only this deck (and its sub-decks).") -> Callable[[F], F]:
    """--deck NAME: a deck and its sub-decks."""
    return click.option("--deck", help=help_text, shell_complete=complete_decks)


def deck_ids(session: Session, deck: str | None) -> list[DeckId] | None:
    """The ids of --deck and its sub-decks (None: every deck)."""
    return None if deck is None else deck_and_children(session, deck)


def confirm_replace(path: Path, force: bool) -> bool:
    """--force, or the user's answer on a terminal when *path* exists (a link counts: it is replaced, not followed)."""
    if force or path.is_dir() or not (path.exists() or path.is_symlink()) or not sys.stdin.isatty():
        return force
    if not click.confirm(f"{printable(path)} exists. Replace it?", default=False):
        raise SrsError(f"{path} already exists; nothing written")
    return True


def dry_run_option(f: F) -> F:
    """--dry-run: show what a command would change, and change nothing."""
    return click.option("--dry-run", is_flag=True, help="Only show what would change.")(f)


def yes_option(f: F) -> F:
    """--yes: do it without asking (needed when standard input is not a terminal)."""
    return click.option("--yes", "-y", is_flag=True, help="Do it without asking.")(f)


def agreed(question: str, yes: bool, hint: str) -> bool:
    """Whether to go ahead with a change the user should see first: --yes, or their answer on a terminal.

    Without a terminal and without --yes nothing is done: a script that
    removes or changes many cards says so with --yes.
    """
    if yes:
        return True
    if not sys.stdin.isatty():
        raise SrsError(f"{hint}; add --yes to do it without a terminal, or --dry-run to see it")
    return click.confirm(printable(question), default=False)


# --- shell completion ------------------------------------------------------------------


def _completion_rows(ctx: click.Context, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the collection, read-only, for completing a word; none if it cannot be read.

    Completion runs before any command: it never creates, upgrades or waits
    for the database, and prints nothing.
    """


    path = db_path_for_completion(ctx)
    try:
        conn = sqlite3.connect(sqlite_uri(path, read_only=True), uri=True, timeout=0.2)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError):
        return []


def complete_decks(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
    """Deck names starting with what was typed (case-insensitive)."""

    names = [row[0] for row in _completion_rows(ctx, "SELECT name FROM decks ORDER BY name")]
    return [CompletionItem(printable(n)) for n in names if n.lower().startswith(incomplete.lower())]


def complete_stories(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
    """Story ids, each with its title as the help text."""

    rows = _completion_rows(
        ctx,
        "SELECT n.id, json_extract(n.fields, '$.Title') FROM notes n JOIN stories s ON s.note_id = n.id "
        "WHERE n.orphaned = 0 ORDER BY n.id",
    )
    return [CompletionItem(str(i), help=printable(title or "")) for i, title in rows if str(i).startswith(incomplete)]


# --- the user's own text ---------------------------------------------------------------


def read_user_file(path: Path, what: str = "story") -> str:
    """A story or pitch file, read within its size limit."""
    return read_text(path, MAX_STORY_BYTES, what, StoryError)


def edit_until_valid(obj: Context, text: str, parse: Callable[[str], T], name: str) -> T:
    """Open *text* in $EDITOR until it parses; return the parsed value.

    The text lives in a draft file for the whole exchange, so neither a parse
    error, an aborted edit nor a failing editor loses what the user typed.
    On a parse error the file reopens with the error at the top.
    """
    folder = obj.database(builtin=False).path.parent / "drafts"
    folder.mkdir(parents=True, exist_ok=True)
    draft = folder / f"{name}-{obj.now():%Y%m%d-%H%M%S}.md"
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
        text = re.sub(r"\A<!-- srs: ERROR:.*?-->\n?", "", read_text(draft, MAX_STORY_BYTES, "story", StoryError), flags=re.DOTALL)
        if text == original and error is None:
            draft.unlink()
            raise NothingChanged("nothing changed, nothing saved")
        try:
            value = parse(text)
        except SrsError as exc:
            if text == previous:
                raise SrsError(f"not saved: {exc}; your text is kept in {draft}") from None
            error, previous = str(exc), text
            continue
        draft.unlink()
        return value
