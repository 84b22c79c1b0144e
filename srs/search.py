"""Finding cards with Anki's search language: parsed here, answered in SQL with bound parameters.

The syntax is Anki's (its manual's "Searching" page; rslib/src/search/
parser.rs and sqlwriter.rs for the exact meaning of each term):

* words match anywhere in a note's fields, case-insensitively (ASCII), with
  ``*`` for any run of characters and ``_`` for one; ``"quoted text"`` is one
  term; ``\\*`` and ``\\_`` are the characters themselves;
* ``field:value`` matches a note whose field of that name is exactly value
  (``*`` and ``_`` as above), e.g. ``front:*dog*``;
* ``deck:name`` (and its sub-decks; ``*`` allowed), ``tag:name`` (and its
  ``name::child`` tags; ``tag:none`` for untagged notes);
* ``is:new|learn|review|due|suspended|buried``; srs adds ``kind:question|
  concept|ask|list|story|pitch|anki``;
* ``prop:ivl``, ``prop:due``, ``prop:reps``, ``prop:lapses``, ``prop:s``,
  ``prop:d`` (0-1, as Anki scales it), ``prop:r`` (recall now) with ``=``,
  ``!=``, ``<``, ``<=``, ``>``, ``>=``; ``prop:due=1`` is due tomorrow;
* ``rated:N`` or ``rated:N:ease`` (answered in the last N days), ``added:N``,
  ``introduced:N`` (first answered in the last N days);
* ``-term`` negates, terms side by side must all match (``and`` is allowed),
  ``or`` joins alternatives, parentheses group.

The parser is a small recursive-descent one; a malformed query is a
``SearchError`` that names the problem and its position. Every value reaches
SQL as a bound parameter; what SQL cannot say by itself (a note's field by
name, a calendar day in the user's zone) is a deterministic SQL function
registered on the connection for the query.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    event,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.expression import case

from srs.clock import DAY_MS, Clock
from srs.domain import CardId, CardState, NoteKind, to_ms
from srs.errors import SrsError
from srs.models import AnkiNotetype, Card, Deck, Note, Preset, Review

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEARN_AHEAD = timedelta(minutes=20)  # Anki's default learn-ahead limit, as review.py uses it
MAX_QUERY_LENGTH = 2_000


class SearchError(SrsError):
    """A search that cannot be parsed or has a term srs does not know."""


# --- the syntax tree ----------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One search term: *key* is "" for plain text, else the part before the colon."""

    key: str
    value: str
    position: int  # where it starts in the query (for messages)


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class All:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    nodes: tuple[Node, ...]


Node = Term | Not | All | Any_


# --- tokens and parsing ----------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" ")" "-" "word" "or" "and"
    text: str
    position: int


def _tokens(query: str) -> list[_Token]:
    """The query cut into parentheses, negations and words (a word may hold quoted parts)."""
    out: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
            continue
        if char in "()":
            out.append(_Token(char, char, i))
            i += 1
            continue
        if char == "-" and i + 1 < n and not query[i + 1].isspace():
            out.append(_Token("-", "-", i))
            i += 1
            continue
        start = i
        text: list[str] = []
        while i < n and not query[i].isspace() and query[i] not in "()":
            if query[i] == '"':  # a quoted part: spaces and parentheses are literal inside
                close = i + 1
                while close < n and query[close] != '"':
                    close += 2 if query[close] == "\\" and close + 1 < n else 1
                if close >= n:
                    raise SearchError(f"unclosed quote at position {i + 1}: {_excerpt(query, i)}")
                text.append(query[i + 1 : close])
                i = close + 1
            elif query[i] == "\\" and i + 1 < n:
                text.append(query[i : i + 2])
                i += 2
            else:
                text.append(query[i])
                i += 1
        word = "".join(text)
        lowered = word.lower() if query[start] != '"' else ""
        kind = "or" if lowered == "or" else "and" if lowered == "and" else "word"
        out.append(_Token(kind, word, start))
    return out


def _excerpt(query: str, position: int) -> str:
    return repr(query[max(0, position - 10) : position + 20])


