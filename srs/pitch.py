"""The "Tell me about yourself" pitch as one structured note with one card.

Three parts, in the order an interviewer should hear them: who you are (with
one personal detail that makes you memorable), your notable accomplishments
and their impact, and what you want next. The card asks for the pitch; its
answer shows the three parts as an outline to check yourself against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from srs.decks import STORIES_DECK, get_or_create_deck
from srs.domain import NoteKind
from srs.errors import StoryError
from srs.models import Card, Note
from srs.sanitize import printable
from srs.story_format import heading, reject_controls, strip_comments

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PITCH_GUID = "srs-pitch"
PARTS = {"Who": "Who I am", "Accomplishments": "Accomplishments", "Next": "What I want next"}
_ALIASES = {
    "who i am": "Who",
    "who": "Who",
    "accomplishments": "Accomplishments",
    "highlights": "Accomplishments",
    "what i want next": "Next",
    "next": "Next",
}

TEMPLATE = """\
<!-- Your answer to "Tell me about yourself", in three parts. Keep it under
two minutes aloud. Write TODO to fill a part later. -->

## Who I am
{Who}

## Accomplishments
{Accomplishments}

## What I want next
{Next}
"""


@dataclass
class Pitch:
    who: str
    accomplishments: str
    next: str

    def fields(self) -> dict[str, str]:
        return {"Who": self.who, "Accomplishments": self.accomplishments, "Next": self.next}


def render_pitch(fields: dict[str, str] | None) -> str:
    fields = fields or {}
    return TEMPLATE.format(**{k: printable(fields.get(k, "")) for k in PARTS})


def parse_pitch(text: str) -> Pitch:
    reject_controls(text, "the pitch")
    text = strip_comments(text)
    parts: dict[str, list[str]] = {}
    current = None
    for number, line in enumerate(text.split("\n"), 1):
        title = heading(line)
        if title is not None:
            key = _ALIASES.get(title.rstrip(":").lower())
            if key is None:
                shown = title if len(title) <= 60 else title[:60] + "…"
                raise StoryError(f"line {number}: unknown section {shown!r} (sections: {', '.join(PARTS.values())})")
            parts[key] = []
            current = key
        elif current is not None:
            parts[current].append(line)
        elif line.strip():
            raise StoryError(f"line {number}: text before the first section heading")
    out = {}
    for key, title in PARTS.items():
        body = "\n".join(parts.get(key, [])).strip()
        if not body:
            raise StoryError(f"section {title!r} is missing or empty (write TODO to fill it later)")
        out[key] = body
    return Pitch(out["Who"], out["Accomplishments"], out["Next"])


def get_pitch(session: Session) -> Note | None:
    return session.scalars(select(Note).where(Note.guid == PITCH_GUID)).first()


def save_pitch(session: Session, pitch: Pitch, now: datetime) -> Note:
    """Create or update the pitch note and its card; the caller commits."""
    note = get_pitch(session)
    if note is None:
        note = Note(
            guid=PITCH_GUID, kind=NoteKind.PITCH, fields={}, tags=["about-you"], source="pitch",
            orphaned=False, created=now, modified=now,
        )
        session.add(note)
        session.flush()
        deck = get_or_create_deck(session, STORIES_DECK, now)
        session.add(Card(note_id=note.id, ord=0, deck_id=deck.id, position=0, created=now, modified=now))
    if note.fields != pitch.fields():
        note.fields = pitch.fields()
        note.modified = now
    session.flush()
    return note
