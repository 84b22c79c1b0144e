"""The story bank: template round trip, cards that keep progress, links, coverage, brag import."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from srs.cli import cli
from srs.db import open_database
from srs.errors import StoryError
from srs.models import Card, Review
from srs.story_format import StorySpec, parse_brag, parse_story, render_story
from srs.templates import BEATS, LEARNING, NUMBERS, beats, numbers, story_card_content

from .conftest import write

NOW = "2026-11-25T08:00:00"
FAKE_EDITOR = Path(__file__).with_name("fake_editor.py")

STORY = """\
---
title: Cut ranking latency by 40%
date: 2025-03
competencies: impact, Initiative & problem-solving
impact: 4
scope: 3
involvement: 5
tags: ranking, latency
---

## Situation
Our feed ranking model served 30M requests a day and p99 latency had reached 180 ms.

## Task
I owned the serving path and had to get p99 under 120 ms without losing quality.

## Action
I profiled the service and found feature fetching took 60% of the time. I batched the feature
store calls and distilled the model into a smaller student, then ran a two-week A/B test.

## Result
p99 latency dropped from 180 ms to 105 ms with no loss in engagement. The on-call team was relieved.

## Learning
Profile before optimising: the model was not the bottleneck.
"""

CARL = """\
---
title: Fixed a flaky training pipeline
competencies: failure
---
## Context
Nightly retraining failed one night in five and nobody owned it.

## Action
I traced the failures to a race in our data loader and rewrote the checkpoint logic.

