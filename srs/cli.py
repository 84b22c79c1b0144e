"""The ``srs`` command line: the root group, where each command lives, and the one place errors become messages.

Each command is a thin function in ``srs.commands`` (parse options, call the
core, print), loaded only when it runs, so `srs status` never pays for the
Anki exchange or the story editor. Errors raised by the core (``SrsError``),
database failures and OS errors become a one-line message and exit status 1
here, in ``SrsGroup.invoke``; click's own usage errors keep status 2.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import io
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from srs.commands.common import DB_HELP, Context, Group, accept_db_anywhere
from srs.errors import SrsError
from srs.sanitize import printable

# Every command, by name: the module that defines it and the name it has there.
COMMANDS = {
    "review": ("srs.commands.study", "review"),
    "mock": ("srs.commands.study", "mock"),
    "status": ("srs.commands.browse", "status"),
    "cards": ("srs.commands.browse", "cards"),
    "card": ("srs.commands.cards", "card"),
    "deck": ("srs.commands.decks", "deck"),
    "config": ("srs.commands.config", "config"),
    "export": ("srs.commands.exchange", "export"),
    "import": ("srs.commands.exchange", "import_"),
    "stats": ("srs.commands.progress", "stats"),
    "plan": ("srs.commands.progress", "plan"),
    "optimize": ("srs.commands.progress", "optimize"),
    "eval": ("srs.commands.progress", "eval_"),
    "story": ("srs.commands.stories", "story"),
    "pitch": ("srs.commands.stories", "pitch"),
    "coverage": ("srs.commands.stories", "coverage"),
    "completion": ("srs.commands.shell", "completion"),
    "sync": ("srs.commands.sync", "sync"),
}


class SrsGroup(Group):
    """The root group: loads a command's module when it runs, and turns errors into one-line messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        accept_db_anywhere(command)
        _end_startup()
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SrsError as exc:
            raise click.ClickException(printable(str(exc))) from None
        except click.exceptions.Exit:
            raise
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            raise click.ClickException(printable(f"database error: {orig or exc}")) from None
        except OSError as exc:
            raise click.ClickException(printable(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))) from None


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
    help=DB_HELP,
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


# Whether the process started with the cyclic collector paused (srs.__main__), to resume once the command is loaded.
_startup = {"paused": False}


def _end_startup() -> None:
    """Resume the collector paused for start-up, with what start-up loaded set apart from its passes (it lives on anyway)."""
    if _startup["paused"]:
        _startup["paused"] = False
        gc.freeze()
        gc.enable()


def main(startup_paused: bool = False) -> NoReturn:
    """The `srs` command: click's own errors (a mistyped command, a bad option) are shown through ``printable`` too.

    *startup_paused*: the caller paused the cyclic collector for start-up (srs.__main__); it resumes once the
    command's module is loaded.
    """
    _startup["paused"] = startup_paused
    try:
        code = cli.main(prog_name="srs", standalone_mode=False)
    except click.ClickException as exc:
        _show(exc)
        _leave(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        _leave(1)
    _leave(code if isinstance(code, int) else 0)


def _show(exc: click.ClickException) -> None:
    """Show click's message (a usage error with its usage lines) through ``printable``: it may quote what was typed.

    (The message itself is not rewritten: click 8.2+ declares ``ClickException.message`` final.)
    """
    text = io.StringIO()
    exc.show(file=text)
    sys.stderr.write(printable(text.getvalue()))
    sys.stderr.flush()


def _leave(code: int) -> NoReturn:
    """End the process once the command is done, without the interpreter's teardown.

    By now the command has committed and closed its database (and the sync
    its Anki collection). What Python would still do is tear down every
    module and collect the objects they hold: about a tenth of a second with
    SQLAlchemy loaded (a fifth of `srs status`), and more with the anki
    library. The output is flushed and the exit handlers run first, as at a
    normal exit. Under a profiler or tracer, or with a thread still running,
    the process ends the usual way.
    """
    if sys.getprofile() is not None or sys.gettrace() is not None or threading.active_count() > 1:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader has gone (a closed pipe): nothing more can be said
            pass
    atexit._run_exitfuncs()
    os._exit(code)
