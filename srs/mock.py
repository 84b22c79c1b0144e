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
from srs.models import Card, Note
from srs.scheduler import memory_of
from srs.settings import Schedulers, clock_for
from srs.stories import StoryIndex

if TYPE_CHECKING:
    from sqlalchemy.orm import Session



@dataclass(frozen=True)
class MockQuestion:
    card_id: int
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


@dataclass
class MockSummary:
    answers: list[MockAnswer] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        by_competency: dict[str, list[int]] = {}
        for a in self.answers:
            by_competency.setdefault(a.question.competency, []).append(a.rating)
        weakest = sorted(by_competency.items(), key=lambda kv: (sum(kv[1]) / len(kv[1]), kv[0]))
        return {
            "answers": [
                {"question": a.question.question, "competency": a.question.competency, "seconds": round(a.seconds),
                 "rating": a.rating, "over_two_minutes": a.seconds > LONG_ANSWER_SECONDS}
                for a in self.answers
            ],
            "total_seconds": round(sum(a.seconds for a in self.answers)),
            "over_two_minutes": sum(a.seconds > LONG_ANSWER_SECONDS for a in self.answers),
            "weakest_competencies": [BY_SLUG.get(slug, GENERAL).label for slug, _ in weakest[:3]],
            "without_story": [a.question.question for a in self.answers if not a.question.has_story],
        }


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
            card.id, note.fields.get("Question", ""), slug,
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
