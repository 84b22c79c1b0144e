"""The story bank: the user's own STAR/CARL answers stored as notes with cards, linked to questions.

A story (its text format is ``story_format``) is stored as a note of kind
``story`` — its text in the note's fields, so export carries it — plus a
``stories`` row for the scores and flags. Its cards are the recall targets
``templates`` defines (beats, numbers, learning), each only when the story
has the content. Editing a story rewrites its fields in place; its cards keep
their id and progress, and a card whose content disappears is suspended, not
deleted. Links say which stories answer which questions; coverage shows the
competencies the bank covers and how well each is recalled.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from srs.competencies import COMPETENCIES
from srs.decks import STORIES_DECK, get_or_create_deck
from srs.domain import NoteId, NoteKind
from srs.errors import NotFoundError, StoryError
from srs.guide import normalise
from srs.lint import lint_story, speaking_seconds
from srs.models import Card, Note, Review, Story, StoryLink
from srs.pitch import get_pitch
from srs.scheduler import memory_of
from srs.settings import Schedulers, after_reviews_deleted, clock_for
from srs.story_format import (
    ALL_SECTIONS,
    SCORES,
    STAR_SECTIONS,
    BragEntry,
    StorySpec,
    parse_brag,
    story_fields,
)
from srs.templates import BEATS, LEARNING, NUMBERS, TODO, story_card_content

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def new_guid() -> str:
    """A random 10-character guid for a note the user writes (fixed from then on)."""
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10))


def spec_of(note: Note, story: Story) -> StorySpec:
    f = note.fields
    return StorySpec(
        title=f.get("Title", ""),
        sections={n: f[n] for n in ALL_SECTIONS if f.get(n)},
        competencies=list(story.competencies),
        date=f.get("Date", ""),
        impact=story.impact,
        scope=story.scope,
        involvement=story.involvement,
        tags=list(note.tags),
        favorite=story.favorite,
    )


# --- storage ------------------------------------------------------------------


def removed_story_like(session: Session, spec: StorySpec) -> Note | None:
    """The removed story (history kept) that *spec* brings back: the same title, as a guide rebuild matches its
    questions (case, punctuation and spacing ignored); the most recently removed one if several share it."""
    title = normalise(spec.title)
    removed = session.scalars(
        select(Note).join(Story, Story.note_id == Note.id).where(Note.orphaned.is_(True)).order_by(Note.modified.desc(), Note.id.desc())
    )
    return next((note for note in removed if normalise(note.fields.get("Title", "")) == title), None)


def save_story(session: Session, spec: StorySpec, now: datetime, story_id: int | None = None) -> Note:
    """Create a story, or update story *story_id* in place; the caller commits.

    A new story whose title is that of a story removed with its history kept
    is that story back: the same note, its cards with their progress, its links.
    """


    if story_id is None and (returning := removed_story_like(session, spec)) is not None:
        returning.orphaned = False
        returning.modified = now
        session.flush()
        story_id = returning.id
    if story_id is None:
        note = Note(
            guid=new_guid(),
            kind=NoteKind.STORY,
            fields={},
            tags=[],
            source="stories",
            orphaned=False,
            created=now,
            modified=now,
        )
        session.add(note)
        session.flush()
        story = Story(note_id=note.id, competencies=[], favorite=False)
        session.add(story)
    else:
        note, story = get_story(session, story_id)
    fields = story_fields(spec)
    if note.fields != fields or note.tags != spec.tags:
        note.fields = fields
        note.tags = list(spec.tags)
        note.modified = now
    story.competencies = list(spec.competencies)
    story.impact, story.scope, story.involvement = spec.impact, spec.scope, spec.involvement
    if spec.favorite and not story.favorite:
        session.execute(update(Story).where(Story.note_id != note.id).values(favorite=False))
    story.favorite = spec.favorite
    session.flush()

    content = story_card_content(fields)
    existing = {c.ord: c for c in session.scalars(select(Card).where(Card.note_id == note.id))}
    deck = get_or_create_deck(session, STORIES_DECK, now)
    position = (session.scalar(select(Card.position).order_by(Card.position.desc()).limit(1)) or 0) + 1
    for ord_ in (BEATS, NUMBERS, LEARNING):
        card = existing.get(ord_)
        if ord_ in content and card is None:
            session.add(Card(note_id=note.id, ord=ord_, deck_id=deck.id, position=position, created=now, modified=now))
        elif card is not None and card.suspended == (ord_ in content):
            card.suspended = ord_ not in content  # content gone: suspend; back: resume
            card.modified = now
    session.flush()
    return note


def story_card_count(session: Session, story_id: int) -> int:
    """How many cards story *story_id* has (what removing it takes out of the reviews)."""
    return session.scalar(select(func.count(Card.id)).where(Card.note_id == story_id)) or 0


def story_link_count(session: Session, story_id: int) -> int:
    """How many questions story *story_id* is linked to."""
    return session.scalar(select(func.count()).select_from(StoryLink).where(StoryLink.story_id == story_id)) or 0


def get_story(session: Session, story_id: int) -> tuple[Note, Story]:
    note = session.get(Note, story_id)
    story = session.get(Story, story_id)
    if note is None or story is None or note.kind != NoteKind.STORY or note.orphaned:
        raise NotFoundError(f"no story with id {story_id} (see `srs story list`)")
    return note, story


def remove_story(session: Session, story_id: int, now: datetime, purge: bool = False) -> None:
    """Remove a story: keep its review history (suspended), or purge everything."""


    note, story = get_story(session, story_id)
    if purge:
        card_ids = list(session.scalars(select(Card.id).where(Card.note_id == note.id)))
        session.execute(delete(Review).where(Review.card_id.in_(card_ids)))
        session.execute(delete(Card).where(Card.id.in_(card_ids)))
        after_reviews_deleted(session)
        session.execute(delete(StoryLink).where(StoryLink.story_id == note.id))
        session.delete(story)
        session.flush()
        session.delete(note)
    else:
        note.orphaned = True
        note.modified = now
        for card in session.scalars(select(Card).where(Card.note_id == note.id)):
            card.suspended = True
            card.modified = now
    session.flush()


def all_stories(session: Session) -> list[tuple[Note, Story]]:

    rows = session.execute(
        select(Note, Story).join(Story, Story.note_id == Note.id).where(Note.orphaned.is_(False)).order_by(Note.id)
    ).all()
    return [(n, s) for n, s in rows]


def rank_score(story: Story) -> float:
    """Business impact, scope and personal involvement, equally weighted (missing = 0)."""
    return float(sum(getattr(story, k) or 0 for k in SCORES))


def story_recall(session: Session, note_id: int, now: datetime) -> float | None:
    """Mean current recall probability of a story's reviewed cards."""


    schedulers = Schedulers(session, clock_for(session))
    values = []
    for card in session.scalars(select(Card).where(Card.note_id == note_id, Card.suspended.is_(False))):
        r = schedulers.for_card(card).retrievability(memory_of(card), now)
        if r is not None:
            values.append(r)
    return sum(values) / len(values) if values else None


