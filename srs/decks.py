"""Syncing a guide's note specs into a deck, and the built-in decks.

A build is a sync, not an import: each spec is matched to a note the same
source made before, first by its exact identity key, then by close text (so
fixing a typo or rewording a question keeps the note, its guid and its
cards' progress). Matched notes get the new text; new specs become new
notes; notes whose item left the guide are marked orphaned and their cards
suspended, never deleted, so their history stays.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from srs.domain import DeckId
from srs.errors import GuideError, NotFoundError, SrsError
from srs.files import read_limited
from srs.guide import MAX_GUIDE_BYTES, Guide, NoteSpec, parse_guide, stable_guid
from srs.history import removed_guids, restore_removed
from srs.models import Card, Deck, Note
from srs.settings import default_preset, get_setting, set_setting

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STORIES_DECK = "Interview::Stories"  # where stories and the pitch get their cards
# Two texts are "the same item, edited" at or above this similarity.
MATCH_THRESHOLD = 0.75
BUILTIN_PREFIX = "builtin:"


@dataclass(frozen=True)
class SyncResult:
    deck: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    orphaned: int = 0
    restored: int = 0
    kept_edits: int = 0  # notes whose text the user edited: the guide's text did not replace it
    returned: int = 0  # cards removed earlier that came back with their progress


def cards_per_kind(kind: str) -> int:
    """How many cards a note of *kind* has (story notes will differ)."""
    return 1


def deck_anki_id(name: str, attempt: int = 0) -> int:
    """A fixed positive 63-bit id for a deck, from the name it was created with (and, when a deck renamed since
    holds that id, the first *attempt* whose id is free)."""
    seed = f"srs-deck:{name}" if attempt == 0 else f"srs-deck:{name}#{attempt}"
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") >> 2


def _free_anki_id(session: Session, name: str) -> int:
    """The id a new deck called *name* gets: the one its name gives, unless a deck renamed from that name kept it."""
    taken = set(session.scalars(select(Deck.anki_id)))
    attempt = 0
    while deck_anki_id(name, attempt) in taken:
        attempt += 1
    return deck_anki_id(name, attempt)


def clean_deck_name(name: str) -> str:
    """*name* with each ``::`` part trimmed; GuideError when it is empty or has an empty part."""
    cleaned = "::".join(part.strip() for part in name.split("::"))
    if not cleaned or any(not part for part in cleaned.split("::")):
        raise GuideError(f"bad deck name {name!r}: parts of a name are separated by '::' and none may be empty")
    return cleaned


# A default deck name fits a listing's deck column beside the card's text (`srs cards` at 80 columns).
SHORT_NAME = 32


def short_deck_name(title: str) -> str:
    """A guide's deck name by default: its title's words (no emoji or marks, no `::`), cut at a word to fit
    SHORT_NAME characters; "" when nothing is left. (`srs deck build --deck NAME` picks any name.)"""
    words = re.sub(r"[^\w&+'’.,()/-]+", " ", title.replace("::", " ")).split()
    name = ""
    for word in words:
        longer = f"{name} {word}".strip()
        if len(longer) > SHORT_NAME:
            break
        name = longer
    return name.rstrip(",.-/&+") or (words[0][:SHORT_NAME] if words else "")


def get_or_create_deck(session: Session, name: str, now: datetime, source: str | None = None) -> Deck:
    name = clean_deck_name(name)
    deck = session.scalars(select(Deck).where(Deck.name == name)).first()
    if deck is None:
        deck = Deck(
            name=name,
            preset_id=default_preset(session).id,
            source=source,
            description="",
            anki_id=_free_anki_id(session, name),
            created=now,
        )
        session.add(deck)
        session.flush()
    return deck


def find_deck(session: Session, name: str) -> Deck:
    """The deck called *name* (case-insensitive), or NotFoundError."""

    deck = session.scalars(select(Deck).where(func.lower(Deck.name) == name.lower())).first()
    if deck is None:
        known = ", ".join(session.scalars(select(Deck.name).order_by(Deck.name))) or "none yet"
        raise NotFoundError(f"no deck named {name!r} (decks: {known})")
    return deck


def deck_and_children(session: Session, name: str) -> list[DeckId]:
    """Ids of the deck called *name* and of its sub-decks (Parent::Child)."""

    rows = session.execute(select(Deck.id, Deck.name)).all()
    prefix = name.lower() + "::"
    children = [i for i, n in rows if n.lower().startswith(prefix)]
    if children:  # a parent may exist only through its children (Parent::Child)
        exact = [i for i, n in rows if n.lower() == name.lower()]
        return exact + children
    return [find_deck(session, name).id]


def sync_guide(session: Session, guide: Guide, deck_name: str, source: str, now: datetime) -> SyncResult:
    """Make the notes of *source* match *guide*; the caller commits."""

    # the deck this source feeds, under whatever name the user has given it since
    deck = session.scalars(select(Deck).where(Deck.source == source).order_by(Deck.id)).first() or get_or_create_deck(
        session, deck_name, now, source
    )
    existing = list(session.scalars(select(Note).where(Note.source == source).order_by(Note.id)))
    by_key = {(n.kind, n.source_key): n for n in existing}
    matched: dict[int, Note] = {}  # spec index -> note
    used: set[int] = set()
    for index, spec in enumerate(guide.notes):
        note = by_key.get((spec.kind, spec.key))
        if note is not None and note.id not in used:
            matched[index] = note
            used.add(note.id)
    # Edited items: best-first pairing of the rest by text similarity.
    candidates = []
    specs_left = [(index, spec) for index, spec in enumerate(guide.notes) if index not in matched]
    notes_left = [note for note in existing if note.id not in used and note.source_key]
    for index, spec, note in _similar_pairs(specs_left, notes_left):
        matcher = difflib.SequenceMatcher(None, spec.key, note.source_key or "", autojunk=False)
        if matcher.real_quick_ratio() < MATCH_THRESHOLD or matcher.quick_ratio() < MATCH_THRESHOLD:
            continue
        ratio = matcher.ratio()
        if ratio >= MATCH_THRESHOLD:
            candidates.append((-ratio, index, note.id, note))
    for _, index, note_id, note in sorted(candidates, key=lambda c: c[:3]):
        if index not in matched and note_id not in used:
            matched[index] = note
            used.add(note_id)

    added = updated = unchanged = restored = kept_edits = 0
    position = (session.scalar(select(func.max(Card.position))) or 0) + 1
    created: list[Note] = []
    for index, spec in enumerate(guide.notes):
        note = matched.get(index)
        if note is None:
            created.append(_create_note(session, spec, deck, source, now, position))
            position += 1
            added += 1
            continue
        if note.orphaned:  # back in the guide: its cards come back with their progress
            note.orphaned = False
            for card in note.cards:
                card.suspended = False
                card.modified = now
            restored += 1
        if note.edited is not None:  # the user's own wording stands; the guide still owns the item
            note.tags, note.source_key = list(spec.tags), spec.key
            kept_edits += 1
            continue
        changed = note.fields != spec.fields or note.tags != spec.tags or note.source_key != spec.key
        if changed:
            note.fields = dict(spec.fields)
            note.tags = list(spec.tags)
            note.source_key = spec.key
            note.modified = now
            updated += 1
        else:
            unchanged += 1
    orphaned = 0
    for note in existing:
        if note.id not in used and not note.orphaned:
            note.orphaned = True
            note.modified = now
            for card in note.cards:
                card.suspended = True
                card.modified = now
            orphaned += 1
    session.flush()
    returned = 0
    waiting = removed_guids(session) if created else set()
    back = [note.id for note in created if note.guid in waiting]
    if back:  # cards removed earlier come back with their progress
        returned = restore_removed(session, session.scalars(select(Card).where(Card.note_id.in_(back))))
    return SyncResult(deck.name, added, updated, unchanged, orphaned, restored, kept_edits, returned)


# Pairs of (new item, old note) worth comparing. Up to this many pairs every
# pair is compared; beyond it, each item is compared only with the notes that
# share its rarest words (an inverted index), so re-building a guide whose
# thousands of items were all reworded stays fast instead of quadratic.
EXHAUSTIVE_PAIRS = 40_000
CANDIDATES_PER_ITEM = 8
_COMMON_WORD_NOTES = 32  # a word in more notes than this does not tell items apart


def _similar_pairs(specs: list[tuple[int, NoteSpec]], notes: list[Note]) -> list[tuple[int, NoteSpec, Note]]:
    """(spec index, spec, note) pairs of the same kind that may be the same item reworded."""
    if len(specs) * len(notes) <= EXHAUSTIVE_PAIRS:
        return [(index, spec, note) for index, spec in specs for note in notes if note.kind == spec.kind]
    index_: dict[tuple[str, str], list[int]] = defaultdict(list)  # (kind, word) -> positions in notes
    for position, note in enumerate(notes):
        for word in set((note.source_key or "").split()):
            index_[note.kind, word].append(position)
    pairs = []
    for index, spec in specs:
        shared: Counter[int] = Counter()
        for word in set(spec.key.split()):
            postings = index_.get((spec.kind, word), ())
            if len(postings) <= _COMMON_WORD_NOTES:
                shared.update(postings)
        for position, _ in shared.most_common(CANDIDATES_PER_ITEM):
            pairs.append((index, spec, notes[position]))
    return pairs


def _create_note(session: Session, spec: NoteSpec, deck: Deck, source: str, now: datetime, position: int) -> Note:
    guid = stable_guid(source, spec.kind, spec.key)
    suffix = 0
    while session.scalar(select(Note.id).where(Note.guid == guid)) is not None:
        suffix += 1
        guid = stable_guid(source, spec.kind, spec.key, str(suffix))
    note = Note(
        guid=guid,
        kind=spec.kind,
        fields=dict(spec.fields),
        tags=list(spec.tags),
        source=source,
        source_key=spec.key,
        orphaned=False,
        created=now,
        modified=now,
    )
    session.add(note)
    session.flush()
    for ord_ in range(cards_per_kind(spec.kind)):
        session.add(Card(note_id=note.id, ord=ord_, deck_id=deck.id, position=position, created=now, modified=now))
    return note


def read_guide(path: Path) -> Guide:
    """A guide file, read within the size limit and parsed (GuideError if it is not one)."""

    return parse_guide(read_limited(path, MAX_GUIDE_BYTES, "guide", GuideError), path.name)


class GuideFeedsAnotherDeck(SrsError):
    """`deck build GUIDE --deck NAME` where GUIDE already feeds a deck by another name."""

    def __init__(self, guide: Path, deck: str, wanted: str, cards: int) -> None:
        super().__init__(
            f"{guide.name} already feeds deck {deck!r} ({cards} cards); build without --deck to update it there, "
            f"or add --move to move it and its cards to {wanted!r}"
        )
        self.guide, self.deck, self.wanted, self.cards = guide, deck, wanted, cards


def guide_identity(path: Path) -> str:
    """How a deck remembers its guide: the file's absolute path."""
    return str(path.expanduser().resolve())


