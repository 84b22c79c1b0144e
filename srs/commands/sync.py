"""`srs sync`: one history in the terminal and on the phone, through a self-hosted Anki sync server."""

from __future__ import annotations

import os
import sys

import click

from srs.commands.common import Context, Group, agreed, json_option, progress_bar, say, show
from srs.errors import SrsError
from srs.sync import (
    LEFT_OUT_BECAUSE,
    check_anki_available,
    login,
    logout,
    run_sync,
    sync_status,
)


# What a Ctrl-C during a sync leaves: srs's database changes in one transaction at the end, so it is as it was; what
# the interrupted sync sent or put in the replica is picked up by the next one
INTERRUPTED = "interrupted: srs's collection is as it was before this sync; run srs sync again to finish it"


@click.group(cls=Group, invoke_without_command=True, short_help="Sync with your Anki sync server.")
@click.option("--upload", is_flag=True, help="Replace the server's collection with srs's (asks first).")
@click.option("--download", is_flag=True, help="Replace srs's synced notes with the server's (asks first).")
@click.option("--yes", "-y", is_flag=True, help="Do --upload or --download without asking.")
@click.pass_context
def sync(ctx: click.Context, upload: bool, download: bool, yes: bool) -> None:
    """Sync with an Anki sync server: answers from every device, one history.

    Log in once with `srs sync login --endpoint URL`; then `srs sync` sends
    what you did in srs and brings what you did on AnkiDroid, AnkiMobile or
    Anki desktop. A first sync uploads to an empty server, or merges with the
    collection the server holds; nothing is overwritten unless you ask with
    --upload or --download.

    Example: srs sync
    """
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    if upload and download:
        raise click.UsageError("--upload and --download pull in opposite directions; give one")
    check_anki_available()
    force = "upload" if upload else "download" if download else None
    if force == "upload" and not agreed("Replace the collection on the server with srs's? Other devices will have to download it.", yes,
                                        "--upload replaces the server's collection"):
        say("Nothing changed.")
        return
    if force == "download" and not agreed("Replace srs's synced notes with the server's? Notes only srs has are removed (answers kept).", yes,
                                          "--download replaces srs's notes with the server's"):
        say("Nothing changed.")
        return
    db = obj.database()
    # a bar on a terminal: the transfer's bytes on a full sync, the notes and answers merged
    try:
        with progress_bar("Syncing:") as progress, db.session(write=True) as session:
            summary = run_sync(session, db.path, obj.now(), force, progress)
    except KeyboardInterrupt:  # (out of the session: its transaction was rolled back)
        raise SrsError(INTERRUPTED) from None
    say(summary.line())
    if summary.replica_set_aside is not None:
        say(f"The sync replica could not be opened (damaged); it was moved to {summary.replica_set_aside} and this sync merged "
            "with the server as a first sync does: nothing is lost, but notes removed here since the last sync came back from the server.")
    for draft in summary.conflicts:
        say(f"A note was edited here and on another device: the newer edit won; the other text is kept in {draft}")
    for reason, count in sorted(summary.notes_left_out.items()):
        say(f"{count} note(s) on the server were left out of srs: {LEFT_OUT_BECAUSE[reason]}")


@sync.command("login", short_help="Log in to a sync server (key kept, not password).")
@click.option("--endpoint", required=True, metavar="URL", help="Your sync server, e.g. http://192.168.1.5:8080/")
@click.option("--user", "username", metavar="NAME", help="The user name (asked if not given).")
@click.pass_obj
def sync_login(obj: Context, endpoint: str, username: str | None) -> None:
    """Log in to a sync server; srs keeps the server's key, never your password.

    The password comes from SRS_SYNC_PASSWORD or a prompt.

    Example: srs sync login --endpoint http://127.0.0.1:8080/ --user me
    """
    check_anki_available()
    name = username or click.prompt("User")
    password = os.environ.get("SRS_SYNC_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException("no password: set SRS_SYNC_PASSWORD, or run srs sync login on a terminal")
        password = click.prompt("Password", hide_input=True)
    db = obj.database(builtin=False)
    done = login(db.path, endpoint, name, password)
    say(f"Logged in to {done.endpoint} as {done.username}. Run srs sync to sync.")


@sync.command("logout")
@click.pass_obj
def sync_logout(obj: Context) -> None:
    """Forget the server's key.

    Example: srs sync logout
    """
    db = obj.database(builtin=False)
    say("Logged out." if logout(db.path) else "Not logged in.")


@sync.command("status")
@json_option
@click.pass_obj
def sync_status_command(obj: Context, as_json: bool) -> None:
    """Where srs syncs to, when it last did, and what it has to send.

    Example: srs sync status --json
    """
    db = obj.database(builtin=False)
    with db.session() as session:
        data = sync_status(session, db.path)
    show(data, as_json, "sync_view")
