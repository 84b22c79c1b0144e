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

from srs.errors import SrsError

if TYPE_CHECKING:
    from srs.db import Database


class SrsGroup(click.Group):
    """Turns the project's errors (and database failures) into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SrsError as exc:
            raise click.ClickException(str(exc)) from None
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                orig = getattr(exc, "orig", None)
                raise click.ClickException(f"database error: {orig or exc}") from None
            if isinstance(exc, OSError):
                raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
            raise


class Context:
    """What every command needs: where the database is, and what time it is."""

    def __init__(self, db_path: Path | None, now: datetime | None) -> None:
        self.db_path = db_path
        self._now = now
        self._db: Database | None = None

    def now(self) -> datetime:
        return self._now or datetime.now(timezone.utc)

    def database(self, builtin: bool = True) -> Database:
        """Open the collection; build the built-in decks on first use."""
        if self._db is None:
            from srs.db import open_database
            from srs.decks import builtin_decks_stale, ensure_builtin_decks

            self._db = open_database(self.db_path)
            if builtin:
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
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SRS_DB",
    help="Database file (default: srs.db in your data folder; env SRS_DB).",
)
@click.option("--now", callback=_parse_now, hidden=True, help="Pretend it is this UTC time (tests, benchmarks).")
@click.version_option(package_name="srs")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None, now: datetime | None) -> None:
    """Spaced repetition for behavioral-interview preparation.

    Start with `srs review`: the built-in decks are ready on first use.
    """
    obj = Context(db_path, now)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def _json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _deck_ids(session: Any, deck: str | None) -> list[int] | None:
    if deck is None:
        return None
    from srs.decks import deck_and_children

    return deck_and_children(session, deck)


def _read_key() -> str:
    """One key press; from a pipe, one character (so sessions can be scripted)."""
    if sys.stdin.isatty():
        return click.getchar()
    return sys.stdin.read(1)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


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

    db = obj.database()
    console = _console()
    with db.session(write=False) as session:
        deck_ids = _deck_ids(session, deck)
        limits = Limits.from_settings(session, new_limit, review_limit)
        study = ReviewSession(session, limits, deck_ids)
        fixed = obj._now
        clock = (lambda: fixed) if fixed is not None else (lambda: datetime.now(timezone.utc))
        run_review(
            study,
            console,
            _read_key,
            clock,
            deck_label=deck or "All decks",
            live_timer=console.is_terminal,
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
        body = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows)
        click.echo("[\n" + body + "\n]" if rows else "[]")
        return
    from srs.terminal import cards_table

    _console().print(cards_table(rows))


@cli.group(cls=SrsGroup)
def deck() -> None:
    """Build and list decks."""


@deck.command("build")
@click.argument("guide", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--deck", "deck_name", help="Deck to build into (default: the guide's title).")
@click.pass_obj
def deck_build(obj: Context, guide: Path, deck_name: str | None) -> None:
    """Turn a Markdown interview guide into cards, or update them.

    Rebuilding after the guide changes updates text in place and keeps
    progress; items removed from the guide are suspended, not deleted.

    Example: srs deck build guide.md --deck "Interview::My guide"
    """
    from srs.decks import build_from_file

    if not guide.exists():
        raise SrsError(f"no such guide: {guide}")
    db = obj.database()
    with db.session(write=True) as session:
        result = build_from_file(session, guide, deck_name, obj.now())
        session.commit()
    click.echo(
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
            click.echo(values[name])
            return
        for name, current in values.items():
            click.echo(f"{name} = {current}")
        return
    assert key is not None
    with db.session(write=True) as session:
        stored = update_setting(session, key, value)
        session.commit()
    click.echo(f"{key.replace('-', '_')} = {stored}")


def main() -> NoReturn:
    cli.main(prog_name="srs")
    sys.exit(0)  # cli.main exits itself; this line only satisfies the type