class _Parser:
    """query := any ; any := all ("or" all)* ; all := unary (["and"] unary)* ; unary := "-" unary | "(" any ")" | word"""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.at = 0

    def parse(self) -> Node:
        if not self.tokens:
            return All(())
        node = self._any()
        if self.at < len(self.tokens):
            token = self.tokens[self.at]
            raise SearchError(f"unexpected {token.text!r} at position {token.position + 1}: {_excerpt(self.query, token.position)}")
        return node

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _any(self) -> Node:
        nodes = [self._all()]
        while (token := self._peek()) is not None and token.kind == "or":
            self.at += 1
            nodes.append(self._all())
        return nodes[0] if len(nodes) == 1 else Any_(tuple(nodes))

    def _all(self) -> Node:
        nodes = [self._unary()]
        while (token := self._peek()) is not None and token.kind not in ("or", ")"):
            if token.kind == "and":
                self.at += 1
            nodes.append(self._unary())
        return nodes[0] if len(nodes) == 1 else All(tuple(nodes))

    def _unary(self) -> Node:
        token = self._peek()
        if token is None:
            raise SearchError(f"the search ends where a term should follow: {_excerpt(self.query, len(self.query))}")
        if token.kind == "-":
            self.at += 1
            return Not(self._unary())
        if token.kind == "(":
            self.at += 1
            node = self._any()
            close = self._peek()
            if close is None or close.kind != ")":
                raise SearchError(f"the parenthesis at position {token.position + 1} is never closed: {_excerpt(self.query, token.position)}")
            self.at += 1
            return node
        if token.kind in (")", "or", "and"):
            raise SearchError(f"unexpected {token.text!r} at position {token.position + 1}: {_excerpt(self.query, token.position)}")
        self.at += 1
        return _term(token)


def _term(token: _Token) -> Term:
    """A word as a term: the key before an unescaped colon (field names, deck:, is:, ...), else plain text."""
    word = token.text
    colon = _unescaped(word, ":")
    if colon > 0:
        return Term(word[:colon].lower(), word[colon + 1 :], token.position)
    return Term("", word, token.position)