def list_stories(session: Session, now: datetime, rank: bool = False) -> list[dict[str, Any]]:
    """The ``srs story list --json`` rows."""

    links = dict(
        session.execute(select(StoryLink.story_id, func.count()).group_by(StoryLink.story_id)).all()
    )
    rows: list[dict[str, Any]] = []
    for note, story in all_stories(session):
        recall = story_recall(session, note.id, now)
        rows.append(
            {
                "id": note.id,
                "guid": note.guid,
                "title": note.fields.get("Title", ""),
                "framework": note.fields.get("Framework", "STAR"),
                "date": note.fields.get("Date", ""),
                "competencies": list(story.competencies),
                "impact": story.impact,
                "scope": story.scope,
                "involvement": story.involvement,
                "score": rank_score(story),
                "favorite": story.favorite,
                "draft": any(v.strip() == TODO for v in note.fields.values()),
                "linked_questions": links.get(note.id, 0),
                "recall": round(recall, 4) if recall is not None else None,
                "tags": list(note.tags),
            }
        )
    if rank:
        rows.sort(key=lambda r: (-r["score"], -(r["involvement"] or 0), -(r["impact"] or 0), r["id"]))
    return rows


# --- links ----------------------------------------------------------------------


def _deck_of(question: Note) -> str:
    return question.cards[0].deck.name if question.cards else "no deck"


