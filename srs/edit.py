"""Fixing the collection: what Anki's browser does to cards and decks.

Cards are chosen by id or by a search (``srs.search``); each operation
changes only what it names and says how many cards it changed:

* suspend / unsuspend, bury / unbury (until the next day);
* forget: the card is new again; its answers stay in the log as history,
  and its memory is replayed from the answers after the reset only (Anki's
  "Reset" writes a manual revlog entry with the same meaning);
* move to another deck;
* remove: the card (and a note left without cards) goes; its answers are
  kept by the note's guid and the card's ord (``srs.history``), so a guide
  rebuild or an import that brings the same card back brings its progress
  too; ``purge`` deletes them;
* a note's text, edited as plain text with one ``## Field`` heading per field;
* decks renamed (sub-decks follow, ``merge`` into an existing one) and removed.

Story and pitch cards belong to the story bank: they are removed with
``srs story rm``, and edited with ``srs story edit`` / ``srs pitch --edit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, or_, select, update

from srs.anki.formats import NoteType
from srs.anki.render import foreign_fields
from srs.clock import Clock
from srs.decks import (
    BUILTIN_OFF,
    BUILTIN_PREFIX,
    clean_deck_name,
    find_deck,
    get_or_create_deck,
)
from srs.domain import CardId, CardState, DeckId, NoteId, NoteKind
from srs.errors import NotFoundError, SrsError
from srs.history import keep_removed
from srs.models import (
    AnkiNotetype,
    Card,
    Deck,
    Note,
    RemovedReview,
    Review,
    Story,
    StoryLink,
)
from srs.scheduler import NEW, apply_memory
from srs.search import find_cards
from srs.settings import CARDS_REMOVED, after_reviews_deleted, get_setting, set_setting
from srs.templates import sides_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

BANK_KINDS = {NoteKind.STORY: "srs story rm", NoteKind.PITCH: "srs pitch"}  # notes the story bank owns
EDITABLE_FIELDS = {
    NoteKind.QUESTION: ("Question", "Competency"),
    NoteKind.CONCEPT: ("Context", "Term", "Definition"),
    NoteKind.ASK: ("Topic", "Goal", "Question"),
    NoteKind.LIST: ("Context", "Items"),
}


class NothingMatches(SrsError):
    """A search that finds no card: nothing to change."""


# --- choosing cards -----------------------------------------------------------------


def cards_with_ids(session: Session, ids: Sequence[int]) -> list[CardId]:
    """The cards *ids*, in the order given; NotFoundError naming every id that is not a card."""
    found: set[int] = set()
    for chunk in range(0, len(ids), 500):
        found.update(session.scalars(select(Card.id).where(Card.id.in_(ids[chunk : chunk + 500]))))
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        listed = ", ".join(str(i) for i in missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        raise NotFoundError(f"no card with id {listed} (srs cards --search QUERY shows ids)")
    return [CardId(i) for i in dict.fromkeys(ids)]


def choose_cards(session: Session, ids: Sequence[int], query: str | None, clock: Clock, now: datetime) -> list[CardId]:
    """The cards named by id, or found by *query* (one of the two); NothingMatches when the search finds none."""
    if ids and query is not None:
        raise SrsError("give card ids or --search, not both")
    if query is not None:
        found = find_cards(session, query, clock, now)
        if not found:
            raise NothingMatches(f"no cards match {query!r}; nothing changed")
        return found
    if not ids:
        raise SrsError("name the cards: card ids, or --search QUERY")
    return cards_with_ids(session, ids)


@dataclass(frozen=True)
class Preview:
    """What an operation is about to touch, for the confirmation prompt and --dry-run."""

    cards: int
    notes: int
    decks: tuple[str, ...]
    labels: tuple[str, ...]  # the first few cards, one line each


def preview(session: Session, card_ids: Sequence[CardId], shown: int = 8) -> Preview:

    labels: list[str] = []
    notes: set[int] = set()
    decks: set[str] = set()
    for chunk in range(0, len(card_ids), 500):
        rows = session.execute(
            select(Card.id, Card.ord, Note.id, Note.kind, Note.fields, Note.tags, Deck.name)
            .join(Note, Note.id == Card.note_id)
            .join(Deck, Deck.id == Card.deck_id)
            .where(Card.id.in_(card_ids[chunk : chunk + 500]))
            .order_by(Card.id)
        ).all()
        for card_id, ord_, note_id, kind, fields, tags, deck in rows:
            notes.add(note_id)
            decks.add(deck)
            if len(labels) < shown:
                labels.append(f"{card_id}  {deck}  {sides_of(kind, fields, tags, ord_).summary}")
    return Preview(len(card_ids), len(notes), tuple(sorted(decks)), tuple(labels))


# --- card operations ----------------------------------------------------------------


def _chunks(ids: Sequence[CardId]) -> list[Sequence[CardId]]:
    return [ids[i : i + 500] for i in range(0, len(ids), 500)]


def suspend(session: Session, card_ids: Sequence[CardId], suspended: bool, now: datetime) -> int:
    """Suspend (or unsuspend) the cards; how many changed."""
    changed = 0
    for part in _chunks(card_ids):
        result = session.execute(
            update(Card).where(Card.id.in_(part), Card.suspended.is_not(suspended)).values(suspended=suspended, modified=now)
        )
        changed += _rowcount(result)
    return changed


def bury(session: Session, card_ids: Sequence[CardId], buried: bool, today: int, now: datetime) -> int:
    """Bury the cards until the next day (or unbury them); how many changed."""
    changed = 0
    for part in _chunks(card_ids):
        if buried:
            condition = or_(Card.buried_until.is_(None), Card.buried_until <= today)
            values = {"buried_until": today + 1, "modified": now}
        else:
            condition = Card.buried_until > today
            values = {"buried_until": None, "modified": now}
        changed += _rowcount(session.execute(update(Card).where(Card.id.in_(part), condition).values(**values)))
    return changed


def forget(session: Session, card_ids: Sequence[CardId], now: datetime) -> int:
    """Make the cards new again, keeping their answers as history; how many changed (new cards never answered stay)."""
    reset = now
    times = set(session.scalars(select(Review.reviewed_at).where(Review.reviewed_at >= now - timedelta(seconds=1))))
    while reset in times:  # the reset becomes a revlog row in an export, whose ids are unique
        reset += timedelta(milliseconds=1)
    changed = 0
    for part in _chunks(card_ids):
        for card in session.scalars(select(Card).where(Card.id.in_(part))):
            if card.state == CardState.NEW and card.reset_at is None and card.anki_schedule is None and not _answered(session, card.id):
                continue
            apply_memory(card, NEW)
            card.reset_at = reset
            card.anki_schedule = None
            card.buried_until = None
            card.modified = now
            changed += 1
    session.flush()
    return changed


def _answered(session: Session, card_id: CardId) -> bool:
    return session.scalar(select(Review.id).where(Review.card_id == card_id).limit(1)) is not None


def move(session: Session, card_ids: Sequence[CardId], deck_name: str, now: datetime) -> tuple[str, int, bool]:
    """Move the cards into *deck_name* (made if it does not exist): (its name, how many moved, whether it was made)."""
    existed = session.scalar(select(Deck.id).where(func.lower(Deck.name) == deck_name.strip().lower())) is not None
    deck = find_deck(session, deck_name) if existed else get_or_create_deck(session, deck_name, now)
    moved = 0
    for part in _chunks(card_ids):
        moved += _rowcount(
            session.execute(update(Card).where(Card.id.in_(part), Card.deck_id != deck.id).values(deck_id=deck.id, modified=now))
        )
    return deck.name, moved, not existed


@dataclass(frozen=True)
class Removed:
    cards: int
    notes: int
    answers_kept: int
    answers_deleted: int


def _refuse_bank_cards(session: Session, card_ids: Sequence[CardId], what: str) -> None:
    for part in _chunks(card_ids):
        row = session.execute(
            select(Card.id, Note.id, Note.kind).join(Note, Note.id == Card.note_id).where(Card.id.in_(part), Note.kind.in_(list(BANK_KINDS)))
        ).first()
        if row is not None:
            card_id, note_id, kind = row
            how = f"srs story rm {note_id}" if kind == NoteKind.STORY else "srs pitch (edit it; it cannot be removed)"
            raise SrsError(f"{what} holds card {card_id} of your {kind}; it belongs to the story bank: {how}")


def remove(session: Session, card_ids: Sequence[CardId], now: datetime, purge: bool = False) -> Removed:
    """Remove the cards, and the notes left without cards; their answers are kept for a return unless *purge*."""
    _refuse_bank_cards(session, card_ids, "the selection")
    kept = deleted = 0
    notes: set[NoteId] = set()
    for part in _chunks(card_ids):
        notes.update(session.scalars(select(Card.note_id).where(Card.id.in_(part))))
        count = session.scalar(select(func.count(Review.id)).where(Review.card_id.in_(part))) or 0
        if purge:
            guids_ords = session.execute(select(Note.guid, Card.ord).join(Note, Note.id == Card.note_id).where(Card.id.in_(part))).all()
            for guid, ord_ in guids_ords:  # and whatever an earlier removal of the same card kept
                deleted += _rowcount(session.execute(delete(RemovedReview).where(RemovedReview.guid == guid, RemovedReview.ord == ord_)))
            deleted += count
        else:
            kept += keep_removed(session, part, now)
        session.execute(delete(Review).where(Review.card_id.in_(part)))
        session.execute(delete(Card).where(Card.id.in_(part)))
    after_reviews_deleted(session)
    empty = [n for n in notes if session.scalar(select(Card.id).where(Card.note_id == n).limit(1)) is None]
    if len(empty) < len(notes):  # a note keeps other cards: the next sync takes this one out of it there too
        set_setting(session, CARDS_REMOVED, True)
    for chunk in range(0, len(empty), 500):
        part_notes = empty[chunk : chunk + 500]
        session.execute(delete(StoryLink).where(or_(StoryLink.question_id.in_(part_notes), StoryLink.story_id.in_(part_notes))))
        session.execute(delete(Story).where(Story.note_id.in_(part_notes)))
        session.execute(delete(Note).where(Note.id.in_(part_notes)))
    session.expire_all()
    return Removed(len(card_ids), len(empty), kept, deleted)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- decks --------------------------------------------------------------------------


def _family(session: Session, deck: Deck) -> list[Deck]:
    """*deck* and its sub-decks, parents first."""
    prefix = deck.name.lower() + "::"
    children = [d for d in session.scalars(select(Deck)) if d.name.lower().startswith(prefix)]
    return [deck, *sorted(children, key=lambda d: d.name.count("::"))]


@dataclass(frozen=True)
class Renamed:
    renamed: tuple[tuple[str, str], ...]  # (old, new) per deck
    merged: tuple[tuple[str, str], ...]  # (old, into) per deck whose cards joined an existing deck
    cards_moved: int


def rename_deck(session: Session, old: str, new: str, merge: bool, now: datetime) -> Renamed:
    """Rename *old* to *new*; its sub-decks follow. Onto an existing deck only with *merge* (its cards join it)."""
    deck = find_deck(session, old)
    new = clean_deck_name(new)
    if new.lower().startswith(deck.name.lower() + "::"):
        raise SrsError(f"cannot move {deck.name!r} inside itself ({new!r})")
    family = _family(session, deck)
    moving = {d.id for d in family}
    by_name = {d.name.lower(): d for d in session.scalars(select(Deck)) if d.id not in moving}
    plan = [(d, new + d.name[len(deck.name):]) for d in family]
    clashes = [target for _, target in plan if target.lower() in by_name]
    if clashes and not merge:
        raise SrsError(f"a deck named {by_name[clashes[0].lower()].name!r} exists; add --merge to move the cards of {deck.name!r} into it")
    renamed: list[tuple[str, str]] = []
    merged: list[tuple[str, str]] = []
    moved = 0
    for d, target in plan:
        existing = by_name.get(target.lower())
        if existing is None:
            renamed.append((d.name, target))
            d.name = target
            continue
        moved += _rowcount(session.execute(update(Card).where(Card.deck_id == d.id).values(deck_id=existing.id, modified=now)))
        if existing.guide is None and d.guide is not None:
            existing.guide = d.guide
        if existing.source is None:
            existing.source = d.source
        merged.append((d.name, existing.name))
        session.delete(d)
    session.flush()
    return Renamed(tuple(renamed), tuple(merged), moved)


@dataclass(frozen=True)
class DeckRemoval:
    decks: tuple[str, ...]
    removed: Removed
    disabled: tuple[str, ...]  # built-in decks turned off


def builtin_key(deck: Deck) -> str | None:
    return deck.source.removeprefix(BUILTIN_PREFIX) if deck.source and deck.source.startswith(BUILTIN_PREFIX) else None


def deck_cards(session: Session, deck_ids: Sequence[DeckId]) -> list[CardId]:
    return [CardId(i) for i in session.scalars(select(Card.id).where(Card.deck_id.in_(deck_ids)).order_by(Card.id))]


def remove_deck_plan(session: Session, name: str, disable: bool) -> tuple[list[Deck], list[CardId]]:
    """The decks (the deck and its sub-decks) and cards `srs deck rm NAME` would remove; refuses what it must not."""
    deck = find_deck(session, name)
    family = _family(session, deck)
    builtin = [d.name for d in family if builtin_key(d) is not None]
    if builtin and not disable:
        raise SrsError(
            f"{builtin[0]!r} is a built-in deck: removed, it comes back the next time srs starts. "
            f"To remove it for good: srs deck rm {deck.name!r} --disable (srs deck enable brings it back)"
        )
    cards = deck_cards(session, [d.id for d in family])
    _refuse_bank_cards(session, cards, f"deck {deck.name!r}")
    return family, cards


def remove_deck(session: Session, name: str, now: datetime, purge: bool = False, disable: bool = False) -> DeckRemoval:
    """Remove a deck, its sub-decks and their cards (answers kept for a return unless *purge*)."""
    family, cards = remove_deck_plan(session, name, disable)
    removed = remove(session, cards, now, purge)
    off = list(get_setting(session, BUILTIN_OFF) or [])
    disabled = []
    names = []
    for d in family:
        deck = session.get(Deck, d.id)
        if deck is None:
            continue
        names.append(deck.name)
        key = builtin_key(deck)
        if key is not None and key not in off:
            off.append(key)
            disabled.append(deck.name)
        session.delete(deck)
    if disabled:
        set_setting(session, BUILTIN_OFF, off)
    session.flush()
    return DeckRemoval(tuple(names), removed, tuple(disabled))


def enable_builtin(session: Session, name: str, builtin_names: dict[str, str]) -> str:
    """Turn a built-in deck back on (built on the next start); *builtin_names* maps its key to its deck name."""
    off = list(get_setting(session, BUILTIN_OFF) or [])
    for key, deck_name in builtin_names.items():
        if deck_name.lower() == name.strip().lower() or key == name.strip():
            if key not in off:
                raise SrsError(f"{deck_name!r} is not turned off")
            off.remove(key)
            set_setting(session, BUILTIN_OFF, off)
            return deck_name
    raise NotFoundError(f"no built-in deck named {name!r} (built-in decks: {', '.join(builtin_names.values())})")


# --- editing a note's text ------------------------------------------------------------


def editable_fields(session: Session, note: Note) -> tuple[str, ...]:
    if note.kind in BANK_KINDS:
        how = f"srs story edit {note.id}" if note.kind == NoteKind.STORY else "srs pitch --edit"
        raise SrsError(f"this card is part of your {note.kind}: edit it with {how}")
    if note.kind == NoteKind.ANKI:
        notetype = session.get(AnkiNotetype, note.anki_notetype_id) if note.anki_notetype_id is not None else None
        if notetype is None or note.anki_fields is None:
            raise SrsError("this imported note was stored without its Anki fields (an import before srs kept them); import it again to edit it")
        return tuple(notetype.fields)
    return EDITABLE_FIELDS.get(note.kind, tuple(note.fields))


def note_for_card(session: Session, card_id: CardId) -> Note:
    card = session.get(Card, card_id)
    if card is None:
        raise NotFoundError(f"no card with id {card_id} (srs cards --search QUERY shows ids)")
    return card.note


def note_text(session: Session, note: Note, card_id: CardId) -> str:
    """The note's fields as text to edit: a few comment lines, then one '## Field' heading per field."""
    names = editable_fields(session, note)
    values = note.anki_fields if note.kind == NoteKind.ANKI and note.anki_fields is not None else [note.fields.get(n, "") for n in names]
    lines = [
        f"# Card {card_id}: a {note.kind} note. Change the text under each '## Field' heading and save.",
        "# Lines starting with '# ' up here are ignored. The note keeps its identity, and its cards their progress.",
    ]
    if note.kind == NoteKind.ANKI:
        lines.append("# Fields are Anki's HTML, as the note came: what you write here goes back to Anki as it is.")
    if note.source:
        lines.append("# Rebuilding the guide keeps your text from now on.")
    for name, value in zip(names, values):
        lines += ["", f"## {name}", value.rstrip("\n")]
    return "\n".join(lines) + "\n"


