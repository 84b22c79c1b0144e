"""A card's schedule in Anki's terms and in srs's.

Anki keeps a card's schedule in its card row (rslib/src/card/mod.rs):
``type`` (0 new, 1 learning, 2 review, 3 relearning), ``queue`` (-3 buried by
the user, -2 buried as a sibling, -1 suspended, 0 new, 1 learning within the
day, 2 review, 3 learning across days), ``due`` (a new card's position; a
day number counted from the collection's creation day in the review and
day-learning queues; a Unix time in seconds in the intraday learning queue),
``ivl`` (days), ``factor`` and ``left`` (learning steps left, ``left % 1000``).
A card in a filtered deck keeps its home deck's due in ``odue``.

Day numbers: Anki's day N is the calendar date N days after the date the
collection was created on, in the UTC offset it was created with
(rslib/src/scheduler/timing.rs, ``sched_timing_today_v2_new``: days elapsed
are the difference of the two dates, less one before the rollover hour).
srs keeps the date, so a card due on a day in Anki is due on that day in srs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from srs.clock import Clock
from srs.domain import CardState

if TYPE_CHECKING:
    from srs.anki.formats import AnkiCard

# rslib/src/card/mod.rs CardQueue
QUEUE_USER_BURIED, QUEUE_SIBLING_BURIED, QUEUE_SUSPENDED = -3, -2, -1
QUEUE_NEW, QUEUE_LEARN, QUEUE_REVIEW, QUEUE_DAY_LEARN = 0, 1, 2, 3

_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()
_LAST_DAY = 2_567_000  # 9000-01-01: a due day past this is damage, not a schedule
_UNIX_TIME = 1_000_000_000  # rslib timing.rs is_unix_epoch_timestamp: a due above this is a time


def day_zero(crt: int, creation_offset: int | None, clock: Clock) -> int:
    """srs's day number of Anki's day 0 in a collection created at *crt* (seconds).

    *creation_offset* is Anki's ``creationOffset`` (minutes west of UTC);
    collections that did not record it are read in srs's own zone.
    """
    created = datetime.fromtimestamp(max(0, crt), timezone.utc)
    if creation_offset is not None:
        local = created - timedelta(minutes=creation_offset)
        return local.date().toordinal() - _EPOCH_ORDINAL
    return created.astimezone(clock.tz).date().toordinal() - _EPOCH_ORDINAL


@dataclass(frozen=True)
class AnkiSchedule:
    """An Anki card's schedule as srs holds it."""

    state: CardState
    step: int | None  # learning step done (srs counts steps taken; Anki counts steps left)
    due_ms: int | None  # when the card is due (None: a new card)
    kept: dict[str, int]  # the card row's own values, for writing back (see models.Card.anki_schedule)
    suspended: bool
    buried: bool


_BY_TYPE = {int(state): state for state in CardState}  # Anki's card type is srs's state; a lookup, not an enum call per card


def from_anki(card: AnkiCard, zero: int, clock: Clock, learning_steps: int, relearning_steps: int) -> AnkiSchedule | None:
    """srs's view of *card*'s schedule; None when its values are not a schedule srs can keep.

    *zero* is ``day_zero`` of the card's collection; the step counts are how
    many learning and relearning steps the card's preset has.
    """
    kind, queue, due, ivl = card.type, card.queue, card.due, card.ivl
    if card.odid and card.odue:  # in a filtered deck: its home deck's schedule, as Anki's exporter restores it
        due = card.odue
        queue = QUEUE_NEW if kind == 0 else QUEUE_REVIEW if kind == 2 else QUEUE_LEARN if due > _UNIX_TIME else QUEUE_DAY_LEARN
    if kind not in (0, 1, 2, 3):
        return None
    if queue == 4:  # a preview in a filtered deck without a home due: no schedule to keep
        return None
    state = _BY_TYPE[kind]
    buried = queue in (QUEUE_USER_BURIED, QUEUE_SIBLING_BURIED)
    suspended = queue == QUEUE_SUSPENDED
    kept = {"type": kind, "queue": queue, "due": due, "ivl": ivl, "factor": card.factor, "left": card.left}
    if state == CardState.NEW:
        return AnkiSchedule(state, None, None, kept, suspended, buried)
    if state == CardState.REVIEW or due <= _UNIX_TIME:
        day = zero + due
        if not 0 <= day <= _LAST_DAY:
            return None
        due_ms = clock.day_start_ms(day)
    else:
        if due * 1000 > clock.day_start_ms(_LAST_DAY):
            return None
        due_ms = due * 1000
    step = None
    if state in (CardState.LEARNING, CardState.RELEARNING):
        steps = learning_steps if state == CardState.LEARNING else relearning_steps
        step = max(0, steps - card.left % 1000)
    return AnkiSchedule(state, step, due_ms, kept, suspended, buried)


def to_anki(
    kept: dict[str, int], state: int, due_ms: int | None, first_day: int, clock: Clock, suspended: bool, buried: bool
) -> tuple[int, int, int, int, int]:
    """(type, queue, due, ivl, left) of a card whose Anki schedule srs kept, in a collection whose day 0 is *first_day*."""
    kind = int(kept.get("type", state))
    held_due = int(kept.get("due", 0))
    if kind == 0 or due_ms is None:
        queue, due = QUEUE_NEW, held_due
    elif kind in (1, 3) and held_due > _UNIX_TIME:
        queue, due = QUEUE_LEARN, due_ms // 1000
    else:
        queue, due = (QUEUE_REVIEW if kind == 2 else QUEUE_DAY_LEARN), clock.day_of_ms(due_ms) - first_day
    if suspended:
        queue = QUEUE_SUSPENDED
    elif buried:
        held = int(kept.get("queue", 0))
        queue = held if held in (QUEUE_USER_BURIED, QUEUE_SIBLING_BURIED) else QUEUE_USER_BURIED
    return kind, queue, due, int(kept.get("ivl", 0)), int(kept.get("left", 0))
