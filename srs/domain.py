"""The vocabulary every layer shares: card states, ratings, note kinds, typed ids and stored instants.

Kept apart from the database models so that the scheduler and the pure text
formats can speak of a card's state or a note's kind without importing the
ORM. Ids are ``NewType``s: an srs card id and an Anki card id are both ints
at run time, but a type checker keeps them apart where they meet (the Anki
importer maps one to the other).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import IntEnum
from typing import NewType

# srs's own rows
NoteId = NewType("NoteId", int)
CardId = NewType("CardId", int)
DeckId = NewType("DeckId", int)
PresetId = NewType("PresetId", int)
ReviewId = NewType("ReviewId", int)

# ids inside an Anki collection or package (rslib: NoteId, CardId, DeckId, NotetypeId, DeckConfigId)
AnkiNoteId = NewType("AnkiNoteId", int)
AnkiCardId = NewType("AnkiCardId", int)
AnkiDeckId = NewType("AnkiDeckId", int)
AnkiNotetypeId = NewType("AnkiNotetypeId", int)
AnkiDeckConfigId = NewType("AnkiDeckConfigId", int)


def to_ms(value: datetime) -> int:
    """An instant as the database stores it: Unix milliseconds."""
    return round(value.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    """A stored instant (Unix milliseconds) as an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


class CardState(IntEnum):
    """A card's place in its life, numbered like Anki's card type."""

    NEW = 0
    LEARNING = 1
    REVIEW = 2
    RELEARNING = 3


class Rating(IntEnum):
    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4


class NoteKind:
    """The kinds of note srs knows; stored as plain strings."""

    QUESTION = "question"  # a behavioral question to answer aloud
    CONCEPT = "concept"  # a term and its meaning (STAR parts, mistakes, ...)
    ASK = "ask"  # a question to ask the interviewer
    LIST = "list"  # a named list to recall (e.g. topics to ask about)
    STORY = "story"
    PITCH = "pitch"
    ANKI = "anki"  # a note of a foreign Anki note type, imported with its cards' text

    ALL = (QUESTION, CONCEPT, ASK, LIST, STORY, PITCH)
