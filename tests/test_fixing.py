"""Finding and fixing cards and decks through the command line: search, card and deck commands, and their safety.

Every test goes through ``srs`` itself (click's runner); the ones that reach
Anki are judged by the anki library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from srs.cli import cli
from srs.db import open_database
from srs.decks import deck_anki_id
from srs.models import Card, Deck, RemovedReview, Review
from srs.review import replay_card
from srs.scheduler import memory_of
from srs.settings import Schedulers, clock_for

from .anki_helpers import (
    anki_collection,
    export_apkg,
    import_apkg,
    local_timezone,
)
from .conftest import write
from .test_stories import STORY

NOW = "2026-11-25T08:00:00"
LATER = "2026-11-29T09:00:00"
FAKE_EDITOR = Path(__file__).with_name("fake_editor.py")

GUIDE = """\
# Team guide
## Conflict
- Tell me about a disagreement with a peer.
- Tell me about a time you pushed back on a manager.
## Ownership
- Tell me about a project you owned end to end.
- Describe a time you fixed something nobody asked you to fix.
"""


def run(db: Path, *args: str, input: str | None = None, now: str = NOW, editor: Path | None = None) -> Result:
    env = {"COLUMNS": "200"}
    if editor is not None:
        env.update({"EDITOR": f"{sys.executable} {FAKE_EDITOR}", "VISUAL": "", "FAKE_EDITOR_QUEUE": str(editor)})
    return CliRunner(env=env).invoke(cli, ["--db", str(db), "--now", now, "--keys-from-stdin", *args], input=input, catch_exceptions=False)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Result, text: str) -> None:
    """Exit 1, one line saying *text*, no traceback."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and text in lines[0], result.output
    assert "Traceback" not in result.output


def cards(db: Path, query: str | None = None, now: str = NOW) -> list[dict]:  # type: ignore[type-arg]
    args = ["cards", "--json"] + (["--search", query] if query is not None else [])
    return json.loads(ok(run(db, *args, now=now)).output)  # type: ignore[no-any-return]


def snapshot(db: Path) -> tuple[int, int, int, str]:
    """Counts and a digest of the card rows: what 'nothing changed' compares."""
    database = open_database(db)
    with database.session() as session:
        rows = session.execute(select(Card.id, Card.deck_id, Card.state, Card.suspended, Card.buried_until, Card.reset_at)).all()
        out = (
            len(rows), session.scalar(select(func.count(Review.id))) or 0, session.scalar(select(func.count(Deck.id))) or 0,
            repr(sorted(rows)),
        )
    database.close()
    return out