def find_question(session: Session, ref: str) -> list[Note]:
    """A question, by note id or by words that match one question's text: every note that asks it, one per deck
    (a guide deck may ask a question a built-in deck asks too; linking a story to it reaches all of them)."""

    questions = list(
        session.scalars(select(Note).where(Note.kind == NoteKind.QUESTION, Note.orphaned.is_(False)).order_by(Note.id))
    )
    if ref.strip().isdigit():
        note = session.get(Note, int(ref))
        if note is None or note.kind != NoteKind.QUESTION:
            raise NotFoundError(f"no question with id {ref} (question ids are note ids: srs cards --search kind:question)")
        same = normalise(note.fields.get("Question", ""))
        return [note, *(q for q in questions if q.id != note.id and normalise(q.fields.get("Question", "")) == same)]

    wanted = normalise(ref)
    if not wanted:
        raise NotFoundError("give a question id or some words of the question")
    hits = [q for q in questions if wanted in normalise(q.fields.get("Question", ""))]
    if not hits:
        texts: dict[str, list[Note]] = {}
        for q in questions:
            texts.setdefault(normalise(q.fields.get("Question", "")), []).append(q)
        close = difflib.get_close_matches(wanted, list(texts), n=3, cutoff=0.6)
        hits = [q for c in close for q in texts[c]]
    if not hits:
        raise NotFoundError(f"no question matches {ref!r}")
    if len({normalise(q.fields.get("Question", "")) for q in hits}) > 1:
        shown = "; ".join(f"question {q.id} in {_deck_of(q)}: {q.fields.get('Question', '')}" for q in hits[:5])
        raise NotFoundError(f"{len(hits)} questions match {ref!r}, give an id: {shown}")
    return hits


def link_story(session: Session, story_id: int, question_ref: str, now: datetime) -> list[Note]:
    """Link a story to a question, in every deck that asks it; returns those question notes."""
    note, _ = get_story(session, story_id)
    questions = find_question(session, question_ref)
    for question in questions:
        if session.get(StoryLink, (note.id, question.id)) is None:
            session.add(StoryLink(story_id=note.id, question_id=question.id, created=now))
    session.flush()
    return questions


def unlink_story(session: Session, story_id: int, question_ref: str) -> list[Note]:
    """Remove a story's link to a question, in every deck that asks it; returns the question notes unlinked."""
    note, _ = get_story(session, story_id)
    questions = find_question(session, question_ref)
    links = [link for q in questions if (link := session.get(StoryLink, (note.id, q.id))) is not None]
    if not links:
        raise NotFoundError(f"story {story_id} is not linked to question {questions[0].id}")
    for link in links:
        session.delete(link)
    session.flush()
    return [q for q in questions if any(link.question_id == q.id for link in links)]


def decks_asking(questions: list[Note]) -> str:
    """Where a question is asked, for a message: "deck A" or "2 decks: A, B"."""
    names = list(dict.fromkeys(_deck_of(q) for q in questions))
    return f"deck {names[0]}" if len(names) == 1 else f"{len(names)} decks: {', '.join(names)}"


class StoryIndex:
    """Which stories answer which questions: every link and the favorite story, loaded once.

    A question's stories are the ones linked to it, with the favorite ML
    project first on favorite-project questions. Exporting thousands of
    questions asks this once; a review asks it per card (a story bank holds
    dozens of stories, so loading them all is cheap).
    """

    def __init__(self, session: Session) -> None:
        stories = {n.id: (n, s) for n, s in all_stories(session)}
        self.links: dict[NoteId, list[tuple[Note, Story]]] = {}
        for story_id, question_id in session.execute(
            select(StoryLink.story_id, StoryLink.question_id).order_by(StoryLink.story_id)
        ):
            if story_id in stories:
                self.links.setdefault(question_id, []).append(stories[story_id])
        self.favorite = next(((n, s) for n, s in stories.values() if s.favorite), None)

    def for_question(self, question_id: NoteId, tags: list[str]) -> list[tuple[Note, Story]]:
        """The stories that answer question *question_id* (whose tags are *tags*)."""
        found = list(self.links.get(question_id, []))
        if "favorite-project" in tags and self.favorite is not None:
            if all(n.id != self.favorite[0].id for n, _ in found):
                found.insert(0, self.favorite)
        return found


