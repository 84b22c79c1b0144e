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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from srs.clock import Clock
from srs.models import CardState, Preset, Rating

if TYPE_CHECKING:
    import numpy as np


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


class Replayed(NamedTuple):
    """States after each answer of a batch replay, as arrays (one entry per answer)."""

    state: np.ndarray
    step: np.ndarray  # -1 where there is no learning step
    stability: np.ndarray
    difficulty: np.ndarray
    due: np.ndarray  # Unix ms
    interval: np.ndarray  # Anki's revlog units: days if positive, else seconds

    def previous_states(self, bounds: np.ndarray) -> np.ndarray:
        """The state before each answer (new before each card's first)."""
        import numpy as np

        previous = np.roll(self.state, 1)
        previous[bounds[:-1]] = int(CardState.NEW)
        return previous

    def final_states(self, bounds: np.ndarray, ratings: np.ndarray, times: np.ndarray) -> Iterator[tuple[int, ...]]:
        """Per card, after its last answer: (state, step or -1, stability, difficulty, due ms, last answer ms, reps, lapses)."""
        import numpy as np

        last = bounds[1:] - 1
        lapse = (self.previous_states(bounds) == CardState.REVIEW) & (np.asarray(ratings) == Rating.AGAIN)
        lapses = np.add.reduceat(lapse.astype(np.int64), bounds[:-1]).tolist()
        return zip(self.state[last].tolist(), self.step[last].tolist(), self.stability[last].tolist(),
                   self.difficulty[last].tolist(), self.due[last].tolist(), np.asarray(times)[last].tolist(),
                   np.diff(bounds).tolist(), lapses)

    def final_memories(self, bounds: np.ndarray, ratings: np.ndarray, times: np.ndarray) -> list[Memory]:
        """Each card's memory after its last answer, as ``replay`` gives it."""
        from srs.models import from_ms

        return [
            Memory(CardState(state), None if step < 0 else step, stability, difficulty, from_ms(due), from_ms(at), reps, lapses)
            for state, step, stability, difficulty, due, at, reps, lapses in self.final_states(bounds, ratings, times)
        ]


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

    def replay_batch(self, card_ids: np.ndarray, bounds: np.ndarray, ratings: np.ndarray, times: np.ndarray) -> Replayed:
        """Replay many cards' histories at once: the state after every answer.

        Card ``i`` (id ``card_ids[i]``) answered ``ratings[j]`` at ``times[j]``
        (Unix ms, ascending) for ``bounds[i] <= j < bounds[i + 1]``; every card
        has at least one answer. Importing an Anki history replays hundreds
        of thousands of answers, so this is ``review`` (py-fsrs's
        ``review_card`` and its formulas) written out on NumPy arrays: one
        pass per answer position, across all cards that reached it, with each
        formula in py-fsrs's exact operation order on float64 (NumPy's
        ``power`` is the C library's ``pow``, as Python's ``**`` is). A
        property test checks it against answering one by one, bit for bit.
        The formulas are FSRS-6's (fsrs/scheduler.py: _initial_stability,
        _initial_difficulty, _short_term_stability, _next_difficulty,
        _next_forget_stability, _next_recall_stability, _next_interval).
        Intervals are in Anki's revlog units, as ``review.anki_interval``
        gives them.
        """
        import numpy as np

        f = self._fsrs
        w = [float(x) for x in f.parameters]
        w_init = np.asarray(w[:4], dtype=np.float64)
        e = math.e
        factor, decay = f._FACTOR, f._DECAY
        easy_d0 = w[4] - (e ** (w[5] * (4 - 1))) + 1  # _initial_difficulty(Easy), unclamped
        short_forget = e ** (w[17] * w[18])
        e_w8 = e ** (w[8])
        interval_scale = (f.desired_retention ** (1 / decay)) - 1
        max_ivl = f.maximum_interval
        learning = [round(step.total_seconds() * 1000) for step in f.learning_steps]
        relearning = [round(step.total_seconds() * 1000) for step in f.relearning_steps]
        width = max(len(learning), len(relearning), 2)
        table = np.zeros((2, width), dtype=np.int64)  # row 0 learning steps, row 1 relearning (ms)
        table[0, : len(learning)] = learning
        table[1, : len(relearning)] = relearning
        NEW_, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3

        ratings = np.asarray(ratings, dtype=np.int64)
        times = np.asarray(times, dtype=np.int64)
        bounds = np.asarray(bounds, dtype=np.int64)
        n = len(ratings)
        lengths = np.diff(bounds)
        order = np.argsort(-lengths, kind="stable")  # longest first: the cards still going are a prefix
        starts = bounds[:-1][order]
        lengths = lengths[order]
        lane_ids = np.asarray(card_ids, dtype=np.int64)[order]
        days = self.clock.days_of_ms(times)
        next_starts = self.clock.day_starts_ms(days + 1)

        state_out = np.zeros(n, dtype=np.int64)
        step_out = np.full(n, -1, dtype=np.int64)
        s_out = np.zeros(n, dtype=np.float64)
        d_out = np.zeros(n, dtype=np.float64)
        days_out = np.zeros(n, dtype=np.int64)  # review: the interval in days
        step_ms = np.zeros(n, dtype=np.int64)  # learning step: its length in ms

        m = len(lane_ids)
        state = np.zeros(m, dtype=np.int64)
        step = np.zeros(m, dtype=np.int64)
        s = np.zeros(m, dtype=np.float64)
        d = np.zeros(m, dtype=np.float64)
        last = np.zeros(m, dtype=np.int64)
        ascending = -lengths  # for counting the cards with more than k answers
        with np.errstate(all="ignore"):  # every branch is computed for all lanes, then chosen
            for k in range(int(lengths[0]) if m else 0):
                c = int(np.searchsorted(ascending, -k, side="left"))
                at_ = starts[:c] + k
                g = ratings[at_]
                now = times[at_]
                today = days[at_]
                st, sp, s0, d0 = state[:c], step[:c], s[:c], d[:c]
                fresh = st == NEW_

                # memory: stability and difficulty
                gap = (next_starts[at_] - last[:c]) // 86_400_000
                inc = (np.power(e, w[17] * (g - 3 + w[18]))) * (np.power(s0, -w[19]))
                inc = np.where(g > 1, np.maximum(inc, 1.0), inc)
                s_short = np.maximum(s0 * inc, 0.001)
                elapsed = np.maximum(0, gap)
                r = np.power(1 + factor * elapsed / s0, decay)
                long_term = w[11] * (np.power(d0, -w[12])) * ((np.power(s0 + 1, w[13])) - 1) * (np.power(e, (1 - r) * w[14]))
                s_forget = np.maximum(np.minimum(long_term, s0 / short_forget), 0.001)
                hard = np.where(g == 2, w[15], 1.0)
                easy = np.where(g == 4, w[16], 1.0)
                s_recall = np.maximum(
                    s0 * (1 + e_w8 * (11 - d0) * (np.power(s0, -w[9])) * ((np.power(e, (1 - r) * w[10])) - 1) * hard * easy),
                    0.001,
                )
                delta = -(w[6] * (g - 3))
                d_next = np.clip(w[7] * easy_d0 + (1 - w[7]) * (d0 + (10.0 - d0) * delta / 9.0), 1.0, 10.0)
                s_next = np.where(gap < 1, s_short, np.where(g == 1, s_forget, s_recall))
                s_next = np.where(fresh, np.maximum(w_init[g - 1], 0.001), s_next)
                d_next = np.where(
                    fresh, np.clip(w[4] - (np.power(e, w[5] * (g - 1))) + 1, 1.0, 10.0), d_next
                )

                # state and learning step
                st = np.where(fresh, LEARNING, st)
                sp = np.where(fresh, 0, sp)
                ivl = np.zeros(c, dtype=np.int64)
                in_steps = (st == LEARNING) | (st == RELEARNING)
                lapse = (st == REVIEW) & (g == 1) & bool(relearning)
                row = (st == RELEARNING).astype(np.int64)
                count = np.where(st == LEARNING, len(learning), len(relearning))
                graduate = in_steps & ((count == 0) | ((sp >= count) & (g > 1)))
                rest = in_steps & ~graduate
                again = rest & (g == 1)
                hard_step = rest & (g == 2)
                good_step = rest & (g == 3) & (sp + 1 < count)
                first = table[row, 0]
                hard_ms = np.where(
                    (sp == 0) & (count == 1),
                    np.rint(first * 1.5),
                    np.where(sp == 0, np.rint((first + table[row, 1]) / 2), table[row, np.clip(sp, 0, width - 1)]),
                ).astype(np.int64)
                next_sp = np.clip(sp + 1, 0, width - 1)
                ivl = np.where(again, first, ivl)
                ivl = np.where(hard_step, hard_ms, ivl)
                ivl = np.where(good_step, table[row, next_sp], ivl)
                ivl = np.where(lapse, relearning[0] if relearning else 0, ivl)
                sp = np.where(again | lapse, 0, np.where(good_step, sp + 1, sp))
                st = np.where(lapse, RELEARNING, np.where(graduate | (rest & ~again & ~hard_step & ~good_step), REVIEW, st))

                # review interval in days
                reviewed = st == REVIEW
                interval = np.clip(np.rint((s_next / factor) * interval_scale), 1, max_ivl).astype(np.int64)
                if self.fuzz:
                    interval = np.where(reviewed, self._fuzzed_days_batch(interval, lane_ids[:c], k + 1), interval)
                if self.deadline_day is not None:
                    interval = self._aim_batch(interval, s_next, today)

                state_out[at_] = st
                step_out[at_] = np.where(reviewed, -1, sp)
                s_out[at_] = s_next
                d_out[at_] = d_next
                days_out[at_] = interval
                step_ms[at_] = ivl
                state[:c], step[:c], s[:c], d[:c], last[:c] = st, sp, s_next, d_next, now

        reviewed = state_out == REVIEW
        due = np.where(reviewed, self.clock.day_starts_ms(np.where(reviewed, days + days_out, 0)), times + step_ms)
        past = ~reviewed & (due >= next_starts)  # a step past the rollover counts in days
        interval = np.where(reviewed, np.maximum(1, days_out), -np.maximum(1, (step_ms + 500) // 1000))
        if past.any():
            interval[past] = np.maximum(1, self.clock.days_of_ms(due[past]) - days[past])
        return Replayed(state_out, step_out, s_out, d_out, due, interval)

    def _fuzzed_days_batch(self, days: np.ndarray, card_ids: np.ndarray, reps: int) -> np.ndarray:
        """``_fuzzed_days`` for arrays of intervals and card ids (one answer count)."""
        import numpy as np

        delta = np.full(len(days), 1.0)
        for start, end, factor in _fuzz_ranges():
            delta = delta + np.where(days > start, factor * (np.minimum(days, end) - start), 0.0)
        low = np.maximum(2, np.rint(days - delta)).astype(np.int64)
        high = np.minimum(np.rint(days + delta), self.maximum_interval).astype(np.int64)
        low = np.minimum(low, high)
        fuzzed = low + np.floor(_unit_batch(card_ids, reps) * (high - low + 1)).astype(np.int64)
        return np.where(days < 2.5, days, fuzzed)

    def _aim_batch(self, days: np.ndarray, stability: np.ndarray, today: np.ndarray) -> np.ndarray:
        """``aim_at_deadline`` for arrays."""
        import numpy as np

        left = self.deadline_day - today  # type: ignore[operator]
        recall = np.power(1 + self._factor * left / stability, self._decay)
        keep = (left <= 1) | (today + days < self.deadline_day) | (recall >= self.desired_retention)
        return np.where(keep, days, np.maximum(1, left - np.clip(left // 5, 1, 3)))

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


def _unit_batch(card_ids: np.ndarray, reps: int) -> np.ndarray:
    """``_unit`` for an array of card ids (uint64 arithmetic wraps like the masks above)."""
    import numpy as np

    z = np.asarray(card_ids).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(
        (reps * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    )
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z.astype(np.float64) * 2.0**-64


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


def memory_columns(memory: Memory) -> dict[str, object]:
    """A Memory as the values of a card row's columns."""
    columns: dict[str, object] = {
        name: getattr(memory, name) for name in ("step", "stability", "difficulty", "due", "last_review", "reps", "lapses")
    }
    columns["state"] = int(memory.state)
    return columns


def apply_memory(card: object, memory: Memory) -> None:
    """Write a Memory into a card row's columns."""
    for name, value in memory_columns(memory).items():
        setattr(card, name, value)


__all__ = ["NEW", "Memory", "Replayed", "Scheduler", "apply_memory", "memory_columns", "memory_of"]