def deck_fed_by(session: Session, path: Path) -> Deck | None:
    """The deck built from the guide at *path*, if one was."""
    return session.scalars(select(Deck).where(Deck.guide == guide_identity(path)).order_by(Deck.id)).first()


def build_from_file(
    session: Session, path: Path, deck_name: str | None, now: datetime, guide: Guide | None = None, move: bool = False
) -> SyncResult:
    """Sync a guide file into the deck it feeds (else *deck_name*, else its title); *guide* when it is already read.

    A deck remembers the guide it is built from: building the same guide into
    another deck name raises GuideFeedsAnotherDeck unless *move*, which
    renames the deck (its cards keep their progress).
    """
    guide = guide if guide is not None else read_guide(path)
    fed = deck_fed_by(session, path)
    if fed is not None and fed.source is not None:
        if deck_name is not None and clean_deck_name(deck_name).lower() != fed.name.lower():
            target = clean_deck_name(deck_name)
            if not move:
                cards = session.scalar(select(func.count(Card.id)).where(Card.deck_id == fed.id)) or 0
                raise GuideFeedsAnotherDeck(path, fed.name, target, cards)
            clash = session.scalars(select(Deck).where(func.lower(Deck.name) == target.lower())).first()
            if clash is not None:
                raise GuideError(f"a deck named {clash.name!r} exists; move the guide to a new deck name, or rename that deck first")
            fed.name = target
            session.flush()
        return sync_guide(session, guide, fed.name, fed.source, now)
    name = clean_deck_name(deck_name or short_deck_name(guide.title) or short_deck_name(path.stem) or "Guide")
    taken = session.scalars(select(Deck).where(func.lower(Deck.name) == name.lower())).first()
    if taken is not None and taken.guide is not None and taken.guide != guide_identity(path):
        raise GuideError(f"deck {taken.name!r} is built from another guide ({Path(taken.guide).name}); choose another name with --deck")
    result = sync_guide(session, guide, name, taken.source if taken is not None and taken.source else f"guide:{name}", now)
    built = session.scalars(select(Deck).where(Deck.name == result.deck)).one()
    built.guide = guide_identity(path)
    return result