def parse_note_text(text: str, names: Sequence[str]) -> list[str]:
    """The field values in *text* (the note_text format), in the order of *names*; SrsError pointing at a problem."""
    values: dict[str, list[str]] = {}
    current: str | None = None
    wanted = {n.lower(): n for n in names}
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            title = line[3:].strip()
            if title.lower() not in wanted:
                raise SrsError(f"line {number}: no field called {title!r} (fields: {', '.join(names)})")
            current = wanted[title.lower()]
            if current in values:
                raise SrsError(f"line {number}: the field {current!r} appears twice")
            values[current] = []
        elif current is None:
            if line.strip() and not line.startswith("#"):
                raise SrsError(f"line {number}: text before the first '## Field' heading")
        else:
            values[current].append(line)
    missing = [n for n in names if n not in values]
    if missing:
        raise SrsError(f"the field {missing[0]!r} is missing: keep every '## Field' heading (an empty field is fine)")
    return ["\n".join(values[n]).strip("\n") for n in names]


def save_note_text(session: Session, note: Note, values: list[str], now: datetime) -> bool:
    """Store edited field values; whether anything changed. Identity (guid), cards and their progress stay."""
    names = editable_fields(session, note)
    if note.kind == NoteKind.ANKI:

        if values == note.anki_fields:
            return False
        notetype = session.get(AnkiNotetype, note.anki_notetype_id)
        assert notetype is not None
        templates = [(t[0], t[1], t[2]) for t in notetype.templates]
        shape = NoteType(notetype.id, notetype.name, notetype.cloze, list(notetype.fields), templates, notetype.css)
        note.anki_fields = list(values)
        note.fields = foreign_fields(shape, list(values), [card.ord for card in note.cards])
    else:
        first = values[0].strip()
        if not first:
            raise SrsError(f"the field {names[0]!r} cannot be empty")
        fields = dict(note.fields)
        fields.update(zip(names, values))
        if fields == note.fields:
            return False
        note.fields = fields
    note.edited = now
    note.modified = now
    session.flush()
    return True
