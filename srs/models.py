"""The collection's schema as SQLAlchemy 2.x models.

Vocabulary follows Anki's: a *note* holds the text (fields) and has a stable
``guid``; a note has one or more *cards*, each with its own scheduling state;
every answer is a *review* row. The review log is the source of truth: a
card's columns are a cache of replaying its reviews (see ``scheduler.replay``).

Times are stored as integer milliseconds since the Unix epoch (UTC) and come
back as aware UTC datetimes; integers keep the hot "what is due" queries cheap.
The DDL that creates these tables lives in ``db.MIGRATIONS``; a test checks
that the two agree.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from srs.domain import (
    AnkiDeckId,
    AnkiNotetypeId,
    CardId,
    CardState,
    DeckId,
    NoteId,
    PresetId,
    Rating,
    ReviewId,
    from_ms,
)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as integer milliseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass aware UTC datetimes")
        return round(value.timestamp() * 1000)

    def process_result_value(self, value: int | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return from_ms(value)


class IntEnumColumn(TypeDecorator[IntEnum]):
    """An IntEnum stored as its integer: rows come back as the enum, and ints are accepted as before."""

    impl = Integer
    cache_ok = True

    def __init__(self, enum: type[IntEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        return None if value is None else int(value)

    def process_result_value(self, value: int | None, dialect: Any) -> IntEnum | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Collection-wide settings (timezone, rollover hour, ...), as JSON values."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Preset(Base):
    """Deck options shared by decks: FSRS parameters, retention and steps."""

    __tablename__ = "presets"
    id: Mapped[PresetId] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    desired_retention: Mapped[float] = mapped_column(Float)
    parameters: Mapped[list[float]] = mapped_column(JSON)
    learning_steps: Mapped[list[int]] = mapped_column(JSON)  # seconds
    relearning_steps: Mapped[list[int]] = mapped_column(JSON)  # seconds
    maximum_interval: Mapped[int] = mapped_column(Integer)


class Deck(Base):
    __tablename__ = "decks"
    id: Mapped[DeckId] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)  # hierarchy as Parent::Child
    preset_id: Mapped[PresetId] = mapped_column(ForeignKey("presets.id"))
    source: Mapped[str | None] = mapped_column(String)  # "builtin:NAME" or a guide path
    description: Mapped[str] = mapped_column(Text, default="")
    anki_id: Mapped[AnkiDeckId] = mapped_column(BigInteger, unique=True)  # fixed id for Anki export
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    guide: Mapped[str | None] = mapped_column(String, default=None)  # the guide file it is built from

    preset: Mapped[Preset] = relationship()


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[NoteId] = mapped_column(Integer, primary_key=True)
    guid: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String)
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String)  # which build owns the note
    source_key: Mapped[str | None] = mapped_column(String)  # its normalised text there
    orphaned: Mapped[bool] = mapped_column(Boolean, default=False)  # gone from its source
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    # notes of a foreign Anki note type: that note type, and the raw field HTML
    anki_notetype_id: Mapped[AnkiNotetypeId | None] = mapped_column(ForeignKey("anki_notetypes.id"), default=None)
    anki_fields: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # last edited by hand (srs card edit)

    cards: Mapped[list[Card]] = relationship(back_populates="note", order_by="Card.ord")


class AnkiNotetype(Base):
    """A foreign Anki note type, kept so its notes can be exported as they came."""

    __tablename__ = "anki_notetypes"
    id: Mapped[AnkiNotetypeId] = mapped_column(Integer, primary_key=True)  # Anki's note type id
    name: Mapped[str] = mapped_column(String)
    cloze: Mapped[bool] = mapped_column(Boolean)
    fields: Mapped[list[str]] = mapped_column(JSON)
    templates: Mapped[list[list[str]]] = mapped_column(JSON)  # [name, front format, back format]
    css: Mapped[str] = mapped_column(Text)


class Card(Base):
    __tablename__ = "cards"
    id: Mapped[CardId] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[NoteId] = mapped_column(ForeignKey("notes.id"))
    ord: Mapped[int] = mapped_column(Integer, default=0)
    deck_id: Mapped[DeckId] = mapped_column(ForeignKey("decks.id"))
    state: Mapped[CardState] = mapped_column(IntEnumColumn(CardState), default=CardState.NEW)
    step: Mapped[int | None] = mapped_column(Integer)
    stability: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float | None] = mapped_column(Float)
    due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_review: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order among new cards
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    # The schedule Anki gave an imported card (type, queue, due, ivl, factor,
    # left, as in its card row), kept until srs schedules the card: srs shows
    # it due when Anki had it due and an export writes it back. NULL for a
    # card srs scheduled. See anki/import_.py.
    anki_schedule: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    buried_until: Mapped[int | None] = mapped_column(Integer, default=None)  # day number it comes back on
    # When the user made the card new again (srs card forget): its memory is
    # the replay of the answers after this instant; earlier ones stay as history.
    reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    note: Mapped[Note] = relationship(back_populates="cards")
    deck: Mapped[Deck] = relationship()


class Review(Base):
    """One answer: the rating given, when, how long it took, and the state after."""

    __tablename__ = "reviews"
    # reviewed_at is unique (an index); a collision is moved on by a millisecond.
    id: Mapped[ReviewId] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[CardId] = mapped_column(ForeignKey("cards.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rating: Mapped[Rating] = mapped_column(IntEnumColumn(Rating))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    prev_state: Mapped[CardState] = mapped_column(IntEnumColumn(CardState))
    state: Mapped[CardState] = mapped_column(IntEnumColumn(CardState))
    step: Mapped[int | None] = mapped_column(Integer)
    stability: Mapped[float] = mapped_column(Float)
    difficulty: Mapped[float] = mapped_column(Float)
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    # Anki revlog units: days if positive, seconds if negative (see db._m003).
    interval: Mapped[int] = mapped_column(Integer, default=0)
    last_interval: Mapped[int] = mapped_column(Integer, default=0)
    # An answer imported from Anki: its revlog row's ivl, lastIvl, factor and
    # type as Anki wrote them, so an export gives the row back unchanged.
    anki_ivl: Mapped[int | None] = mapped_column(Integer, default=None)
    anki_last_ivl: Mapped[int | None] = mapped_column(Integer, default=None)
    anki_factor: Mapped[int | None] = mapped_column(Integer, default=None)
    anki_type: Mapped[int | None] = mapped_column(Integer, default=None)


class RemovedReview(Base):
    """An answer of a removed card, kept by its note's guid and card ord so the card can come back with its progress."""

    __tablename__ = "removed_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guid: Mapped[str] = mapped_column(String)
    ord: Mapped[int] = mapped_column(Integer)
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rating: Mapped[Rating] = mapped_column(IntEnumColumn(Rating))
    duration_ms: Mapped[int] = mapped_column(Integer)
    anki_ivl: Mapped[int | None] = mapped_column(Integer, default=None)
    anki_last_ivl: Mapped[int | None] = mapped_column(Integer, default=None)
    anki_factor: Mapped[int | None] = mapped_column(Integer, default=None)
    anki_type: Mapped[int | None] = mapped_column(Integer, default=None)


class Story(Base):
    """What a story note needs beyond its text: scores, competencies, flags."""

    __tablename__ = "stories"
    note_id: Mapped[NoteId] = mapped_column(ForeignKey("notes.id"), primary_key=True)
    competencies: Mapped[list[str]] = mapped_column(JSON)  # competency slugs
    impact: Mapped[int | None] = mapped_column(Integer)  # 1-5
    scope: Mapped[int | None] = mapped_column(Integer)  # 1-5
    involvement: Mapped[int | None] = mapped_column(Integer)  # 1-5
    favorite: Mapped[bool] = mapped_column(Boolean, default=False)  # the favorite ML project


class StoryLink(Base):
    """A story the user will tell for a question."""

    __tablename__ = "story_links"
    story_id: Mapped[NoteId] = mapped_column(ForeignKey("notes.id"), primary_key=True)
    question_id: Mapped[NoteId] = mapped_column(ForeignKey("notes.id"), primary_key=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
