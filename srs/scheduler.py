"""FSRS scheduling on the user's calendar days; the only module that talks to ``fsrs``.

py-fsrs counts elapsed days as whole 24-hour periods between two instants, so
a review at 23:00 and another at 08:00 the next morning count as 0 days,
while Anki counts 1 (it counts day rollovers). We therefore show py-fsrs
review times on a fixed 24-hour timeline: the answer at the start of its day
(``Clock.fsrs_time``) and the previous review exactly Anki's elapsed days
(``Clock.elapsed_days``) before it. Its memory model then sees what Anki's
does. Real times are kept for what the user sees: learning steps run from
the moment of the answer, and a review card becomes due at the start of its
due day.

Fuzz is reproducible: it is drawn from a generator seeded by the card id and
its review count, so replaying the same history gives the same schedule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from srs.clock import Clock
from srs.models import CardState, Preset, Rating


@dataclass(frozen=True)
class Memory:
    """A card's scheduling state: everything replaying its reviews produces."""

    state: CardState = CardState.NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = None
    last_review: datetime | None = None
    reps: int = 0
    lapses: int = 0


NEW = Memory()


class Scheduler:
    """FSRS with one preset's options on one clock."""

    def __init__(
        self,
        clock: Clock,
        parameters: Sequence[float] | None = None,
        desired_retention: float = 0.9,
        learning_steps: Sequence[int] = (60, 600),
        relearning_steps: Sequence[int] = (600,),
        maximum_interval: int = 36500,
        fuzz: bool = True,
        deadline_day: int | None = None,
    ) -> None:
        # fsrs is imported here, not at module level: read-only commands
        # (status, cards) never build a Scheduler and skip its import cost.
        from fsrs import Scheduler as FsrsScheduler
        from fsrs.scheduler import DEFAULT_PARAMETERS

        self.clock = clock
        self.fuzz = fuzz
        self.maximum_interval = maximum_interval
        self.deadline_day = deadline_day  # an interview day the schedule aims at (plan.py)
        self._fsrs = FsrsScheduler(
            parameters=tuple(parameters) if parameters is not None else DEFAULT_PARAMETERS,
            desired_retention=desired_retention,
            learning_steps=[timedelta(seconds=s) for s in learning_steps],
            relearning_steps=[timedelta(seconds=s) for s in relearning_steps],
            maximum_interval=maximum_interval,
            enable_fuzzing=False,  # we fuzz ourselves, reproducibly
        )
        # FSRS-6 forgetting curve: R(t) = (1 + factor * t / S) ** decay, decay = -w[20] < 0
        self._decay = -self._fsrs.parameters[20]
        self._factor = 0.9 ** (1 / self._decay) - 1

    @classmethod
    def from_preset(cls, preset: Preset, clock: Clock, fuzz: bool = True, deadline_day: int | None = None) -> Scheduler:
        return cls(
            clock,
            parameters=preset.parameters,
            desired_retention=preset.desired_retention,
            learning_steps=preset.learning_steps,
            relearning_steps=preset.relearning_steps,
            maximum_interval=preset.maximum_interval,
            fuzz=fuzz,
            deadline_day=deadline_day,
        )

    @property
    def desired_retention(self) -> float:
        return self._fsrs.desired_retention

    def review(self, memory: Memory, rating: Rating | int, now: datetime, card_id: int) -> Memory:
        """The memory after answering *rating* at *now*."""
        from fsrs import Card as FsrsCard
        from fsrs import Rating as FsrsRating
        from fsrs import State as FsrsState

        fsrs_now = self.clock.fsrs_time(now)
        if memory.state == CardState.NEW:
            before = FsrsCard(card_id=card_id, state=FsrsState.Learning, step=0, due=fsrs_now)
        else:
            assert memory.last_review is not None
            before = FsrsCard(
                card_id=card_id,
                state=FsrsState(int(memory.state)),
                step=memory.step,
                stability=memory.stability,
                difficulty=memory.difficulty,
                due=fsrs_now,
                last_review=fsrs_now - timedelta(days=self.clock.elapsed_days(memory.last_review, now)),
            )
        after, _ = self._fsrs.review_card(before, FsrsRating(int(rating)), fsrs_now)
        reps = memory.reps + 1
        if after.state == FsrsState.Review:
            days = (after.due - fsrs_now).days
            if self.fuzz:
                days = self._fuzzed_days(days, card_id, reps)
            days = self.aim_at_deadline(days, after.stability, self.clock.day_of(now))
            due = self.clock.day_start(self.clock.day_of(now) + days)
        else:
            due = now + (after.due - fsrs_now)
        lapse = memory.state == CardState.REVIEW and int(rating) == Rating.AGAIN
        return Memory(
            state=CardState(int(after.state)),
            step=after.step,
            stability=after.stability,
            difficulty=after.difficulty,
            due=due,
            last_review=now,
            reps=reps,
            lapses=memory.lapses + int(lapse),
        )

    def preview(self, memory: Memory, now: datetime, card_id: int) -> dict[Rating, timedelta]:
        """For each rating, how long until the card would be due again."""
        out = {}
        for rating in Rating:
            after = self.review(memory, rating, now, card_id)
            assert after.due is not None
            out[rating] = after.due - now
        return out

    def replay(self, history: Iterable[tuple[Rating | int, datetime]], card_id: int) -> Memory:
        """The memory produced by a card's reviews, oldest first."""
        memory = NEW
        for rating, when in history:
            memory = self.review(memory, rating, when, card_id)
        return memory

    def retrievability(self, memory: Memory, now: datetime) -> float | None:
        """Predicted probability of recall at *now* (None for a new card)."""
        if memory.stability is None or memory.last_review is None:
            return None
        return self.recall(memory.stability, max(0, self.clock.elapsed_days(memory.last_review, now)))

    def recall(self, stability: float, elapsed_days: float) -> float:
        """The forgetting curve: recall probability *elapsed_days* after a review."""
        return (1 + self._factor * elapsed_days / stability) ** self._decay

    def replay_ms(
        self, history: Sequence[tuple[int, int]], card_id: int
    ) -> list[tuple[int, int | None, float, float, int, int]]:
        """Replay (rating, answer time in ms) pairs quickly: the state after each answer.

        Returns (state, step, stability, difficulty, due in ms, interval) per
        answer, the interval in Anki's revlog units as ``review.anki_interval``
        gives it.
        Importing an Anki history replays hundreds of thousands of answers, so
        this is ``review`` (py-fsrs's ``review_card`` and its formulas) written
        out on plain floats and integers, with each formula in py-fsrs's exact
        operation order; a property test checks the two agree bit for bit.
        The formulas are FSRS-6's (fsrs/scheduler.py: _initial_stability,
        _initial_difficulty, _short_term_stability, _next_difficulty,
        _next_forget_stability, _next_recall_stability, _next_interval).
        """
        f = self._fsrs
        w = f.parameters
        e = math.e
        factor, decay = f._FACTOR, f._DECAY
        easy_d0 = w[4] - (e ** (w[5] * (4 - 1))) + 1  # _initial_difficulty(Easy), unclamped
        short_forget = e ** (w[17] * w[18])
        interval_scale = (f.desired_retention ** (1 / decay)) - 1
        max_ivl = f.maximum_interval
        learning_steps = [round(step.total_seconds() * 1000) for step in f.learning_steps]
        relearning_steps = [round(step.total_seconds() * 1000) for step in f.relearning_steps]
        day_of, day_start = self.clock.day_of_ms, self.clock.day_start_ms
        fuzz = self._fuzzed_days if self.fuzz else None
        new, learning, review_state, relearning = 0, 1, 2, 3

        out = []
        state, step, s, d, last = new, 0, 0.0, 0.0, 0
        reps = 0
        for g, at in history:
            reps += 1
            today = day_of(at)
            if state == new:
                state, step = learning, 0
                s = max(w[g - 1], 0.001)
                d = min(max(w[4] - (e ** (w[5] * (g - 1))) + 1, 1.0), 10.0)
            else:
                if (day_start(today + 1) - last) // 86_400_000 < 1:
                    inc = (e ** (w[17] * (g - 3 + w[18]))) * (s ** -w[19])
                    if g > 1:
                        inc = max(inc, 1.0)
                    s = max(s * inc, 0.001)
                else:
                    elapsed = max(0, (day_start(today + 1) - last) // 86_400_000)
                    r = (1 + factor * elapsed / s) ** decay
                    if g == 1:
                        long_term = w[11] * (d ** -w[12]) * (((s + 1) ** (w[13])) - 1) * (e ** ((1 - r) * w[14]))
                        s = max(min(long_term, s / short_forget), 0.001)
                    else:
                        hard = w[15] if g == 2 else 1
                        easy = w[16] if g == 4 else 1
                        s = max(s * (1 + (e ** (w[8])) * (11 - d) * (s ** -w[9]) * ((e ** ((1 - r) * w[10])) - 1) * hard * easy), 0.001)
                delta = -(w[6] * (g - 3))
                d = min(max(w[7] * easy_d0 + (1 - w[7]) * (d + (10.0 - d) * delta / 9.0), 1.0), 10.0)
            interval_ms = None  # a step, else a whole number of days below
            if state == review_state:
                if g == 1 and relearning_steps:
                    state, step = relearning, 0
                    interval_ms = relearning_steps[0]
            else:
                steps = learning_steps if state == learning else relearning_steps
                if not steps or (step >= len(steps) and g > 1):
                    state = review_state
                elif g == 1:
                    step, interval_ms = 0, steps[0]
                elif g == 2:
                    if step == 0 and len(steps) == 1:
                        interval_ms = round(steps[0] * 1.5)
                    elif step == 0:
                        interval_ms = round((steps[0] + steps[1]) / 2)
                    else:
                        interval_ms = steps[step]
                elif g == 3 and step + 1 < len(steps):
                    step += 1
                    interval_ms = steps[step]
                else:
                    state = review_state
            if state == review_state:
                days = min(max(round((s / factor) * interval_scale), 1), max_ivl)
                if fuzz is not None:
                    days = fuzz(days, card_id, reps)
                if self.deadline_day is not None:
                    days = self.aim_at_deadline(days, s, today)
                out.append((state, None, s, d, day_start(today + days), max(1, days)))
            else:
                due = at + interval_ms  # type: ignore[operator]
                if due >= day_start(today + 1):  # a step past the rollover counts in days
                    out.append((state, step, s, d, due, max(1, day_of(due) - today)))
                else:
                    out.append((state, step, s, d, due, -max(1, (interval_ms + 500) // 1000)))  # type: ignore[operator]
            last = at
        return out

    def aim_at_deadline(self, days: int, stability: float, today: int) -> int:
        """Cap an interval that would jump past the interview with recall below target on the day.

        Such a card is brought back in the last stretch before the interview
        (the final fifth of the days left, one to three days), so it is fresh
        on the day; a card whose recall on the day stays at the target keeps
        its interval.
        """
        if self.deadline_day is None:
            return days
        left = self.deadline_day - today
        if left <= 1 or today + days < self.deadline_day:
            return days  # seen again before the interview day anyway
        if self.recall(stability, left) >= self.desired_retention:
            return days  # still recalled at the target on the day
        return max(1, left - self.stretch(left))

    @staticmethod
    def stretch(days_left: int) -> int:
        """How many days before the interview the last review should fall."""
        return max(1, min(3, days_left // 5))

    def _fuzzed_days(self, days: int, card_id: int, reps: int) -> int:
        # The fuzz window is py-fsrs's (itself Anki's): no fuzz below 2.5
        # days, then +-15% / 10% / 5% over the ranges in FUZZ_RANGES.
        if days < 2.5:
            return days
        delta = 1.0
        for start, end, factor in _fuzz_ranges():
            if days > start:
                delta += factor * (min(days, end) - start)
        low = max(2, round(days - delta))
        high = min(round(days + delta), self.maximum_interval)
        low = min(low, high)
        return low + int(_unit(card_id, reps) * (high - low + 1))


_FUZZ: list[tuple[float, float, float]] = []


def _fuzz_ranges() -> list[tuple[float, float, float]]:
    if not _FUZZ:
        from fsrs.scheduler import FUZZ_RANGES

        _FUZZ.extend((r["start"], r["end"], r["factor"]) for r in FUZZ_RANGES)
    return _FUZZ


def _unit(card_id: int, reps: int) -> float:
    """A reproducible number in [0, 1) for a card's *reps*-th answer (splitmix64)."""
    z = (card_id * 0x9E3779B97F4A7C15 + reps * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z ^= z >> 31
    return z / 2**64


def memory_of(card: object) -> Memory:
    """The Memory held in a card row's columns."""
    return Memory(
        state=CardState(card.state),  # type: ignore[attr-defined]
        step=card.step,  # type: ignore[attr-defined]
        stability=card.stability,  # type: ignore[attr-defined]
        difficulty=card.difficulty,  # type: ignore[attr-defined]
        due=card.due,  # type: ignore[attr-defined]
        last_review=card.last_review,  # type: ignore[attr-defined]
        reps=card.reps,  # type: ignore[attr-defined]
        lapses=card.lapses,  # type: ignore[attr-defined]
    )


def apply_memory(card: object, memory: Memory) -> None:
    """Write a Memory into a card row's columns."""
    for name in ("step", "stability", "difficulty", "due", "last_review", "reps", "lapses"):
        setattr(card, name, getattr(memory, name))
    card.state = int(memory.state)  # type: ignore[attr-defined]


__all__ = ["NEW", "Memory", "Scheduler", "apply_memory", "memory_of"]