def _unescaped(text: str, char: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == char:
            return i
        i += 1
    return -1


def parse(query: str) -> Node:
    """The syntax tree of *query*; SearchError for a malformed one."""
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchError(f"the search is longer than {MAX_QUERY_LENGTH:,} characters")
    return _Parser(query).parse()


# --- values ---------------------------------------------------------------------------


def like_pattern(text: str) -> str:
    """Anki's glob as a LIKE pattern (escape '\\'): * any run, _ one character, \\* and \\_ themselves."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\" + nxt if nxt in "%_\\" else nxt)  # \* is a star, \_ an underscore
            i += 2
            continue
        out.append("%" if char == "*" else "\\%" if char == "%" else char)
        i += 1
    return "".join(out)


def glob_regex(text: str, segment: str = ".") -> str:
    """Anki's glob as a regular expression (case-insensitive, whole value); *segment* is what * and _ may span."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 2
            continue
        out.append(f"{segment}*" if char == "*" else segment if char == "_" else re.escape(char))
        i += 1
    return "".join(out)


_PROP = re.compile(r"^(ivl|due|reps|lapses|r|s|d)(<=|>=|!=|=|<|>)(-?\d+(?:\.\d+)?)$")
_NUMBER = re.compile(r"^\d{1,6}$")


# --- SQL ------------------------------------------------------------------------------


class _Context:
    """What translating needs: the clock, today, and the instant of the query."""

    def __init__(self, session: Session, clock: Clock, now: datetime) -> None:
        self.session = session
        self.clock = clock
        self.now = now
        self.today = clock.today(now)
        self.next_day_ms = clock.day_start_ms(self.today + 1)


def _ms(column: Any) -> ColumnElement[int]:
    """A stored instant as its integer milliseconds, to compare with plain numbers."""
    return type_coerce(column, BigInteger)


def _in_days(days: str, key: str, position: int) -> int:
    if not _NUMBER.match(days) or int(days) < 1:
        raise SearchError(f"{key}: needs a whole number of days of at least 1, at position {position + 1}: {key}:{days}")
    return int(days)


def _interval() -> ColumnElement[Any]:
    """A card's interval in days as Anki's card row would hold it (the export writes the same)."""
    last_interval = (
        select(Review.interval).where(Review.card_id == Card.id).order_by(Review.reviewed_at.desc()).limit(1).scalar_subquery()
    )
    kept = func.json_extract(Card.anki_schedule, "$.ivl")
    return case(
        (Card.state == CardState.REVIEW, func.coalesce(kept, func.max(1, last_interval))),
        (Card.state == CardState.RELEARNING, func.coalesce(kept, func.max(1, func.round(Card.stability)))),
        else_=0,
    )


def _queued(ctx: _Context) -> ColumnElement[bool]:
    """Not suspended, not buried today (Anki's queue is then one of new, learn, review, day-learn)."""
    return and_(Card.suspended.is_(False), or_(Card.buried_until.is_(None), Card.buried_until <= ctx.today))


def _day_learning(ctx: _Context) -> ColumnElement[bool]:
    """A learning card whose next step falls on a later day than its last answer (Anki's day-learn queue)."""
    return func.srs_day(_ms(Card.due)) > func.srs_day(_ms(Card.last_review))


_OPERATORS = {"=": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}


def _compare(value: Any, op: str, number: float) -> ColumnElement[bool]:
    compared: ColumnElement[bool] = getattr(value, _OPERATORS[op])(number)
    return compared


def _translate(node: Node, ctx: _Context) -> ColumnElement[bool]:
    if isinstance(node, All):
        return and_(true(), *(_translate(n, ctx) for n in node.nodes))
    if isinstance(node, Any_):
        return or_(false(), *(_translate(n, ctx) for n in node.nodes))
    if isinstance(node, Not):
        return not_(_translate(node.node, ctx))
    return _term_sql(node, ctx)


def _term_sql(term: Term, ctx: _Context) -> ColumnElement[bool]:
    key, value = term.key, term.value
    if key == "":
        if not value:
            return true()
        return func.srs_note_text(Note.fields, Note.anki_fields).like(f"%{like_pattern(value)}%", escape="\\")
    if key == "deck":
        return _deck_sql(value, ctx)
    if key == "tag":
        if value.lower() == "none":
            return func.json_array_length(Note.tags) == 0
        return func.srs_tags_match(Note.tags, "(?i)^" + glob_regex(value, r"\S") + r"(::\S*)?$") == 1
    if key == "is":
        return _state_sql(value.lower(), term, ctx)
    if key == "kind":
        kinds = {*NoteKind.ALL, NoteKind.ANKI}
        if value.lower() not in kinds:
            raise SearchError(f"kind:{value} at position {term.position + 1} is not a kind (kinds: {', '.join(sorted(kinds))})")
        return Note.kind == value.lower()
    if key == "prop":
        return _prop_sql(value, term, ctx)
    if key == "rated":
        days, _, ease = value.partition(":")
        cutoff = ctx.next_day_ms - _in_days(days, key, term.position) * DAY_MS
        condition = and_(Review.card_id == Card.id, _ms(Review.reviewed_at) >= cutoff)
        if ease:
            if ease not in ("1", "2", "3", "4"):
                raise SearchError(f"rated:{value} at position {term.position + 1}: the answer button is 1, 2, 3 or 4")
            condition = and_(condition, Review.rating == int(ease))
        return exists(select(Review.id).where(condition))
    if key == "added":
        return _ms(Card.created) > ctx.next_day_ms - _in_days(value, key, term.position) * DAY_MS
    if key == "introduced":
        cutoff = ctx.next_day_ms - _in_days(value, key, term.position) * DAY_MS
        first = select(func.min(_ms(Review.reviewed_at))).where(Review.card_id == Card.id).scalar_subquery()
        return and_(first.is_not(None), first > cutoff)
    if key in _UNSUPPORTED:
        raise SearchError(f"{key}: searches are not supported by srs (at position {term.position + 1})")
    # any other key is a field name, as in Anki: front:dog
    return func.srs_field(Note.fields, Note.anki_fields, _notetype_fields(), key).like(like_pattern(value), escape="\\")


_UNSUPPORTED = {"note", "card", "flag", "nid", "cid", "edited", "dupe", "preset", "re", "nc", "w", "sfld", "resched"}


def _notetype_fields() -> ColumnElement[Any]:
    return select(AnkiNotetype.fields).where(AnkiNotetype.id == Note.anki_notetype_id).scalar_subquery()


def _deck_sql(value: str, ctx: _Context) -> ColumnElement[bool]:
    if value == "*":
        return true()
    pattern = re.compile("(?i)^" + glob_regex(value) + "$")
    ids = [
        deck_id for deck_id, name in ctx.session.execute(select(Deck.id, Deck.name))
        if any(pattern.match(name) for name in _ancestors(name))
    ]
    return Card.deck_id.in_(ids)


def _ancestors(name: str) -> list[str]:
    """'A::B::C' -> ['A::B::C', 'A::B', 'A']: a deck matches when it or a parent does."""
    parts = name.split("::")
    return ["::".join(parts[:i]) for i in range(len(parts), 0, -1)]


def _state_sql(state: str, term: Term, ctx: _Context) -> ColumnElement[bool]:
    learning = Card.state.in_([CardState.LEARNING, CardState.RELEARNING])
    if state == "new":
        return Card.state == CardState.NEW
    if state == "learn":
        return learning
    if state == "review":
        return Card.state.in_([CardState.REVIEW, CardState.RELEARNING])
    if state == "suspended":
        return Card.suspended.is_(True)
    if state == "buried":
        return and_(Card.suspended.is_(False), Card.buried_until.is_not(None), Card.buried_until > ctx.today)
    if state == "due":
        end_of_today = ctx.next_day_ms
        return and_(
            _queued(ctx),
            or_(
                and_(Card.state == CardState.REVIEW, _ms(Card.due) < end_of_today),
                and_(learning, _day_learning(ctx), _ms(Card.due) < end_of_today),
                and_(learning, _ms(Card.due) <= to_ms(ctx.now + LEARN_AHEAD)),
            ),
        )
    raise SearchError(f"is:{state} at position {term.position + 1} is not a state (new, learn, review, due, suspended, buried)")


def _prop_sql(value: str, term: Term, ctx: _Context) -> ColumnElement[bool]:
    match = _PROP.match(value.lower())
    if match is None:
        raise SearchError(
            f"prop:{value} at position {term.position + 1}: write prop:NAME, an operator and a number "
            "(names: ivl, due, reps, lapses, r, s, d; operators: = != < <= > >=)"
        )
    name, op, text = match.groups()
    number = float(text)
    if name in ("ivl", "due", "reps", "lapses") and number != int(number):
        raise SearchError(f"prop:{value} at position {term.position + 1}: {name} takes a whole number")
    if name == "ivl":
        return _compare(_interval(), op, number)
    if name == "reps":
        return _compare(Card.reps, op, number)
    if name == "lapses":
        return _compare(Card.lapses, op, number)
    if name == "s":
        return and_(Card.stability.is_not(None), _compare(Card.stability, op, number))
    if name == "d":  # Anki's prop:d is 0-1; stored difficulty is 1-10
        return and_(Card.difficulty.is_not(None), _compare(Card.difficulty, op, number * 9 + 1))
    if name == "r":
        decay = (
            select(func.json_extract(Preset.parameters, "$[20]"))
            .join(Deck, Deck.preset_id == Preset.id)
            .where(Deck.id == Card.deck_id)
            .scalar_subquery()
        )
        elapsed = func.max(0, to_ms(ctx.now) - _ms(Card.last_review)) / float(DAY_MS)  # days, with their fraction
        factor = func.pow(0.9, 1.0 / (-decay)) - 1
        recall = func.pow(1 + factor * elapsed / Card.stability, -decay)
        return and_(Card.state != CardState.NEW, Card.stability.is_not(None), _compare(recall, op, number))
    # due: days from today, for cards in a review or day-learning queue, as Anki counts them
    due_day = func.srs_day(_ms(Card.due)) - ctx.today
    intraday = (_ms(Card.due) - ctx.next_day_ms) // DAY_MS  # SQLite's integer division truncates, as Anki's does
    return and_(
        _queued(ctx),
        or_(
            and_(Card.state == CardState.REVIEW, _compare(due_day, op, number)),
            and_(Card.state.in_([CardState.LEARNING, CardState.RELEARNING]), _day_learning(ctx), _compare(due_day, op, number)),
            and_(Card.state.in_([CardState.LEARNING, CardState.RELEARNING]), not_(_day_learning(ctx)), _compare(intraday, op, number)),
        ),
    )


# --- the SQL functions the translation uses -------------------------------------------------


def _note_text(fields: str | None, anki_fields: str | None) -> str:
    """A note's fields as Anki's search sees them: the raw fields of an imported note, else srs's text, joined by U+001F."""
    values = json.loads(anki_fields) if anki_fields else list((json.loads(fields) if fields else {}).values())
    return "\x1f".join(str(v) for v in values)


def _field(fields: str | None, anki_fields: str | None, notetype_fields: str | None, name: str) -> str | None:
    """The field *name* (case-insensitive) of a note, raw for an imported note; None if it has none."""
    wanted = name.lower()
    if anki_fields and notetype_fields:
        for field_name, value in zip(json.loads(notetype_fields), json.loads(anki_fields)):
            if str(field_name).lower() == wanted:
                return str(value)
        return None
    for field_name, value in (json.loads(fields) if fields else {}).items():
        if field_name.lower() == wanted:
            return str(value)
    return None


def _tags_match(tags: str | None, pattern: str) -> int:
    compiled = _compiled(pattern)
    return int(any(compiled.match(tag) for tag in (json.loads(tags) if tags else [])))


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found


def _create_functions(raw: Any, clock: Clock) -> None:
    def day(ms: int | None) -> int | None:
        return None if ms is None else clock.day_of_ms(int(ms))

    raw.create_function("srs_note_text", 2, _note_text, deterministic=True)
    raw.create_function("srs_field", 4, _field, deterministic=True)
    raw.create_function("srs_tags_match", 2, _tags_match, deterministic=True)
    raw.create_function("srs_day", 1, day, deterministic=True)


def _register(session: Session, clock: Clock) -> None:
    """Make the functions the translation calls known to this session's connection, and to any it uses later.

    A session may hand its connection back to the pool between statements
    (a review commits after every answer); every connection checked out of
    the engine's pool from now on gets the functions too, with the latest clock.
    """
    engine = session.get_bind()
    holder: list[Clock] | None = getattr(engine, "_srs_search_clock", None)
    if holder is None:
        holder = [clock]
        setattr(engine, "_srs_search_clock", holder)  # noqa: B010 - an attribute of our own on SQLAlchemy's engine

        def on_checkout(raw: Any, _record: Any, _proxy: Any) -> None:
            _create_functions(raw, holder[0])

        event.listen(engine, "checkout", on_checkout)
    holder[0] = clock
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    _create_functions(raw, clock)


def search_condition(session: Session, query: str, clock: Clock, now: datetime) -> ColumnElement[bool]:
    """The WHERE condition (on cards joined with their notes) for *query*; SearchError if it is malformed."""
    condition = _translate(parse(query), _Context(session, clock, now))
    _register(session, clock)
    return condition


def matching_cards(session: Session, query: str, clock: Clock, now: datetime) -> ColumnElement[bool]:
    """A condition on Card for queries that select cards without joining notes: its id is one *query* finds.

    The subquery stands alone (not correlated with the caller's cards), so
    the terms inside it that look at a card's answers refer to its own cards.
    """
    condition = search_condition(session, query, clock, now)
    found = select(Card.id).join(Note, Note.id == Card.note_id).where(Note.orphaned.is_(False), condition).correlate(None)
    return Card.id.in_(found)


def any_card(session: Session, condition: ColumnElement[bool]) -> bool:
    """Whether any card meets *condition* (from ``matching_cards``)."""
    return session.scalar(select(Card.id).where(condition).limit(1)) is not None


def find_cards(session: Session, query: str, clock: Clock, now: datetime) -> list[CardId]:
    """The ids of the cards *query* finds (of notes not removed), in id order."""
    condition = search_condition(session, query, clock, now)
    rows = session.execute(
        select(Card.id).join(Note, Note.id == Card.note_id).where(Note.orphaned.is_(False), condition).order_by(Card.id)
    )
    return [CardId(card_id) for (card_id,) in rows]
