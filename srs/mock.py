"""Choosing the questions of a mock interview, and summing one up.

Questions are drawn across competencies, weakest first: a question's
weakness is how likely it is to be forgotten now (1 - recall; 0.5 for a
question never reviewed), plus 0.5 when no story is linked to it. One
question per competency in turn, so a short mock still covers ground.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from srs.competencies import BY_SLUG, GENERAL
from srs.domain import NoteKind
from srs.lint import LONG_ANSWER_SECONDS
from srs.models import Card, Note, StoryLink
from srs.scheduler import memory_of
from srs.settings import Schedulers, clock_for
from srs.stories import StoryIndex, all_stories, rank_score

if TYPE_CHECKING:
    from sqlalchemy.orm import Session



@dataclass(frozen=True)
class MockQuestion:
    card_id: int
    note_id: int
    question: str
    competency: str  # slug
    recall: float | None
    has_story: bool

    @property
    def weakness(self) -> float:
        return (0.5 if self.recall is None else 1 - self.recall) + (0 if self.has_story else 0.5)


@dataclass
class MockAnswer:
    question: MockQuestion
    seconds: float
    rating: int


# A competency is weak in a mock when its answers average below Good: an Again or a Hard pulled it down.
WEAK_BELOW = 3.0


@dataclass
class MockSummary:
    answers: list[MockAnswer] = field(default_factory=list)

    def weak(self) -> list[tuple[str, float, list[MockAnswer]]]:
        """The competencies answered below Good on average, weakest first: (slug, mean rating, their answers)."""
        by_competency: dict[str, list[MockAnswer]] = {}
        for a in self.answers:
            by_competency.setdefault(a.question.competency, []).append(a)
        means = {slug: sum(a.rating for a in answers) / len(answers) for slug, answers in by_competency.items()}
        order = sorted(means, key=lambda slug: (means[slug], slug))
        return [(slug, means[slug], by_competency[slug]) for slug in order if means[slug] < WEAK_BELOW]

    def as_dict(self, session: Session | None = None) -> dict[str, Any]:
        """The summary; given *session*, each weak competency names a story of the bank that covers it and is not
        linked to the questions asked (one to link, or to rehearse)."""
        weak = self.weak()
        suggestions = _unlinked_stories(session, weak) if session is not None else {}
        return {
            "answers": [
                {"question": a.question.question, "competency": a.question.competency, "seconds": round(a.seconds),
                 "rating": a.rating, "over_two_minutes": a.seconds > LONG_ANSWER_SECONDS}
                for a in self.answers
            ],
            "total_seconds": round(sum(a.seconds for a in self.answers)),
            "over_two_minutes": sum(a.seconds > LONG_ANSWER_SECONDS for a in self.answers),
            "weak_competencies": [
                {"competency": slug, "label": BY_SLUG.get(slug, GENERAL).label, "mean_rating": round(mean, 2),
                 "questions": [a.question.note_id for a in answers], "story": suggestions.get(slug)}
                for slug, mean, answers in weak
            ],
            "without_story": [a.question.question for a in self.answers if not a.question.has_story],
        }


def _unlinked_stories(session: Session, weak: list[tuple[str, float, list[MockAnswer]]]) -> dict[str, dict[str, Any]]:
    """For each weak competency, the best-ranked story that covers it and is linked to none of the questions asked on
    it: {slug: {"id", "title"}}."""
    stories = sorted(all_stories(session), key=lambda pair: (-rank_score(pair[1]), pair[0].id))
    linked: dict[int, set[int]] = {}
    for story_id, question_id in session.execute(select(StoryLink.story_id, StoryLink.question_id)):
        linked.setdefault(int(question_id), set()).add(int(story_id))
    found: dict[str, dict[str, Any]] = {}
    for slug, _, answers in weak:
        taken = set().union(*(linked.get(a.question.note_id, set()) for a in answers))
        for note, story in stories:
            if slug in story.competencies and note.id not in taken:
                found[slug] = {"id": note.id, "title": note.fields.get("Title", "")}
                break
    return found


def pick_questions(session: Session, now: datetime, count: int, rng: random.Random) -> list[MockQuestion]:
    """*count* questions, one competency at a time, the weakest of each first."""

    schedulers = Schedulers(session, clock_for(session))
    stories = StoryIndex(session)
    pools: dict[str, list[MockQuestion]] = {}
    for card in session.scalars(
        select(Card).join(Note).where(Note.kind == NoteKind.QUESTION, Note.orphaned.is_(False), Card.suspended.is_(False))
    ):
        note = card.note
        slug = next((t for t in note.tags if t in BY_SLUG), GENERAL.slug)
        question = MockQuestion(
            card.id, note.id, note.fields.get("Question", ""), slug,
            schedulers.for_card(card).retrievability(memory_of(card), now), bool(stories.for_question(note.id, note.tags)),
        )
        pools.setdefault(slug, []).append(question)
    for pool in pools.values():
        rng.shuffle(pool)  # ties broken at random, then weakest first
        pool.sort(key=lambda q: -q.weakness)
    order = sorted(pools, key=lambda slug: -pools[slug][0].weakness)
    picked: list[MockQuestion] = []
    while len(picked) < count and any(pools.values()):
        for slug in order:
            if pools[slug] and len(picked) < count:
                picked.append(pools[slug].pop(0))
    return picked