## Result
Failures went from 20% of nights to zero over the next quarter.
"""


def run(tmp_path: Path, *args: str, input: str | None = None, editor: Path | None = None, now: str = NOW) -> Result:
    env = {"COLUMNS": "200"}
    if editor is not None:
        env["EDITOR"] = f"{sys.executable} {FAKE_EDITOR}"
        env["VISUAL"] = ""
        env["FAKE_EDITOR_QUEUE"] = str(editor)
    runner = CliRunner(env=env)
    return runner.invoke(cli, ["--db", str(tmp_path / "s.db"), "--now", now, "--keys-from-stdin", *args], input=input, catch_exceptions=False)


def queue(tmp_path: Path, *entries: tuple[str, str]) -> Path:
    """An editor queue: each entry is (suffix, text) for one editor run."""
    folder = tmp_path / "editor"
    folder.mkdir(exist_ok=True)
    for index, (suffix, text) in enumerate(entries):
        (folder / f"{index:03d}{suffix}").write_text(text)
    return folder


def story_ids(tmp_path: Path) -> list[int]:
    return [r["id"] for r in json.loads(run(tmp_path, "story", "list", "--json").output)]


# --- format -------------------------------------------------------------------------


def test_template_round_trip() -> None:
    """Rendering a parsed story and parsing it again gives the same story."""
    spec = parse_story(STORY)
    assert spec.title == "Cut ranking latency by 40%"
    assert spec.competencies == ["impact", "initiative"]
    assert (spec.impact, spec.scope, spec.involvement, spec.date) == (4, 3, 5, "2025-03")
    assert spec.tags == ["ranking", "latency"]
    assert spec.framework == "STAR"
    again = parse_story(render_story(spec))
    assert again == spec


def test_carl_story() -> None:
    """A Context section makes a CARL story; Learning may be absent."""
    spec = parse_story(CARL)
    assert spec.framework == "CARL" and "Learning" not in spec.sections
    assert parse_story(render_story(spec)) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## Situation\nx\n", "starts with front matter"),
        ("---\ntitle: x\n", "front matter is not closed"),
        ("---\ntitle: [unclosed\n---\n## Action\nx\n", "front matter"),
        ("---\ncompetencies: impact\n---\n", "title is missing"),
        ("---\ntitle: x\ncolour: red\n---\n", "unknown key 'colour'"),
        ("---\ntitle: x\nimpact: 9\n---\n", "impact must be a whole number from 1 to 5"),
        ("---\ntitle: x\ncompetencies: conflcit\n---\n", "unknown competency 'conflcit'; did you mean 'conflict'?"),
        ("---\ntitle: x\n---\n## Situation\na\n## Task\nb\n## Action\n\n## Result\nd\n", "section Action is empty"),
        ("---\ntitle: x\n---\n## Situation\na\n## Task\nb\n## Result\nd\n", "section Action is missing"),
        ("---\ntitle: x\n---\n## Situation\na\n## Plot\nb\n", "unknown section 'Plot'"),
        ("---\ntitle: x\n---\n## Context\na\n## Situation\nb\n## Action\nc\n## Result\nd\n", "either Context"),
    ],
)
def test_bad_story_files(text: str, message: str) -> None:
    """Malformed stories raise StoryError with a precise message."""
    with pytest.raises(StoryError, match=message.replace("[", r"\[").replace("?", r"\?")):
        parse_story(text)


def test_cards_from_story_content() -> None:
    """Beats, numbers and learning cards exist only when the story has that content."""
    fields = {"Situation": "A. More.", "Task": "B.", "Action": "I did C. Then D.", "Result": "It was nice. Cost fell 20%.", "Learning": "E."}
    content = story_card_content(fields)
    assert content[BEATS] == "S: A → T: B → A: I did C → R: It was nice"
    assert content[NUMBERS] == "Cost fell 20%."
    assert content[LEARNING] == "E."
    assert set(story_card_content({**fields, "Result": "It was nice.", "Learning": ""})) == {BEATS}
    assert beats({"Context": "X happened.", "Action": "I fixed it.", "Result": "Done."}) == "C: X happened → A: I fixed it → R: Done"
    assert numbers({"Result": "TODO"}) == ""


# --- CLI workflow -------------------------------------------------------------------------


def test_add_from_file_creates_three_cards_and_lints(tmp_path: Path) -> None:
    """story add --file stores the story, makes its cards and prints the lint."""
    result = run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Added story ") and lines[0].endswith(": Cut ranking latency by 40%")
    assert lines[1] == "Lint: no findings."
    (sid,) = story_ids(tmp_path)
    cards = json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)
    assert [c["kind"] for c in cards] == ["story"] * 3
    shown = run(tmp_path, "story", "show", str(sid)).output
    assert parse_story(shown) == parse_story(STORY)


def test_add_through_editor(tmp_path: Path) -> None:
    """story add opens $EDITOR on the template and saves what was written."""
    editor = queue(tmp_path, (".md", STORY))
    result = run(tmp_path, "story", "add", editor=editor)
    assert result.exit_code == 0, result.output
    seen = (editor / "seen-000.md").read_text()
    assert seen.startswith("---\ntitle: \n") and "## Situation" in seen and "## Learning" in seen
    assert len(story_ids(tmp_path)) == 1
    assert not any((tmp_path / "drafts").iterdir())  # the draft is cleaned up


def test_parse_error_reopens_editor_with_error_on_top(tmp_path: Path) -> None:
    """A story that fails to parse comes back with the error at the top and the text intact."""
    broken = STORY.replace("competencies: impact,", "competencies: impakt,")
    editor = queue(tmp_path, (".md", broken), (".md", STORY))
    result = run(tmp_path, "story", "add", editor=editor)
    assert result.exit_code == 0, result.output
    second = (editor / "seen-001.md").read_text()
    assert second.startswith("<!-- srs: ERROR: unknown competency 'impakt'; did you mean 'impact'?")
    assert "impakt" in second.split("-->", 1)[1]  # what the user typed is still there
    assert len(story_ids(tmp_path)) == 1


def test_giving_up_keeps_the_draft(tmp_path: Path) -> None:
    """Saving an unchanged broken file gives up without saving, and keeps the text in a draft."""
    broken = STORY.replace("impact: 4", "impact: 11")
    editor = queue(tmp_path, (".md", broken), (".same", ""))
    result = run(tmp_path, "story", "add", editor=editor)
    assert result.exit_code == 1
    assert result.output.startswith("Error: not saved: front matter: impact must be a whole number from 1 to 5, got 11; your text is kept in ")
    draft = Path(result.output.rsplit(" ", 1)[1].strip())
    assert "impact: 11" in draft.read_text()
    assert story_ids(tmp_path) == []


def test_failing_editor(tmp_path: Path) -> None:
    """An editor that exits non-zero: one line, nothing saved, the text kept."""
    editor = queue(tmp_path, (".fail", ""))
    result = run(tmp_path, "story", "add", editor=editor)
    assert result.exit_code == 1
    assert "Editing failed; your text is kept in" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert story_ids(tmp_path) == []


def test_unchanged_template_saves_nothing(tmp_path: Path) -> None:
    """Closing the editor without writing anything adds no story."""
    result = run(tmp_path, "story", "add", editor=queue(tmp_path, (".same", "")))
    assert (result.exit_code, result.output) == (1, "Error: nothing changed, nothing saved\n")


def test_edit_keeps_review_progress(tmp_path: Path) -> None:
    """Editing a story updates its cards in place: same ids, same state, same reviews."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    for day in (25, 26, 27):  # siblings: one card of the story per day
        run(tmp_path, "review", "--deck", "Interview::Stories", input=" 4q", now=f"2026-11-{day}T08:00:00")
    before = json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)
    assert [c["state"] for c in before] == ["review"] * 3
    edited = STORY.replace("105 ms", "98 ms").replace("Profile before optimising", "Always profile first")
    editor = queue(tmp_path, (".md", edited))
    result = run(tmp_path, "story", "edit", str(sid), editor=editor)
    assert result.exit_code == 0, result.output
    after = json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)
    assert [(c["id"], c["state"], c["stability"], c["reps"]) for c in after] == [
        (c["id"], c["state"], c["stability"], c["reps"]) for c in before
    ]
    assert "98 ms" in run(tmp_path, "story", "show", str(sid)).output
    # dropping the Learning section suspends that card, putting it back resumes it
    run(tmp_path, "story", "edit", str(sid), "--file", str(write(tmp_path / "e.md", STORY.split("## Learning")[0])))
    suspended = {c["id"]: c["suspended"] for c in json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)}
    assert sorted(suspended.values()) == [False, False, True]
    run(tmp_path, "story", "edit", str(sid), "--file", str(tmp_path / "s.md"))
    resumed = json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)
    assert [c["suspended"] for c in resumed] == [False] * 3 and [c["reps"] for c in resumed] == [1, 1, 1]