# --- built-in decks -------------------------------------------------------

BUILTIN_DECKS = {
    # file in decks/ -> deck name
    "behavioral-questions.md": "Interview::Behavioral questions",
    "star-carl.md": "Interview::STAR and CARL",
    "interviewer-questions.md": "Interview::Questions to ask",
}


def builtin_folder() -> Path:
    """Where the built-in deck files are.

    An installed wheel carries them as ``srs/builtin_decks/*.md`` (see
    pyproject's package-dir); a source checkout or editable install reads the
    repository's ``decks/`` folder directly.
    """
    installed = Path(str(resources.files("srs"))) / "builtin_decks"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "decks"


def _builtin_texts() -> dict[str, bytes]:
    folder = builtin_folder()
    return {name: (folder / name).read_bytes() for name in BUILTIN_DECKS}


def _builtin_digest(texts: dict[str, bytes]) -> str:
    return hashlib.sha256(b"".join(hashlib.sha256(t).digest() for t in texts.values())).hexdigest()


BUILTIN_OFF = "builtin_decks_off"  # setting: keys of the built-in decks the user removed for good (srs deck rm --disable)


def builtin_names() -> dict[str, str]:
    """Each built-in deck's key (its file name without .md) and deck name."""
    return {filename.removesuffix(".md"): name for filename, name in BUILTIN_DECKS.items()}


def _digest_now(session: Session, texts: dict[str, bytes]) -> str:
    off = sorted(get_setting(session, BUILTIN_OFF) or [])
    return _builtin_digest(texts) + (":off=" + ",".join(off) if off else "")


def builtin_decks_stale(session: Session) -> bool:
    """Whether the built-in decks were never built, or changed (or were turned off or on) since."""
    return bool(get_setting(session, "builtin_decks_hash") != _digest_now(session, _builtin_texts()))


def ensure_builtin_decks(session: Session, now: datetime) -> list[SyncResult]:
    """Build the built-in decks on first use, and again when they change; the ones turned off are left out."""
    texts = _builtin_texts()
    digest = _digest_now(session, texts)
    if get_setting(session, "builtin_decks_hash") == digest:
        return []
    off = set(get_setting(session, BUILTIN_OFF) or [])
    results = []
    for filename, deck_name in BUILTIN_DECKS.items():
        if filename.removesuffix(".md") in off:
            continue
        guide = parse_guide(texts[filename], filename)
        results.append(sync_guide(session, guide, deck_name, BUILTIN_PREFIX + filename.removesuffix(".md"), now))
    set_setting(session, "builtin_decks_hash", digest)
    return results
