"""Fitting FSRS parameters to the user's own history, with fsrs-rs-python.

fsrs-rs-python is the Rust optimizer Anki itself uses (py-fsrs's optimizer
needs PyTorch, far too heavy for a command-line tool). Training items are
built the way Anki builds them (rslib scheduler/fsrs/params.rs): one item per
answer after the first whose elapsed days are above zero, holding the whole
history up to it, with elapsed days counted by the same rule srs schedules
with (``Clock.elapsed_days``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from srs.errors import NotFoundError
from srs.models import Card, Preset
from srs.scheduler import NEW, memory_columns
from srs.settings import Schedulers, clock_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# fsrs-rs-python 0.9.3 silently returns the default parameters when given
# fewer than about this many training items (measured); below it we say so.
MIN_ITEMS = 250


@dataclass
class Evaluation:
    log_loss: float
    rmse_bins: float


@dataclass
class OptimizeResult:
    preset: str
    cards: int
    reviews: int
    items: int
    current: Evaluation | None = None
    fitted: Evaluation | None = None
    adopted: bool = False
    parameters: list[float] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        def ev(e: Evaluation | None) -> dict[str, float] | None:
            return None if e is None else {"log_loss": round(e.log_loss, 6), "rmse_bins": round(e.rmse_bins, 6)}

        return {
            "preset": self.preset, "cards": self.cards, "reviews": self.reviews, "items": self.items,
            "current": ev(self.current), "fitted": ev(self.fitted), "adopted": self.adopted,
            "parameters": [round(p, 6) for p in self.parameters], "message": self.message,
        }


def training_items(session: Session, preset_id: int) -> tuple[list[list[tuple[int, int]]], int, int]:
    """(items as [(rating, delta_t), ...], cards, reviews) for the decks of one preset."""

    clock = clock_for(session)
    rows = session.connection().exec_driver_sql(
        "SELECT r.card_id, r.reviewed_at, r.rating FROM reviews r JOIN cards c ON c.id = r.card_id "
        "JOIN decks d ON d.id = c.deck_id WHERE d.preset_id = ? AND r.reviewed_at > coalesce(c.reset_at, -1) "
        "ORDER BY r.card_id, r.reviewed_at, r.id",
        (preset_id,),
    ).all()
    items: list[list[tuple[int, int]]] = []
    history: list[tuple[int, int]] = []
    previous_card, previous_at = None, 0
    cards = 0
    for card_id, at, rating in rows:
        if card_id != previous_card:
            history, previous_card, cards = [], card_id, cards + 1
            delta = 0
        else:
            delta = clock.elapsed_days(datetime.fromtimestamp(previous_at / 1000, timezone.utc), datetime.fromtimestamp(at / 1000, timezone.utc))
        history.append((rating, delta))
        if len(history) > 1 and delta > 0:
            items.append(list(history))
        previous_at = at
    return items, cards, len(rows)


def _fsrs_items(items: list[list[tuple[int, int]]]) -> list[Any]:
    import fsrs_rs_python as rs

    return [rs.FSRSItem([rs.FSRSReview(rating, delta) for rating, delta in item]) for item in items]


def evaluate(parameters: list[float], items: list[list[tuple[int, int]]]) -> Evaluation:
    import fsrs_rs_python as rs

    result = rs.FSRS(list(parameters)).evaluate(_fsrs_items(items))
    return Evaluation(result.log_loss, result.rmse_bins)


def optimize(session: Session, preset_name: str | None = None, adopt: bool = True) -> list[OptimizeResult]:
    """Fit parameters for each preset (or one); adopt them only when they predict better."""

    presets = list(session.scalars(select(Preset).order_by(Preset.id)))
    if preset_name is not None:
        presets = [p for p in presets if p.name.lower() == preset_name.lower()]
        if not presets:
            raise NotFoundError(f"no preset named {preset_name!r}")
    results = []
    for preset in presets:
        items, cards, reviews = training_items(session, preset.id)
        result = OptimizeResult(preset.name, cards, reviews, len(items), parameters=list(preset.parameters))
        if not reviews:
            result.message = "no reviews yet: study for a few weeks, then optimize"
        elif len(items) < MIN_ITEMS:
            result.message = (
                f"not enough history yet: {len(items)} usable answers, about {MIN_ITEMS} are needed "
                f"({MIN_ITEMS - len(items)} more; an answer counts when it comes a day or more after the previous one)"
            )
        else:
            import fsrs_rs_python as rs

            fitted = [float(p) for p in rs.FSRS(list(preset.parameters)).compute_parameters(_fsrs_items(items))]
            result.current = evaluate(preset.parameters, items)
            result.fitted = evaluate(fitted, items)
            if result.fitted.log_loss < result.current.log_loss:
                result.adopted = adopt
                result.parameters = fitted
                result.message = "new parameters predict your recall better" + ("" if adopt else " (not saved: --dry-run)")
                if adopt:
                    preset.parameters = fitted
            else:
                result.message = "the current parameters already predict your recall as well; kept them"
        results.append(result)
    session.flush()
    return results


def reschedule(session: Session, preset_name: str, now: datetime) -> int:
    """Recompute every reviewed card of a preset from its history with the preset's parameters.

    The histories are replayed together (``Scheduler.replay_batch``) and the
    cards updated in one statement: an order of magnitude faster than card by
    card on a large collection (BENCHMARKS.md).
    """

    import numpy as np

    preset = session.scalars(select(Preset).where(Preset.name == preset_name)).one()
    conn = session.connection()
    cards = conn.exec_driver_sql(
        "SELECT c.id, c.deck_id FROM cards c JOIN decks d ON d.id = c.deck_id WHERE d.preset_id = ? AND c.state != 0",
        (preset.id,),
    ).all()
    if not cards:
        return 0
    card_ids = [card_id for card_id, _ in cards]
    # every card of the preset at once (one preset: one scheduler)
    scheduler = Schedulers(session, clock_for(session)).for_card_in(cards[0][1])
    rows = np.array(
        [tuple(row) for row in conn.exec_driver_sql(
            "SELECT r.card_id, r.reviewed_at, r.rating FROM reviews r JOIN cards c ON c.id = r.card_id "
            "JOIN decks d ON d.id = c.deck_id WHERE d.preset_id = ? AND c.state != 0 AND r.reviewed_at > coalesce(c.reset_at, -1) "
            "ORDER BY r.card_id, r.reviewed_at, r.id",
            (preset.id,),
        )],
        dtype=np.int64,
    ).reshape(-1, 3)
    answered, at, rating = rows[:, 0], rows[:, 1], rows[:, 2]
    memories = {}
    if len(rows):
        first = np.flatnonzero(np.r_[True, answered[1:] != answered[:-1]])
        bounds = np.r_[first, len(rows)]
        replayed = scheduler.replay_batch(answered[first], bounds, rating, at)
        memories = dict(zip(answered[first].tolist(), replayed.final_memories(bounds, rating, at)))
    # one executemany of UPDATEs by primary key, not 20,000 ORM objects
    session.execute(
        update(Card),
        [
            {"id": card_id, **memory_columns(memories.get(card_id, NEW)), "anki_schedule": None, "modified": now}  # no answers left: new again
            for card_id in card_ids
        ],
    )
    session.expire_all()  # cards this session holds are stale now
    return len(card_ids)
