"""Building decks from guides: idempotent, edit-proof, never losing progress."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from srs.db import Database
from srs.decks import (
    BUILTIN_DECKS,
    build_from_file,
    builtin_folder,
    ensure_builtin_decks,
    find_deck,
)
from srs.domain import CardState, Rating
from srs.errors import GuideError, NotFoundError
from srs.guide import parse_guide
from srs.models import Card, Deck, Note, Review
from srs.review import Limits, ReviewSession

from .conftest import NOW, write

GUIDE = """\
# Team guide

## Conflict
- Tell me about a time you disagreed with your manager.
- Describe a conflict with another team.

## STAR
- **Situation**: Where and when.
- **Result**: What changed, with a number.
"""


def build(db: Database, path: Path, deck: str | None = "Guide", now=NOW):  # type: ignore[no-untyped-def]
    with db.session(write=True) as session:
        result = build_from_file(session, path, deck, now)
        session.commit()
    return result


def notes(db: Database) -> dict[str, Note]:
    with db.session() as session:
        return {n.guid: n for n in session.scalars(select(Note).where(Note.source == "guide:Guide"))}


def study_first_card(db: Database) -> int:
    """Answer the first new card of the Guide deck Good twice; return its id."""
    with db.session(write=True) as session:
        deck = find_deck(session, "Guide")
        review = ReviewSession(session, Limits(10, 100), [deck.id])
        card = review.card(review.queue(NOW).card_id)  # type: ignore[arg-type]
        review.answer(card, Rating.GOOD, NOW, 1000)
        review.answer(card, Rating.GOOD, NOW + timedelta(minutes=10), 1000)
        session.commit()
        return card.id


def test_build_creates_notes_and_cards(db: Database, tmp_path: Path) -> None:
    """Each question and concept becomes one note with one new card in the deck."""
    result = build(db, write(tmp_path / "g.md", GUIDE))
    assert (result.deck, result.added, result.updated, result.orphaned) == ("Guide", 4, 0, 0)
    with db.session() as session:
        cards = session.scalars(select(Card).join(Deck).where(Deck.name == "Guide")).all()
        assert len(cards) == 4 and all(c.state == CardState.NEW for c in cards)
        assert sorted(n.kind for n in session.scalars(select(Note))) == ["concept", "concept", "question", "question"]


def test_rebuild_is_idempotent(db: Database, tmp_path: Path) -> None:
    """Building the same guide twice changes nothing and duplicates nothing."""
    path = write(tmp_path / "g.md", GUIDE)
    build(db, path)
    before = notes(db)
    result = build(db, path, now=NOW + timedelta(days=1))
    assert (result.added, result.updated, result.unchanged, result.orphaned) == (0, 0, 4, 0)
    after = notes(db)
    assert set(after) == set(before)
    assert all(after[g].modified == before[g].modified for g in after)


def test_edited_question_keeps_guid_and_progress(db: Database, tmp_path: Path) -> None:
    """Rewording a question updates its text in place; its card keeps its reviews and state."""
    path = write(tmp_path / "g.md", GUIDE)
    build(db, path)
    card_id = study_first_card(db)
    with db.session() as session:
        card = session.get(Card, card_id)
        guid, state, stability = card.note.guid, card.state, card.stability  # type: ignore[union-attr]
        old_text = card.note.fields["Question"]  # type: ignore[union-attr]
    assert old_text == "Tell me about a time you disagreed with your manager."
    write(path, GUIDE.replace("disagreed with your manager.", "disagreed with your own manager?"))
    result = build(db, path, now=NOW + timedelta(days=1))
    assert (result.added, result.updated, result.orphaned) == (0, 1, 0)
    with db.session() as session:
        card = session.get(Card, card_id)
        assert card is not None
        assert card.note.guid == guid
        assert card.note.fields["Question"] == "Tell me about a time you disagreed with your own manager?"
        assert (card.state, card.stability) == (state, stability)
        assert session.scalar(select(func.count(Review.id)).where(Review.card_id == card_id)) == 2


def test_edited_definition_keeps_concept(db: Database, tmp_path: Path) -> None:
    """A concept is identified by framework and term; its definition may change freely."""
    path = write(tmp_path / "g.md", GUIDE)
    build(db, path)
    before = notes(db)
    write(path, GUIDE.replace("Where and when.", "The setting, in two sentences at most."))
    result = build(db, path)
    assert (result.added, result.updated) == (0, 1)
    assert set(notes(db)) == set(before)


def test_removed_item_is_suspended_then_restored(db: Database, tmp_path: Path) -> None:
    """An item gone from the guide is suspended with its history; it returns when the item does."""
    path = write(tmp_path / "g.md", GUIDE)
    build(db, path)
    card_id = study_first_card(db)
    write(path, GUIDE.replace("- Tell me about a time you disagreed with your manager.\n", ""))
    result = build(db, path)
    assert (result.added, result.orphaned) == (0, 1)
    with db.session() as session:
        card = session.get(Card, card_id)
        assert card is not None and card.suspended and card.note.orphaned
        assert session.scalar(select(func.count(Review.id)).where(Review.card_id == card_id)) == 2
    write(path, GUIDE)
    result = build(db, path)
    assert (result.added, result.restored) == (0, 1)
    with db.session() as session:
        card = session.get(Card, card_id)
        assert card is not None and not card.suspended and card.state == CardState.REVIEW


def test_new_question_added_alongside(db: Database, tmp_path: Path) -> None:
    """A genuinely new question is added, while similar-but-different ones stay separate."""
    path = write(tmp_path / "g.md", GUIDE)
    build(db, path)
    write(path, GUIDE + "\n## Failure\n- Tell me about a time you failed.\n")
    result = build(db, path)
    assert (result.added, result.unchanged, result.orphaned) == (1, 4, 0)


def test_deck_hierarchy_and_default_name(db: Database, tmp_path: Path) -> None:
    """--deck may name a sub-deck; without it the guide's title names the deck, or the deck it already feeds."""
    path = write(tmp_path / "g.md", GUIDE)
    assert build(db, path, deck="Prep::Team").deck == "Prep::Team"
    assert build(db, path, deck=None).deck == "Prep::Team"  # the deck remembers its guide
    other = write(tmp_path / "other.md", GUIDE)
    assert build(db, other, deck=None).deck == "Team guide"
    with db.session() as session:
        with pytest.raises(NotFoundError, match="no deck named 'Nope'"):
            find_deck(session, "Nope")