def test_link_shows_beats_on_question_back(tmp_path: Path) -> None:
    """A linked story's beats appear on the question's answer side during review."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    result = run(tmp_path, "story", "link", str(sid), "biggest business impact")
    assert result.output == (
        f"Linked story {sid} to question 30 (deck Interview::Behavioral questions): "
        "Tell me about the project with the biggest business impact you have had.\n"
    )
    db = open_database(tmp_path / "s.db")
    with db.session() as session:
        from srs.models import Note
        from srs.review import linked_for
        from srs.templates import card_sides

        question = session.get(Note, 30)
        back = card_sides(question, 0, linked_for(session, question)).back
        other = session.get(Note, 31)
        other_back = card_sides(other, 0, linked_for(session, other)).back
    db.close()
    assert "Your story — Cut ranking latency by 40%:" in back
    assert "R: p99 latency dropped from 180 ms to 105 ms with no loss in engagement" in back
    assert "No story linked yet" in other_back


def _question_card(tmp_path: Path, note_id: int) -> int:
    cards = json.loads(run(tmp_path, "cards", "--search", "kind:question", "--json").output)
    return next(c["id"] for c in cards if c["note_id"] == note_id)


def test_card_show_shows_the_linked_story_as_review_does(tmp_path: Path) -> None:
    """`srs card show` (text and --json) puts a linked story's beats on a question's back, not "No story linked yet"."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    card_id = _question_card(tmp_path, 30)
    assert "No story linked yet" in json.loads(run(tmp_path, "card", "show", str(card_id), "--json").output)["back"]
    run(tmp_path, "story", "link", str(sid), "30")
    data = json.loads(run(tmp_path, "card", "show", str(card_id), "--json").output)
    assert "Your story — Cut ranking latency by 40%:" in data["back"] and "No story linked yet" not in data["back"]
    text = run(tmp_path, "card", "show", str(card_id)).output
    assert "Your story — Cut ranking latency by 40%:" in text and "No story linked yet" not in text