@pytest.fixture
def studied(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """A guide built into a deck, every card answered twice over a few days."""
    db = tmp_path / "fix.db"
    guide = write(tmp_path / "guide.md", GUIDE)
    ok(run(db, "config", "timezone", "UTC"))
    ok(run(db, "deck", "build", str(guide)))
    ok(run(db, "review", "--deck", "Team guide", input=" 3" * 4 + "q"))
    ok(run(db, "review", "--deck", "Team guide", input=" 3" * 4 + "q", now="2026-11-25T08:20:00"))
    return {"db": db, "guide": guide, "tmp": tmp_path}


def team_cards(db: Path, now: str = NOW) -> list[dict]:  # type: ignore[type-arg]
    return cards(db, "deck:Team*", now)


# --- the scenario from the issue -------------------------------------------------------------


def test_building_a_guide_into_another_deck_asks_and_moves_instead_of_duplicating(studied: dict) -> None:  # type: ignore[type-arg]
    db, guide = studied["db"], studied["guide"]
    before = team_cards(db)
    assert len(before) == 4 and all(c["reps"] == 2 for c in before)
    frozen = snapshot(db)
    one_line_error(run(db, "deck", "build", str(guide), "--deck", "Prep::Staff"), "already feeds deck 'Team guide'")
    assert snapshot(db) == frozen  # nothing written
    ok(run(db, "deck", "build", str(guide), "--deck", "Prep::Staff", "--move"))
    moved = cards(db, "deck:Prep::Staff")
    assert [(c["guid"], c["reps"], c["state"]) for c in moved] == [(c["guid"], c["reps"], c["state"]) for c in before]
    assert team_cards(db) == []
    # the guide now feeds Prep::Staff: a plain rebuild goes there
    assert "Prep::Staff: 0 added" in ok(run(db, "deck", "build", str(guide))).output


def test_removing_a_duplicate_deck_keeps_history_and_a_rebuild_brings_progress_back(studied: dict) -> None:  # type: ignore[type-arg]
    db, tmp = studied["db"], studied["tmp"]
    copy = write(tmp / "copy.md", GUIDE)  # the same guide under another file: a second deck, the mistake of the issue
    ok(run(db, "deck", "build", str(copy), "--deck", "Prep::Staff"))
    assert len(cards(db, "deck:Prep::Staff")) == 4
    dry = ok(run(db, "deck", "rm", "Prep::Staff", "--dry-run"))
    assert "dry run" in dry.output and len(cards(db, "deck:Prep::Staff")) == 4
    one_line_error(run(db, "deck", "rm", "Prep::Staff"), "add --yes")  # no terminal, no --yes: nothing removed
    assert len(cards(db, "deck:Prep::Staff")) == 4
    ok(run(db, "deck", "rm", "Prep::Staff", "--yes"))
    assert cards(db, "deck:Prep::Staff") == [] and len(team_cards(db)) == 4

    # removing the studied deck keeps its answers; rebuilding brings the same cards back with them
    before = {c["guid"]: (c["reps"], c["state"], c["stability"]) for c in team_cards(db)}
    removed = ok(run(db, "deck", "rm", "Team guide", "--yes"))
    assert "kept 8 answers" in removed.output
    assert team_cards(db) == []
    built = ok(run(db, "deck", "build", str(studied["guide"])))
    assert "4 came back with their progress" in built.output
    after = {c["guid"]: (c["reps"], c["state"], c["stability"]) for c in team_cards(db)}
    assert after == before
    database = open_database(db)
    with database.session() as session:
        assert session.scalar(select(func.count(RemovedReview.id))) == 0
        schedulers = Schedulers(session, clock_for(session))
        for card in session.scalars(select(Card).join(Deck).where(Deck.name == "Team guide")):
            assert memory_of(card) == replay_card(session, card, schedulers)
    database.close()


def test_purge_deletes_the_answers_for_good(studied: dict) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    ok(run(db, "card", "rm", "--search", "deck:Team*", "--purge", "--yes"))
    built = ok(run(db, "deck", "build", str(studied["guide"])))
    assert "came back" not in built.output
    assert all(c["reps"] == 0 and c["state"] == "new" for c in team_cards(db))


# --- card commands ----------------------------------------------------------------------------


def test_suspend_bury_and_search_by_state(studied: dict) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    ids = [c["id"] for c in team_cards(db)]
    ok(run(db, "card", "suspend", str(ids[0]), str(ids[1]), "--yes"))
    assert [c["id"] for c in cards(db, "is:suspended")] == ids[:2]
    again = ok(run(db, "card", "suspend", str(ids[0])))  # one card: no question asked
    assert "Suspended 0 cards (1 already were)" in again.output
    ok(run(db, "card", "bury", "--search", "deck:Team* -is:suspended", "--yes"))
    assert [c["id"] for c in cards(db, "is:buried")] == ids[2:]
    assert all(c["buried"] for c in cards(db, "is:buried"))
    # buried until tomorrow: the next day they are back
    assert cards(db, "is:buried", now="2026-11-26T08:00:00") == []
    ok(run(db, "card", "unsuspend", "--search", "is:suspended", "--yes"))
    ok(run(db, "card", "unbury", "--search", "is:buried", "--yes"))
    assert cards(db, "is:suspended or is:buried") == []


def test_forget_starts_memory_over_and_keeps_the_answers(studied: dict) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    target = team_cards(db)[0]
    ok(run(db, "card", "forget", str(target["id"]), now=LATER))
    shown = json.loads(ok(run(db, "card", "show", str(target["id"]), "--json", now=LATER)).output)
    assert shown["state"] == "new" and shown["reps"] == 0 and shown["stability"] is None and shown["reset"] is not None
    assert len(shown["history"]) == 2 and not any(h["counts"] for h in shown["history"])
    assert [c["id"] for c in cards(db, "is:new deck:Team*", now=LATER)] == [target["id"]]
    # answered again, its memory is the replay of the new answers only
    ok(run(db, "card", "move", str(target["id"]), "--to", "Solo", now=LATER))
    ok(run(db, "review", "--deck", "Solo", input=" 4q", now="2026-11-29T10:00:00"))
    database = open_database(db)
    with database.session() as session:
        card = session.get(Card, target["id"])
        assert card is not None and card.reps == 1
        assert memory_of(card) == replay_card(session, card, Schedulers(session, clock_for(session)))
        assert session.scalar(select(func.count(Review.id)).where(Review.card_id == card.id)) == 3
    database.close()


def test_move_edit_and_show(studied: dict) -> None:  # type: ignore[type-arg]
    db, tmp = studied["db"], studied["tmp"]
    first = team_cards(db)[0]
    moved = ok(run(db, "card", "move", str(first["id"]), "--to", "Prep::Conflict"))
    assert "(a new deck)" in moved.output and cards(db, "deck:Prep::Conflict")[0]["id"] == first["id"]

    editor = tmp / "editor"
    editor.mkdir()
    (editor / "000.md").write_text("## Question\nTell me about a disagreement with a senior peer.\n\n## Competency\nConflict\n")
    ok(run(db, "card", "edit", str(first["id"]), editor=editor))
    seen = (editor / "seen-000.md").read_text()
    assert "## Question\nTell me about a disagreement with a peer." in seen
    edited = json.loads(ok(run(db, "card", "show", str(first["id"]), "--json")).output)
    assert edited["front"] == "Tell me about a disagreement with a senior peer."
    assert (edited["guid"], edited["reps"], edited["deck"]) == (first["guid"], first["reps"], "Prep::Conflict")
    # the guide did not change: a rebuild keeps the user's wording, and the card stays where it was moved
    rebuilt = ok(run(db, "deck", "build", str(studied["guide"])))
    assert "1 kept as you edited them" in rebuilt.output
    assert cards(db, "senior")[0]["id"] == first["id"]
    assert cards(db, "deck:Prep::Conflict")[0]["id"] == first["id"]

    text = ok(run(db, "card", "show", str(first["id"]))).output
    assert "Answers" in text and "senior peer" in text and "Prep::Conflict" in text


def test_bad_input_is_one_line_and_changes_nothing(studied: dict) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    frozen = snapshot(db)
    one_line_error(run(db, "card", "suspend", "1", "99999", "88888", "--yes"), "no card with id 99999, 88888")
    one_line_error(run(db, "card", "rm", "--search", "deck:Nowhere", "--yes"), "no cards match 'deck:Nowhere'; nothing changed")
    one_line_error(run(db, "card", "forget", "--search", "prop:ivl>>3", "--yes"), "prop:ivl>>3")
    one_line_error(run(db, "card", "suspend"), "name the cards")
    one_line_error(run(db, "card", "show", "99999"), "no card with id 99999")
    one_line_error(run(db, "cards", "--search", "(is:new"), "never closed")
    one_line_error(run(db, "deck", "rename", "Nope", "Other"), "no deck named 'Nope'")
    one_line_error(run(db, "deck", "rename", "Team guide", "Team guide::Inner"), "inside itself")
    one_line_error(run(db, "deck", "rename", "Team guide", "A::::B"), "bad deck name")
    one_line_error(run(db, "deck", "rm", "Interview::STAR and CARL", "--yes"), "built-in deck")
    assert snapshot(db) == frozen
    nothing = ok(run(db, "cards", "--search", "deck:Nowhere"))
    assert "No cards match 'deck:Nowhere'." in nothing.output


def test_story_cards_are_removed_through_the_story_bank(studied: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    story = write(tmp_path / "story.md", STORY)
    ok(run(db, "story", "add", "--file", str(story)))
    frozen = snapshot(db)
    one_line_error(run(db, "card", "rm", "--search", "kind:story", "--yes"), "srs story rm")
    one_line_error(run(db, "deck", "rm", "Interview::Stories", "--yes"), "srs story rm")
    assert snapshot(db) == frozen


# --- decks ---------------------------------------------------------------------------------


def test_rename_with_children_and_merge(studied: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    ids = [c["id"] for c in team_cards(db)]
    ok(run(db, "card", "move", str(ids[0]), "--to", "Team guide::Hard"))
    ok(run(db, "card", "move", str(ids[1]), "--to", "Prep"))
    one_line_error(run(db, "deck", "rename", "Team guide", "prep"), "a deck named 'Prep' exists; add --merge")
    renamed = ok(run(db, "deck", "rename", "Team guide", "Interview::Team"))
    assert "Renamed Team guide::Hard to Interview::Team::Hard" in renamed.output
    assert [c["id"] for c in cards(db, "deck:Interview::Team::Hard")] == [ids[0]]
    assert sorted(c["id"] for c in cards(db, "deck:Interview::Team")) == sorted(ids[0:1] + ids[2:])
    merged = ok(run(db, "deck", "rename", "Interview::Team", "Prep", "--merge"))
    assert "Merged Interview::Team into Prep" in merged.output
    assert sorted(c["id"] for c in cards(db, "deck:Prep")) == sorted(ids)
    assert sorted(c["id"] for c in cards(db, "deck:Prep::Hard")) == [ids[0]]
    decks = [d["deck"] for d in json.loads(ok(run(db, "deck", "list", "--json")).output)]
    assert "Interview::Team" not in decks and "Team guide" not in decks
    # progress went along
    assert all(c["reps"] == 2 for c in cards(db, "deck:Prep"))
    # the renamed guide deck is still the one its guide feeds
    assert "Prep: 0 added, 0 updated, 4 unchanged" in ok(run(db, "deck", "build", str(studied["guide"]))).output


def test_a_deck_made_under_the_old_name_of_a_renamed_deck_is_a_deck_of_its_own(studied: dict) -> None:  # type: ignore[type-arg]
    """A renamed deck keeps its Anki id (it is the same deck in an export); a new deck under the old name gets another."""
    db = studied["db"]
    ids = [c["id"] for c in team_cards(db)]
    ok(run(db, "deck", "rename", "Team guide", "Desk"))
    moved = ok(run(db, "card", "move", str(ids[0]), "--to", "Team guide"))
    assert "(a new deck)" in moved.output
    assert [c["id"] for c in cards(db, '"deck:Team guide"')] == [ids[0]]
    assert sorted(c["id"] for c in cards(db, "deck:Desk")) == sorted(ids[1:])
    database = open_database(db)
    with database.session() as session:
        anki_ids = dict(session.execute(select(Deck.name, Deck.anki_id).where(Deck.name.in_(["Team guide", "Desk"]))).all())
    database.close()
    assert anki_ids["Desk"] == deck_anki_id("Team guide") != anki_ids["Team guide"]


def test_a_builtin_deck_removed_for_good_stays_away_until_enabled(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    name = "Interview::STAR and CARL"
    assert cards(db, f'"deck:{name}"')
    removed = ok(run(db, "deck", "rm", name, "--disable", "--yes"))
    assert f"Turned off the built-in deck {name}" in removed.output
    assert cards(db, f'"deck:{name}"') == []  # the next start does not bring it back
    assert name not in [d["deck"] for d in json.loads(ok(run(db, "deck", "list", "--json")).output)]
    ok(run(db, "deck", "enable", name))
    assert cards(db, f'"deck:{name}"')
    one_line_error(run(db, "deck", "enable", "Nonsense"), "no built-in deck named 'Nonsense'")


# --- stories --------------------------------------------------------------------------------


def test_story_rm_takes_several_ids_and_import_has_a_dry_run(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    brag = write(tmp_path / "brag.md", "# Brag\n\n- Shipped the ranking model\n- Cut training cost by 30%\n- Mentored two interns\n")
    dry = ok(run(db, "story", "import", str(brag), "--dry-run"))
    assert "Would add 3 draft stories" in dry.output and "Mentored two interns" in dry.output
    assert json.loads(ok(run(db, "story", "list", "--json")).output) == []
    ok(run(db, "story", "import", str(brag)))
    ids = [s["id"] for s in json.loads(ok(run(db, "story", "list", "--json")).output)]
    assert len(ids) == 3
    one_line_error(run(db, "story", "rm", str(ids[0]), "424242", "--yes"), "no story with id 424242")
    assert len(json.loads(ok(run(db, "story", "list", "--json")).output)) == 3
    one_line_error(run(db, "story", "rm", str(ids[0]), str(ids[1])), "add --yes")
    ok(run(db, "story", "rm", str(ids[0]), str(ids[1]), "--yes"))
    assert [s["id"] for s in json.loads(ok(run(db, "story", "list", "--json")).output)] == ids[2:]


# --- ahead ----------------------------------------------------------------------------------


def test_status_days_forecasts_each_day_per_deck(studied: dict) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    data = json.loads(ok(run(db, "status", "--days", "30", "--json", now=LATER)).output)
    ahead = data["forecast"]
    assert len(ahead["days"]) == 30 and ahead["days"][0] == "2026-11-29"
    team = ahead["decks"]["Team guide"]
    assert sum(team) == len([c for c in team_cards(db, LATER) if c["due"] and c["due"] < "2026-12-29"])
    assert sum(team) == 4  # two Good answers ten minutes apart: every card is due again within the month
    assert ahead["total"] == [sum(column) for column in zip(*ahead["decks"].values())]
    assert ahead["total"][0] == data["due"]["learning"] + data["due"]["review"] or ahead["total"][0] >= data["due"]["review"]
    by_day = {c["id"]: c["due"][:10] for c in team_cards(db, LATER)}
    for index, day in enumerate(ahead["days"]):
        assert team[index] == sum(1 for due in by_day.values() if max(due, ahead["days"][0]) == day)
    text = ok(run(db, "status", "--days", "3", now=LATER)).output
    assert "Due ahead" in text and "tomorrow" in text
    assert run(db, "status", "--days", "0").exit_code == 2  # click's own range check


# --- completion -------------------------------------------------------------------------------


def complete(db: Path, words: str) -> list[str]:
    """What bash completion offers for the last word of *words* (run as the shell would, through the real `srs`)."""
    env = {**os.environ, "_SRS_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
           "SRS_DB": str(db)}
    out = subprocess.run([sys.executable, "-m", "srs"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line.split(",", 1)[1] for line in out.stdout.splitlines() if "," in line]


def test_shell_completion_offers_decks_stories_and_settings(studied: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    db = studied["db"]
    story = write(tmp_path / "story.md", STORY)
    ok(run(db, "story", "add", "--file", str(story)))
    assert "Team guide" in complete(db, "srs cards --deck Te")
    assert set(complete(db, "srs deck rm Interview::")) >= {"Interview::STAR and CARL", "Interview::Stories"}
    assert complete(db, "srs story show ") == [str(s["id"]) for s in json.loads(ok(run(db, "story", "list", "--json")).output)]
    assert complete(db, "srs config desired") == ["desired_retention"]
    assert "card" in complete(db, "srs ca")
    for shell in ("bash", "zsh", "fish"):
        assert "_SRS_COMPLETE" in ok(run(db, "completion", shell)).output


# --- judged by Anki ---------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


@pytest.fixture
def exported(tmp_path: Path, daytime_here: str) -> Iterator[dict]:  # type: ignore[type-arg]
    """A studied guide in a zone where it is daytime now, with one card suspended, one buried, one reset and answered again."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    zone = daytime_here
    db, guide = tmp_path / "x.db", write(tmp_path / "guide.md", GUIDE)
    with local_timezone(zone):
        ok(run(db, "config", "timezone", zone, now=_iso(now - timedelta(days=4))))
        ok(run(db, "deck", "build", str(guide), now=_iso(now - timedelta(days=4))))
        for at in (now - timedelta(days=4), now - timedelta(days=4) + timedelta(minutes=15), now - timedelta(days=1)):
            ok(run(db, "review", "--deck", "Team guide", input=" 3" * 4 + "q", now=_iso(at)))
        ids = [c["id"] for c in team_cards(db, _iso(now))]
        ok(run(db, "card", "suspend", str(ids[0]), now=_iso(now - timedelta(minutes=40))))
        ok(run(db, "card", "bury", str(ids[1]), now=_iso(now - timedelta(minutes=40))))
        ok(run(db, "card", "forget", str(ids[2]), now=_iso(now - timedelta(minutes=30))))
        ok(run(db, "card", "move", str(ids[2]), "--to", "Solo", now=_iso(now - timedelta(minutes=25))))
        ok(run(db, "review", "--deck", "Solo", input=" 3q", now=_iso(now - timedelta(minutes=20))))
        ok(run(db, "export", str(tmp_path / "out.apkg"), now=_iso(now)))
        yield {"db": db, "ids": ids, "now": now, "zone": zone, "package": tmp_path / "out.apkg", "tmp": tmp_path}


def test_suspended_buried_and_reset_cards_arrive_in_anki_as_they_are_in_srs(exported: dict) -> None:  # type: ignore[type-arg]
    db, ids, tmp = exported["db"], exported["ids"], exported["tmp"]
    with local_timezone(exported["zone"]):
        (tmp / "anki").mkdir()
        col = anki_collection(tmp / "anki" / "collection.anki2")
        import_apkg(col, exported["package"])
        guid = {c["id"]: c["guid"] for c in cards(db, now=_iso(exported["now"]))}

        def anki_card(card_id: int):  # type: ignore[no-untyped-def]
            return col.get_card(col.db.scalar("select c.id from cards c join notes n on n.id = c.nid where n.guid = ?", guid[card_id]))

        suspended, buried, reset, plain = (anki_card(i) for i in ids)
        assert (suspended.type, suspended.queue) == (2, -1)
        assert (buried.type, buried.queue) == (2, -3)
        assert (plain.type, plain.queue) == (2, 2)
        # the reset is Anki's own: a manual row with factor 0 between the old answers and the new one
        rows = col.db.all("select ease, type, factor from revlog where cid = ? order by id", reset.id)
        assert [(ease, kind) for ease, kind, _ in rows] == [(3, 0), (3, 0), (3, 1), (0, 4), (3, 0)]
        assert rows[3][2] == 0
        # and Anki's FSRS, like srs, starts the card's memory over from it
        database = open_database(db)
        with database.session() as session:
            card = session.get(Card, ids[2])
            assert card is not None and card.reps == 1 and card.stability is not None
            whole = Schedulers(session, clock_for(session)).for_card(card).replay(
                [(r.rating, r.reviewed_at) for r in session.scalars(select(Review).where(Review.card_id == card.id).order_by(Review.reviewed_at))],
                card.id,
            )
            ours = (card.stability, card.difficulty)
        database.close()
        computed = col.compute_memory_state(reset.id)
        assert computed.stability == pytest.approx(ours[0], rel=0.01)
        assert computed.difficulty == pytest.approx(ours[1], rel=0.01)
        assert whole.stability != pytest.approx(ours[0], rel=0.05)  # with the old answers it would be another card
        col.close()


def test_a_removed_card_comes_back_with_its_progress_through_an_import(exported: dict) -> None:  # type: ignore[type-arg]
    db, ids, now = exported["db"], exported["ids"], _iso(exported["now"])
    before = {c["id"]: c for c in cards(db, now=now)}
    plain = before[ids[3]]
    ok(run(db, "card", "rm", str(ids[3]), now=now))
    assert plain["guid"] not in {c["guid"] for c in cards(db, now=now)}
    with local_timezone(exported["zone"]):
        ok(run(db, "import", str(exported["package"]), now=now))
    back = [c for c in cards(db, now=now) if c["guid"] == plain["guid"]]
    assert len(back) == 1
    assert (back[0]["reps"], back[0]["lapses"], back[0]["state"], back[0]["deck"]) == (plain["reps"], plain["lapses"], plain["state"], plain["deck"])
    shown = json.loads(ok(run(db, "card", "show", str(back[0]["id"]), "--json", now=now)).output)
    assert len(shown["history"]) == plain["reps"]  # the answers came back once, not twice


def test_a_card_reset_in_anki_is_new_in_srs_with_its_history_kept(exported: dict) -> None:  # type: ignore[type-arg]
    db, ids, tmp, now = exported["db"], exported["ids"], exported["tmp"], exported["now"]
    with local_timezone(exported["zone"]):
        (tmp / "phone").mkdir()
        col = anki_collection(tmp / "phone" / "collection.anki2")
        import_apkg(col, exported["package"])
        guid = next(c["guid"] for c in cards(db, now=_iso(now)) if c["id"] == ids[3])
        cid = col.db.scalar("select c.id from cards c join notes n on n.id = c.nid where n.guid = ?", guid)
        col.sched.schedule_cards_as_new([cid], restore_position=True, reset_counts=True)
        back = export_apkg(col, tmp / "phone.apkg")
        col.close()
        ok(run(db, "import", str(back), now=_iso(now + timedelta(minutes=5))))
    shown = json.loads(ok(run(db, "card", "show", str(ids[3]), "--json", now=_iso(now + timedelta(minutes=5)))).output)
    assert shown["state"] == "new" and shown["reset"] is not None and shown["stability"] is None
    assert len(shown["history"]) == 3 and not any(h["counts"] for h in shown["history"])


def test_review_studies_only_what_the_search_finds(tmp_path: Path) -> None:
    db, guide = tmp_path / "r.db", write(tmp_path / "guide.md", GUIDE)
    ok(run(db, "deck", "build", str(guide)))
    result = ok(run(db, "review", "--search", "deck:Team* (manager or nobody)", input=" 3 3 3 3q"))
    assert "Tell me about a time you pushed back on a manager." in result.output
    answered = {c["label"] for c in team_cards(db) if c["reps"]}
    assert answered == {"Tell me about a time you pushed back on a manager.", "Describe a time you fixed something nobody asked you to fix."}
    one_line_error(run(db, "review", "--search", "is:"), "is: at position 1")


def test_export_takes_the_notes_a_search_finds(exported: dict) -> None:  # type: ignore[type-arg]
    db, tmp, now = exported["db"], exported["tmp"], _iso(exported["now"])
    ok(run(db, "export", str(tmp / "part.apkg"), "--search", "(deck:Team* or deck:Solo) (manager or nobody)", now=now))
    one_line_error(run(db, "export", str(tmp / "none.apkg"), "--search", "deck:Nowhere", now=now), "that 'deck:Nowhere' finds")
    assert not (tmp / "none.apkg").exists()
    with local_timezone(exported["zone"]):
        (tmp / "part").mkdir()
        col = anki_collection(tmp / "part" / "collection.anki2")
        import_apkg(col, tmp / "part.apkg")
        fronts = sorted(col.get_note(nid).fields[0] for nid in col.find_notes(""))
        col.close()
    assert fronts == ["Describe a time you fixed something nobody asked you to fix.", "Tell me about a time you pushed back on a manager."]


def test_editing_an_imported_note_changes_its_anki_fields(tmp_path: Path) -> None:
    """The fields of a note from Anki are edited as Anki's HTML; the text srs shows follows, and Anki gets the edit back."""
    db = tmp_path / "i.db"
    with local_timezone("UTC"):
        (tmp_path / "a").mkdir()
        col = anki_collection(tmp_path / "a" / "collection.anki2")
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"], note["Back"] = "What is <b>FSRS</b>?", "A scheduler"
        col.add_note(note, col.decks.id("Imported"))
        guid = note.guid
        package = export_apkg(col, tmp_path / "a.apkg")
        col.close()
        ok(run(db, "import", str(package)))
        card_id = next(c["id"] for c in cards(db) if c["guid"] == guid)
        editor = tmp_path / "editor"
        editor.mkdir()
        (editor / "000.md").write_text("## Front\nWhat is <b>FSRS-6</b>?\n\n## Back\nA scheduler with <i>21</i> parameters\n")
        ok(run(db, "card", "edit", str(card_id), editor=editor))
        assert "## Front\nWhat is <b>FSRS</b>?" in (editor / "seen-000.md").read_text()
        shown = json.loads(ok(run(db, "card", "show", str(card_id), "--json")).output)
        assert shown["fields"] == ["What is <b>FSRS-6</b>?", "A scheduler with <i>21</i> parameters"]
        assert shown["front"] == "What is FSRS-6?" and "21 parameters" in shown["back"]
        assert shown["guid"] == guid
        (editor / "001.md").write_text("## Front\n\n## Nope\nx\n")
        (editor / "002.md").write_text("## Front\n\n## Nope\nx\n")
        one_line_error(run(db, "card", "edit", str(card_id), editor=editor), "no field called 'Nope'")
        ok(run(db, "export", str(tmp_path / "back.apkg")))
        (tmp_path / "b").mkdir()
        col = anki_collection(tmp_path / "b" / "collection.anki2")
        import_apkg(col, tmp_path / "back.apkg")
        nid = col.db.scalar("select id from notes where guid = ?", guid)
        back = col.get_note(nid)
        assert back["Front"] == "What is <b>FSRS-6</b>?" and back["Back"] == "A scheduler with <i>21</i> parameters"
        col.close()


def test_an_edit_without_a_change_and_a_forget_of_a_new_card_say_so_and_succeed(tmp_path: Path) -> None:
    """`card edit` closed without a change is a notice with status 0 (as `e` in review), no draft left; `card forget` of
    a card already new says so, for one card and for several."""
    db = tmp_path / "f.db"
    folder = tmp_path / "queue"
    folder.mkdir()
    (folder / "000.same").write_text("")
    result = run(db, "card", "edit", "1", editor=folder)
    assert (result.exit_code, result.output) == (0, "Nothing changed: the note of card 1 is as it was.\n")
    assert list((tmp_path / "drafts").glob("*.md")) == []  # the draft is gone: nothing was kept, nothing to recover
    assert ok(run(db, "card", "forget", "1")).output == "Card 1 is new already: nothing to reset.\n"
    assert ok(run(db, "card", "forget", "1", "2", "--yes")).output.endswith("Nothing reset: the 2 cards are new already.\n")


def test_a_learning_step_in_a_cards_history_is_a_step_not_a_negative_interval(tmp_path: Path) -> None:
    """`card show` shows a learning step as its length (`1m`, `10m`) and a review interval in days; --json gives a
    step in `step_seconds` with `interval_days` null, and days in `interval_days` with `step_seconds` null."""
    db = tmp_path / "h.db"
    ok(run(db, "review", "--new-limit", "1", input=" 1"))  # Again: the 1 min step (then the session waits: no input)
    (card,) = [c["id"] for c in cards(db, "-is:new")]
    ok(run(db, "review", "--new-limit", "1", input=" 3q", now="2026-11-25T08:02:00"))  # Good: the 10 min step
    history = json.loads(ok(run(db, "card", "show", str(card), "--json", now="2026-11-25T09:00:00")).output)["history"]
    assert [(h["interval_days"], h["step_seconds"]) for h in history] == [(None, 60), (None, 600)]
    ok(run(db, "review", "--new-limit", "1", input=" 3q", now="2026-11-25T09:00:00"))
    data = json.loads(ok(run(db, "card", "show", str(card), "--json", now="2026-11-25T09:01:00")).output)["history"]
    assert data[-1]["step_seconds"] is None and isinstance(data[-1]["interval_days"], int) and data[-1]["interval_days"] >= 1
    text = ok(run(db, "card", "show", str(card), now="2026-11-25T09:01:00")).output
    rows = [line for line in text.splitlines() if "again" in line or "good" in line]
    assert [row.replace("│", " ").split()[-3] for row in rows] == ["1m", "10m", f"{data[-1]['interval_days']}d"]
    assert "-1m" not in text and "-10m" not in text
