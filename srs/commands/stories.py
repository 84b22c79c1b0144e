"""Your own material: `srs story ...`, `srs pitch` and `srs coverage`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from srs.commands.common import (
    Context,
    Group,
    agreed,
    complete_stories,
    draw,
    dry_run_option,
    edit_until_valid,
    json_option,
    read_user_file,
    say,
    show,
    yes_option,
)
from srs.errors import StoryError
from srs.files import read_text
from srs.lint import lint_story
from srs.pitch import get_pitch, parse_pitch, render_pitch, save_pitch
from srs.stories import (
    coverage as get_coverage,
)
from srs.stories import (
    decks_asking,
    get_story,
    import_brag,
    link_story,
    lint_stories,
    list_stories,
    plan_brag,
    remove_story,
    removed_story_like,
    save_story,
    spec_of,
    stories_named,
    story_card_count,
    story_link_count,
    unlink_story,
)
from srs.story_format import (
    MAX_BRAG_BYTES,
    StorySpec,
    blank_story,
    parse_story,
    render_story,
)


def _show_lint(spec: StorySpec, wpm: int = 150) -> None:
    draw("findings_text", lint_story(spec, wpm))


@click.group(cls=Group)
def story() -> None:
    """Your own STAR/CARL stories, reviewed like everything else."""


@story.command("add")
@click.option("--file", "path", type=click.Path(path_type=Path), help="Read the story from a file instead of the editor.")
@click.pass_obj
def story_add(obj: Context, path: Path | None) -> None:
    """Write a new story (opens $EDITOR on a template).

    Example: srs story add --file launch.md
    """
    db = obj.database()
    spec = parse_story(read_user_file(path)) if path else edit_until_valid(obj, render_story(blank_story()), parse_story, "story")
    with db.session(write=True) as session:
        returning = removed_story_like(session, spec)
        story_id = save_story(session, spec, obj.now()).id
        links = story_link_count(session, story_id) if returning is not None else 0
    if returning is not None:
        say(f"Story {story_id} is back: {spec.title} (removed earlier; its cards keep their progress"
            + (f", and its {links} link{'s' if links != 1 else ''} to questions" if links else "") + ")")
    else:
        say(f"Added story {story_id}: {spec.title}")
    _show_lint(spec)


@story.command("edit")
@click.argument("story_id", type=int, shell_complete=complete_stories)
@click.option("--file", "path", type=click.Path(path_type=Path), help="Replace the story with this file.")
@click.pass_obj
def story_edit(obj: Context, story_id: int, path: Path | None) -> None:
    """Edit a story; its cards keep their progress.

    Example: srs story edit 12
    """
    db = obj.database()
    with db.session() as session:
        note, row = get_story(session, story_id)
        current = render_story(spec_of(note, row))
    spec = parse_story(read_user_file(path)) if path else edit_until_valid(obj, current, parse_story, f"story-{story_id}")
    with db.session(write=True) as session:
        save_story(session, spec, obj.now(), story_id)
    say(f"Saved story {story_id}: {spec.title}")
    _show_lint(spec)


@story.command("show")
@click.argument("story_id", type=int, shell_complete=complete_stories)
@click.pass_obj
def story_show(obj: Context, story_id: int) -> None:
    """Print a story as Markdown, in the format `story add --file` reads.

    Example: srs story show 12
    """
    with obj.database().session() as session:
        note, row = get_story(session, story_id)
        say(render_story(spec_of(note, row)), nl=False)


@story.command("list")
@click.option("--rank", is_flag=True, help="Order by impact + scope + involvement, best first.")
@json_option
@click.pass_obj
def story_list(obj: Context, rank: bool, as_json: bool) -> None:
    """List your stories.

    Example: srs story list --rank
    """
    with obj.database().session() as session:
        rows = list_stories(session, obj.now(), rank)
    if not rows and not as_json:
        say("No stories yet: `srs story add` writes one, `srs story import BRAG.md` drafts them from a brag document.")
        return
    show(rows, as_json, "story_listing")


@story.command("rm")
@click.argument("story_ids", type=int, nargs=-1, required=True, shell_complete=complete_stories)
@click.option("--purge", is_flag=True, help="Also delete their cards and review history.")
@yes_option
@dry_run_option
@click.pass_obj
def story_rm(obj: Context, story_ids: tuple[int, ...], purge: bool, yes: bool, dry_run: bool) -> None:
    """Remove stories (their review history is kept unless --purge).

    Example: srs story rm 12 13 14
    """
    ids = list(dict.fromkeys(story_ids))
    with obj.database().session(write=not dry_run) as session:
        titles = stories_named(session, ids)  # every id checked before anything changes
        cards = sum(story_card_count(session, story_id) for story_id in ids)
        what = f"{len(ids)} stor{'ies' if len(ids) != 1 else 'y'} and {cards} card{'s' if cards != 1 else ''}"
        say(f"Remove {what}" + (" (dry run: nothing changes):" if dry_run else ":"))
        for story_id, title in titles.items():
            say(f"  story {story_id}: {title}")
        if dry_run:
            return
        if not agreed(f"Remove {what}" + (" and their review history?" if purge else "?"), yes, f"this would remove {what}"):
            session.rollback()
            say("Nothing changed.")
            return
        for story_id in ids:
            remove_story(session, story_id, obj.now(), purge)
    removed = ", ".join(str(i) for i in ids)
    say(f"Removed stor{'ies' if len(ids) != 1 else 'y'} {removed}" + (" and their review history." if purge else " (review history kept)."))


@story.command("link")
@click.argument("story_id", type=int, shell_complete=complete_stories)
@click.argument("question")
@click.pass_obj
def story_link(obj: Context, story_id: int, question: str) -> None:
    """Link a story to a question (by id or words of the question).

    Example: srs story link 12 "conflict you resolved"
    """
    with obj.database().session(write=True) as session:
        questions = link_story(session, story_id, question, obj.now())
        ids = ", ".join(str(q.id) for q in questions)
        say(f"Linked story {story_id} to question{'s' if len(questions) > 1 else ''} {ids} "
            f"({decks_asking(questions)}): {questions[0].fields.get('Question', '')}")


@story.command("unlink")
@click.argument("story_id", type=int, shell_complete=complete_stories)
@click.argument("question")
@click.pass_obj
def story_unlink(obj: Context, story_id: int, question: str) -> None:
    """Remove a story's link to a question.

    Example: srs story unlink 12 34
    """
    with obj.database().session(write=True) as session:
        questions = unlink_story(session, story_id, question)
        ids = ", ".join(str(q.id) for q in questions)
        say(f"Unlinked story {story_id} from question{'s' if len(questions) > 1 else ''} {ids} ({decks_asking(questions)})")


@story.command("lint")
@click.argument("story_id", type=int, required=False, shell_complete=complete_stories)
@click.option("--wpm", type=click.IntRange(min=60, max=300), default=150, show_default=True, help="Speaking rate for the length check.")
@json_option
@click.pass_obj
def story_lint(obj: Context, story_id: int | None, wpm: int, as_json: bool) -> None:
    """Check stories against the common mistakes (offline).

    Example: srs story lint 12 --wpm 140
    """
    with obj.database().session() as session:
        report = lint_stories(session, story_id, wpm)
    if not report and not as_json:
        say("No stories yet.")
        return
    show(report, as_json, "lint_report")


@story.command("import")
@click.argument("brag", type=click.Path(path_type=Path))
@dry_run_option
@click.pass_obj
def story_import(obj: Context, brag: Path, dry_run: bool) -> None:
    """Draft stories from a brag document or journal.

    Each heading or top-level bullet becomes a draft story with its sections
    marked TODO; the original text is kept in its Notes. --dry-run lists the
    drafts it would add.

    Example: srs story import brag.md --dry-run
    """
    text = read_text(brag, MAX_BRAG_BYTES, "brag document", StoryError)
    if dry_run:
        with obj.database().session() as session:
            titles, skipped = plan_brag(session, text)
        for title in titles:
            say(f"  {title}")
        say(f"Would add {len(titles)} draft stories; {skipped} already in the bank (dry run: nothing changed).")
        return
    with obj.database().session(write=True) as session:
        created, skipped = import_brag(session, text, obj.now())
        for note in created:
            say(f"  {note.id}: {note.fields.get('Title', '')}")
    say(f"{len(created)} draft stories added, {skipped} already in the bank. Fill them in with `srs story edit ID`.")


@click.group(cls=Group, invoke_without_command=True, short_help='Your "Tell me about yourself" pitch.')
@click.pass_context
def pitch(ctx: click.Context) -> None:
    """Your "Tell me about yourself" pitch (shows it; `edit` changes it)."""
    if ctx.invoked_subcommand is None:
        with ctx.obj.database().session() as session:
            note = get_pitch(session)
            if note is None:
                say("No pitch yet: `srs pitch edit` writes one.")
                return
            say(render_pitch(note.fields), nl=False)


@pitch.command("edit")
@click.option("--file", "path", type=click.Path(path_type=Path), help="Read the pitch from a file.")
@click.pass_obj
def pitch_edit(obj: Context, path: Path | None) -> None:
    """Write or change your pitch (opens $EDITOR).

    Example: srs pitch edit
    """
    db = obj.database()
    with db.session() as session:
        note = get_pitch(session)
        current = render_pitch(note.fields if note else None)
    value = parse_pitch(read_user_file(path, "pitch")) if path else edit_until_valid(obj, current, parse_pitch, "pitch")
    with db.session(write=True) as session:
        save_pitch(session, value, obj.now())
    say("Saved your pitch.")


@click.command(short_help="Which competencies your stories cover.")
@json_option
@click.pass_obj
def coverage(obj: Context, as_json: bool) -> None:
    """Which competencies your stories cover, and how well you recall them.

    Example: srs coverage
    """
    with obj.database().session() as session:
        data: dict[str, Any] = get_coverage(session, obj.now())
    show(data, as_json, "coverage_view")