def test_one_link_reaches_a_question_asked_in_two_decks(tmp_path: Path) -> None:
    """A guide deck that asks a built-in question again: words that match both link the story to both, and the
    message names the decks; an id links its twins too; unlinking takes both away."""
    guide = write(tmp_path / "g.md", "# Mine\n## Conflict\n- Tell me about a conflict you resolved.\n")
    assert run(tmp_path, "deck", "build", str(guide)).exit_code == 0
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    questions = [c for c in json.loads(run(tmp_path, "cards", "--search", "kind:question", "--json").output)
                 if c["front"] == "Tell me about a conflict you resolved."]
    assert sorted(c["deck"] for c in questions) == ["Interview::Behavioral questions", "Mine"]
    first, second = sorted(c["note_id"] for c in questions)
    linked = run(tmp_path, "story", "link", str(sid), "conflict you resolved")
    assert linked.output == (
        f"Linked story {sid} to questions {first}, {second} (2 decks: Interview::Behavioral questions, Mine): "
        "Tell me about a conflict you resolved.\n"
    )
    for card in questions:
        assert "Your story — Cut ranking latency by 40%:" in json.loads(run(tmp_path, "card", "show", str(card["id"]), "--json").output)["back"]
    assert run(tmp_path, "story", "unlink", str(sid), str(second)).output == (
        f"Unlinked story {sid} from questions {second}, {first} (2 decks: Mine, Interview::Behavioral questions)\n"
    )
    assert run(tmp_path, "story", "link", str(sid), str(second)).output.startswith(f"Linked story {sid} to questions {second}, {first} ")


def test_link_errors(tmp_path: Path) -> None:
    """Unknown stories and ambiguous or unknown questions are one-line errors."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    assert run(tmp_path, "story", "link", "9999", "conflict").output == "Error: no story with id 9999 (see `srs story list`)\n"
    ambiguous = run(tmp_path, "story", "link", str(sid), "disagree")
    assert ambiguous.exit_code == 1 and "2 questions match 'disagree', give an id: question " in ambiguous.output
    assert " in Interview::Behavioral questions: " in ambiguous.output
    assert run(tmp_path, "story", "link", str(sid), "zebra husbandry").output == "Error: no question matches 'zebra husbandry'\n"


def test_e_key_opens_story_in_review(tmp_path: Path) -> None:
    """Pressing e on a story card opens that story in the editor; the edit is saved."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    edited = STORY.replace("Cut ranking latency by 40%", "Cut ranking latency by 42%").replace("I profiled", "We profiled").replace("I batched", "we batched")
    editor = queue(tmp_path, (".md", edited))
    result = run(tmp_path, "review", "--deck", "Interview::Stories", input="eq", editor=editor)
    assert result.exit_code == 0, result.output
    assert (editor / "seen-000.md").read_text().startswith("---\ntitle: Cut ranking latency by 40%\n")
    assert "Story: Cut ranking latency by 42%" in result.output
    # the saved story's lint, as `srs story edit` shows it
    assert f"Saved story {sid}.\nLint: 1 finding(s)\n  ownership [Action] 'I' 0 time(s) against 'we' 2:" in result.output
    assert "title: Cut ranking latency by 42%\n" in run(tmp_path, "story", "show", str(sid)).output