def test_missing_and_bad_guides(db: Database, tmp_path: Path) -> None:
    """Unreadable or card-less guides raise GuideError and write nothing."""
    with pytest.raises(GuideError, match="no such guide"):
        build(db, tmp_path / "absent.md")
    with pytest.raises(GuideError, match="no questions"):
        build(db, write(tmp_path / "prose.md", "# Just a title\n\nSome prose.\n"))
    with db.session() as session:
        assert session.scalar(select(func.count(Deck.id))) == 0


def test_builtin_decks_content() -> None:
    """The built-in decks: 40+ behavioral questions over every competency, ask and concept decks."""
    folder = builtin_folder()
    behavioral = parse_guide((folder / "behavioral-questions.md").read_bytes())
    questions = [n for n in behavioral.notes if n.kind == "question"]
    assert len(questions) >= 40
    competencies = {n.tags[0] for n in questions}
    assert competencies == {
        "about-you", "favorite-project", "initiative", "collaboration", "communication", "impact", "conflict", "failure",
    }
    ask = parse_guide((folder / "interviewer-questions.md").read_bytes())
    assert {n.fields["Topic"] for n in ask.notes} == {
        "Product direction and challenges", "Tech stack and engineering culture", "Leadership and team dynamics",
    }
    assert all(n.kind == "ask" and n.fields["Question"].endswith("?") for n in ask.notes)
    frameworks = parse_guide((folder / "star-carl.md").read_bytes())
    star = [n.fields["Term"] for n in frameworks.notes if n.fields.get("Context") == "STAR"]
    carl = [n.fields["Term"] for n in frameworks.notes if n.fields.get("Context") == "CARL"]
    assert star == ["Situation", "Task", "Action", "Result"]
    assert carl == ["Context", "Action", "Result", "Learning"]


def test_builtin_decks_built_once_and_resynced_on_change(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Built-in decks are built on first use, skipped when unchanged, updated in place when changed."""
    with db.session(write=True) as session:
        results = ensure_builtin_decks(session, NOW)
        session.commit()
    assert sorted(r.deck for r in results) == sorted(BUILTIN_DECKS.values())
    with db.session(write=True) as session:
        assert ensure_builtin_decks(session, NOW) == []
        total = session.scalar(select(func.count(Card.id)))
    copy = tmp_path / "decks"
    copy.mkdir()
    for name in BUILTIN_DECKS:
        (copy / name).write_bytes((builtin_folder() / name).read_bytes())
    path = copy / "behavioral-questions.md"
    path.write_text(path.read_text().replace("- Tell me about a time you failed.\n", "- Tell me about a time you really failed.\n"))
    monkeypatch.setattr("srs.decks.builtin_folder", lambda: copy)
    with db.session(write=True) as session:
        results = ensure_builtin_decks(session, NOW)
        session.commit()
        assert session.scalar(select(func.count(Card.id))) == total
    changed = [r for r in results if r.updated]
    assert [(r.deck, r.updated, r.added) for r in changed] == [("Interview::Behavioral questions", 1, 0)]


def test_parent_deck_known_only_through_children(db: Database) -> None:
    """--deck Parent selects Parent::A and Parent::B even when no deck is named just Parent."""
    from srs.decks import deck_and_children, get_or_create_deck

    with db.session(write=True) as session:
        a = get_or_create_deck(session, "Parent::A", NOW)
        b = get_or_create_deck(session, "Parent::B::C", NOW)
        get_or_create_deck(session, "Parentless", NOW)
        assert sorted(deck_and_children(session, "parent")) == sorted([a.id, b.id])
        with pytest.raises(NotFoundError):
            deck_and_children(session, "Nope")