# --- coverage ---------------------------------------------------------------------


def coverage(session: Session, now: datetime) -> dict[str, Any]:
    """Competencies x stories with recall, and the gaps (``srs coverage --json``)."""

    stories = all_stories(session)
    recall = {note.id: story_recall(session, note.id, now) for note, _ in stories}
    rows = []
    for c in COMPETENCIES:
        having = [(n, s) for n, s in stories if c.slug in s.competencies]
        rows.append(
            {
                "competency": c.slug,
                "label": c.label,
                "stories": [
                    {
                        "id": n.id,
                        "title": n.fields.get("Title", ""),
                        "recall": None if (value := recall[n.id]) is None else round(value, 4),
                    }
                    for n, _ in having
                ],
                "too_few": len(having) < 2,
            }
        )

    linked = set(session.scalars(select(StoryLink.question_id)))
    has_favorite = any(s.favorite for _, s in stories)
    has_pitch = get_pitch(session) is not None
    missing = []
    for q in session.scalars(select(Note).where(Note.kind == NoteKind.QUESTION, Note.orphaned.is_(False)).order_by(Note.id)):
        if q.id in linked or (has_favorite and "favorite-project" in q.tags) or (has_pitch and "about-you" in q.tags):
            continue  # answered by a linked story, the favorite project or the pitch
        missing.append({"id": q.id, "question": q.fields.get("Question", ""), "competency": (q.tags or ["general"])[0]})
    return {
        "stories": [{"id": n.id, "title": n.fields.get("Title", "")} for n, _ in stories],
        "competencies": rows,
        "questions_without_story": missing,
    }


# --- brag document import ---------------------------------------------------------


def _new_brag_entries(session: Session, text: str) -> tuple[list[BragEntry], int]:
    """The entries of a brag document not yet in the bank (by title), and how many are."""
    entries = parse_brag(text)
    if not entries:
        raise StoryError("no accomplishments found: use one heading or top-level bullet per accomplishment")
    existing = {normalise(n.fields.get("Title", "")) for n, _ in all_stories(session)}
    fresh, skipped = [], 0
    for entry in entries:
        if normalise(entry.title) in existing:
            skipped += 1
            continue
        existing.add(normalise(entry.title))
        fresh.append(entry)
    return fresh, skipped


def plan_brag(session: Session, text: str) -> tuple[list[str], int]:
    """What `story import` would do: the titles of the drafts it would add, and how many entries are already in the bank."""
    fresh, skipped = _new_brag_entries(session, text)
    return [entry.title for entry in fresh], skipped


def stories_named(session: Session, story_ids: list[int]) -> dict[int, str]:
    """The titles of the stories *story_ids*; NotFoundError listing every id that is not a story."""
    found: dict[int, dict[str, str]] = dict(
        session.execute(
            select(Note.id, Note.fields).join(Story, Story.note_id == Note.id).where(Note.id.in_(story_ids), Note.orphaned.is_(False))
        ).all()
    )
    missing = [i for i in story_ids if i not in found]
    if missing:
        raise NotFoundError(f"no story with id {', '.join(str(i) for i in missing)} (srs story list shows them)")
    return {i: found[i].get("Title", "") for i in story_ids}


def import_brag(session: Session, text: str, now: datetime) -> tuple[list[Note], int]:
    """Draft stories from a brag document; returns (new drafts, entries already present)."""

    fresh, skipped = _new_brag_entries(session, text)
    created = []
    for entry in fresh:
        sections = {name: TODO for name in STAR_SECTIONS}
        sections["Learning"] = TODO
        if entry.notes:
            sections["Notes"] = "\n".join(entry.notes)
        spec = StorySpec(title=entry.title, sections=sections, date=entry.when)
        created.append(save_story(session, spec, now))
    return created, skipped


def lint_stories(session: Session, story_id: int | None, wpm: int) -> list[dict[str, Any]]:
    """The `srs story lint --json` report: each story (or story *story_id*) with its speaking time and findings."""
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
    return report