def test_e_key_never_ends_the_session(tmp_path: Path) -> None:
    """An edit that changes nothing, or text that will not parse, is a notice; the card comes back and can be rated."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    broken = STORY.replace("## Action", "## Acton")
    editor = queue(tmp_path, (".same", ""), (".md", broken), (".md", broken))
    result = run(tmp_path, "review", "--deck", "Interview::Stories", input="e" + "e" + " 4q", editor=editor)
    assert result.exit_code == 0, result.output
    assert "nothing changed, nothing saved (back to the card)" in result.output
    kept = re.search(r"not saved: line \d+: unknown section 'Acton' .*; your text is kept in\s+(\S+)\s+\(back to the card\)", result.output)
    assert kept is not None, result.output
    assert "## Acton" in Path(kept.group(1)).read_text()
    assert "Reviewed 1 card(s)" in result.output
    db = open_database(tmp_path / "s.db")
    with db.session() as session:
        assert session.scalar(select(func.count(Review.id))) == 1
    db.close()


def test_rm_keeps_history_unless_purged(tmp_path: Path) -> None:
    """rm hides the story and suspends its cards; --purge deletes cards and reviews too."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    run(tmp_path, "review", "--deck", "Interview::Stories", input=" 4q")
    assert run(tmp_path, "story", "rm", str(sid)).output == (
        f"Remove 1 story and 3 cards:\n  story {sid}: Cut ranking latency by 40%\n"
        "Error: this would remove 1 story and 3 cards; add --yes to do it without a terminal, or --dry-run to see it\n"
    )
    assert story_ids(tmp_path) == [sid]  # without a terminal, nothing happens without --yes
    assert run(tmp_path, "story", "rm", str(sid), "--yes").output == (
        f"Remove 1 story and 3 cards:\n  story {sid}: Cut ranking latency by 40%\nRemoved story {sid} (review history kept).\n"
    )
    assert story_ids(tmp_path) == []
    db = open_database(tmp_path / "s.db")
    with db.session() as session:
        assert session.scalar(select(func.count(Review.id))) == 1
        assert all(c.suspended for c in session.scalars(select(Card).where(Card.note_id == sid)))
    db.close()
    assert run(tmp_path, "story", "rm", str(sid), "--yes").exit_code == 1  # already gone
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "other.md", CARL)))
    (sid2,) = story_ids(tmp_path)
    run(tmp_path, "review", "--deck", "Interview::Stories", input=" 4q", now="2026-11-26T08:00:00")
    assert run(tmp_path, "story", "rm", str(sid2), "--purge", "--yes").exit_code == 0
    db = open_database(tmp_path / "s.db")
    with db.session() as session:
        assert session.scalar(select(func.count(Card.id)).where(Card.note_id == sid2)) == 0
        assert session.scalar(select(func.count(Review.id))) == 1  # only the first story's review
    db.close()


def test_a_removed_story_added_again_comes_back_with_its_history_and_links(tmp_path: Path) -> None:
    """`story add` of a story removed with its history kept revives it: the same id, cards with their answers
    (unsuspended), its links; the question's back shows it again."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "s.md", STORY)))
    (sid,) = story_ids(tmp_path)
    run(tmp_path, "story", "link", str(sid), "biggest business impact")
    run(tmp_path, "review", "--deck", "Interview::Stories", input=" 4 4 4q")
    before = {c["id"]: c["reps"] for c in json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)}
    assert sorted(before.values()) == [0, 0, 1]  # one answered (its siblings wait for another day)
    run(tmp_path, "story", "rm", str(sid), "--yes")
    again = run(tmp_path, "story", "add", "--file", str(write(tmp_path / "again.md", STORY.replace("Cut ranking latency", "cut ranking latency"))))
    assert again.output.startswith(
        f"Story {sid} is back: cut ranking latency by 40% (removed earlier; its cards keep their progress, and its 1 link to questions)\n"
    )
    assert story_ids(tmp_path) == [sid]
    after = json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)
    assert {c["id"]: c["reps"] for c in after} == before and not any(c["suspended"] for c in after)
    shown = json.loads(run(tmp_path, "card", "show", str(_question_card(tmp_path, 30)), "--json").output)
    assert "Your story — cut ranking latency by 40%:" in shown["back"]


def test_rank_orders_by_impact_scope_involvement(tmp_path: Path) -> None:
    """story list --rank puts the highest impact + scope + involvement first."""
    small = STORY.replace("impact: 4", "impact: 1").replace("scope: 3", "scope: 1").replace("title: Cut", "title: Tweak")
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "a.md", small)))
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "b.md", STORY)))
    ranked = json.loads(run(tmp_path, "story", "list", "--rank", "--json").output)
    assert [(r["title"], r["score"]) for r in ranked] == [("Cut ranking latency by 40%", 12.0), ("Tweak ranking latency by 40%", 7.0)]
    plain = json.loads(run(tmp_path, "story", "list", "--json").output)
    assert [r["title"] for r in plain] == ["Tweak ranking latency by 40%", "Cut ranking latency by 40%"]


def test_coverage_counts(tmp_path: Path) -> None:
    """coverage puts stories under their competencies and lists the gaps."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "a.md", STORY)))
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "b.md", STORY.replace("title: Cut", "title: Halved"))))
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "c.md", CARL)))
    first = story_ids(tmp_path)[0]
    run(tmp_path, "story", "link", str(first), "30")
    run(tmp_path, "review", "--deck", "Interview::Stories", input=" 4q")
    data = json.loads(run(tmp_path, "coverage", "--json").output)
    by = {row["competency"]: row for row in data["competencies"]}
    assert [s["title"] for s in by["impact"]["stories"]] == ["Cut ranking latency by 40%", "Halved ranking latency by 40%"]
    assert by["impact"]["too_few"] is False
    assert by["failure"]["too_few"] is True and len(by["failure"]["stories"]) == 1
    assert by["conflict"]["stories"] == [] and by["conflict"]["too_few"]
    recall = by["impact"]["stories"][0]["recall"]
    assert recall == 1.0  # reviewed today
    assert by["impact"]["stories"][1]["recall"] is None  # never reviewed
    missing = {q["id"] for q in data["questions_without_story"]}
    assert 30 not in missing and 31 in missing and len(missing) == 46
    text = run(tmp_path, "coverage").output
    assert "Fewer than two stories:" in text and "46 question(s) have no linked story" in text


BRAG = """\
# My brag document

## Q1 2025
- Shipped the new ranking model; CTR up 3.1% in the A/B test.
- Mentored two new hires through their first on-call rotation.

### Migrated training to spot instances
Saved about $40k a month; I wrote the checkpoint-restore logic.
"""


def test_brag_import(tmp_path: Path) -> None:
    """Each bullet or heading accomplishment becomes a TODO draft; importing twice adds nothing."""
    assert [(e.title, e.notes, e.when) for e in parse_brag(BRAG)] == [
        ("Shipped the new ranking model", ["Shipped the new ranking model; CTR up 3.1% in the A/B test."], "Q1 2025"),
        ("Mentored two new hires through their first on-call rotation", [], "Q1 2025"),
        ("Migrated training to spot instances", ["Saved about $40k a month; I wrote the checkpoint-restore logic."], "Q1 2025"),
    ]
    path = write(tmp_path / "brag.md", BRAG)
    result = run(tmp_path, "story", "import", str(path))
    assert result.exit_code == 0, result.output
    rows = json.loads(run(tmp_path, "story", "list", "--json").output)
    titles = [r["title"] for r in rows]
    assert titles == [
        "Shipped the new ranking model",
        "Mentored two new hires through their first on-call rotation",
        "Migrated training to spot instances",
    ]
    assert [r["date"] for r in rows] == ["Q1 2025", "Q1 2025", "Q1 2025"]
    assert all(r["draft"] for r in rows)
    shown = run(tmp_path, "story", "show", str(rows[2]["id"])).output
    assert "## Action\nTODO" in shown and "## Notes\nSaved about $40k a month" in shown
    assert result.output.endswith("3 draft stories added, 0 already in the bank. Fill them in with `srs story edit ID`.\n")
    again = run(tmp_path, "story", "import", str(path))
    assert again.output == "0 draft stories added, 3 already in the bank. Fill them in with `srs story edit ID`.\n"
    lint = json.loads(run(tmp_path, "story", "lint", "--json").output)
    assert all(entry["findings"][0]["rule"] == "draft" for entry in lint)
    status = json.loads(run(tmp_path, "status", "--json").output)
    assert status["totals"]["cards"] == 86  # drafts have no cards until written


def test_brag_without_entries(tmp_path: Path) -> None:
    """A brag document with no headings or bullets is a one-line error."""
    result = run(tmp_path, "story", "import", str(write(tmp_path / "b.md", "just a paragraph\n")))
    assert (result.exit_code, result.output) == (
        1, "Error: no accomplishments found: use one heading or top-level bullet per accomplishment\n",
    )


def test_pitch_card_and_about_you_questions(tmp_path: Path) -> None:
    """The pitch is a note with one card, shown on 'tell me about yourself' questions."""
    pitch = "## Who I am\nML engineer who grew up fixing radios.\n## Accomplishments\nShipped ranking at scale.\n## What I want next\nLead a modelling team.\n"
    result = run(tmp_path, "pitch", "edit", "--file", str(write(tmp_path / "p.md", pitch)))
    assert result.output == "Saved your pitch.\n"
    assert "fixing radios" in run(tmp_path, "pitch").output
    cards = json.loads(run(tmp_path, "cards", "--deck", "Interview::Stories", "--json").output)
    assert [c["kind"] for c in cards] == ["pitch"]
    db = open_database(tmp_path / "s.db")
    with db.session() as session:
        from srs.models import Note
        from srs.review import linked_for
        from srs.templates import card_sides

        question = session.get(Note, 1)  # "Tell me about yourself."
        assert "Who: ML engineer who grew up fixing radios." in card_sides(question, 0, linked_for(session, question)).back
    db.close()
    bad = run(tmp_path, "pitch", "edit", "--file", str(write(tmp_path / "q.md", "## Who I am\nme\n")))
    assert bad.output == "Error: section 'Accomplishments' is missing or empty (write TODO to fill it later)\n"


def test_favorite_project(tmp_path: Path) -> None:
    """favorite: true marks one favorite story; it answers favorite-project questions."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "a.md", STORY.replace("tags:", "favorite: true\ntags:"))))
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "b.md", CARL.replace("competencies: failure", "competencies: failure\nfavorite: true"))))
    rows = json.loads(run(tmp_path, "story", "list", "--json").output)
    assert [r["favorite"] for r in rows] == [False, True]  # only the latest favorite
    assert "favorite-project" in rows[1]["competencies"]
    data = json.loads(run(tmp_path, "coverage", "--json").output)
    assert not any(q["competency"] == "favorite-project" for q in data["questions_without_story"])


def test_story_spec_title_with_colon_round_trips() -> None:
    """Titles with YAML-special characters survive a render/parse round trip."""
    spec = StorySpec(title='Why: "A/B" tests lie #1', sections={"Situation": "a", "Task": "b", "Action": "I c", "Result": "d 2x"})
    assert parse_story(render_story(spec)).title == spec.title


def test_same_story_twice_gets_two_guids(tmp_path: Path) -> None:
    """Two stories with the same text are still two notes with their own fixed guids."""
    run(tmp_path, "story", "add", "--file", str(write(tmp_path / "a.md", STORY)))
    run(tmp_path, "story", "add", "--file", str(tmp_path / "a.md"))
    rows = json.loads(run(tmp_path, "story", "list", "--json").output)
    assert len({r["guid"] for r in rows}) == 2
    guid = rows[0]["guid"]
    run(tmp_path, "story", "edit", str(rows[0]["id"]), "--file", str(write(tmp_path / "b.md", STORY.replace("Cut", "Slashed"))))
    assert json.loads(run(tmp_path, "story", "list", "--json").output)[0]["guid"] == guid
