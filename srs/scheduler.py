"""FSRS scheduling on the user's calendar days: the one implementation of the memory model.

py-fsrs counts elapsed days as whole 24-hour periods between two instants, so
a review at 23:00 and another at 08:00 the next morning count as 0 days,
while Anki counts 1 (it counts day rollovers). srs therefore counts elapsed
days the way Anki does (``Clock``) and feeds them to FSRS-6's formulas. Real
times are kept for what the user sees: learning steps run from the moment of
the answer, and a review card becomes due at the start of its due day.

One kernel, two callers. ``Scheduler._answer`` applies one answer to many
cards at once on NumPy arrays; answering one card (``review``) calls it with
arrays of length one, and replaying a whole history (``replay_batch``) calls
it once per answer position across all cards. Both therefore compute with the
same floating-point operations, so on one machine they agree to the last bit.

Across machines, the last bits may differ: NumPy picks its ``power`` kernel
by CPU (AVX-512 machines use a SIMD routine that differs from the C
library's ``pow`` in the last bit for about 5% of inputs). What may differ is
the last bits of stability and difficulty; what may not is what the user
sees: states, learning steps, due days, intervals and counts. Where two
different code paths meet (py-fsrs, Anki's Rust code, fsrs-rs), stability and
difficulty are compared with ``FLOAT_TOLERANCE`` (srs against py-fsrs) or
Anki's own 1% (float32 code), never with ``==``.

Fuzz is reproducible: it is drawn from a generator seeded by the card id and
its review count, so replaying the same history gives the same schedule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

from srs.clock import DAY_MS, Clock
from srs.domain import CardState, Rating, from_ms, to_ms

if TYPE_CHECKING:
    import numpy as np

# A new preset's options: Anki's defaults (learning steps 1m 10m, relearning
# 10m, intervals up to a century) and FSRS's usual 90% retention. Settings
# build the default preset from these; a Scheduler made without a preset uses them.
DEFAULT_DESIRED_RETENTION = 0.9
DEFAULT_LEARNING_STEPS = (60, 600)  # seconds
DEFAULT_RELEARNING_STEPS = (600,)
DEFAULT_MAXIMUM_INTERVAL = 36500  # days


class PresetOptions(Protocol):
    """A preset's scheduling options (the ORM's Preset, or anything with these attributes)."""

    parameters: list[float]
    desired_retention: float
    learning_steps: list[int]
    relearning_steps: list[int]
    maximum_interval: int

# Relative tolerance for stability and difficulty computed by two different
# code paths (srs's kernel and py-fsrs, or the same kernel on two CPUs). A
# one-ulp difference in one power compounds to about 1e-14 over a long
# history; this leaves five orders of magnitude of room and is still far
# below anything that moves a due day.
FLOAT_TOLERANCE = 1e-9

# FSRS-6 (fsrs/scheduler.py, and the algorithm's description in the
# open-spaced-repetition wiki): S and D are clamped to these bounds.
STABILITY_MIN = 0.001
DIFFICULTY_MIN, DIFFICULTY_MAX = 1.0, 10.0
_NEW, _LEARNING, _REVIEW, _RELEARNING = 0, 1, 2, 3


def _power(base: np.ndarray | float, exponent: np.ndarray | float) -> np.ndarray:
    """The kernel's one power function (NumPy's, CPU-dependent in the last bit).

    Every power in the memory model goes through here, so a test can nudge
    the results by one ulp and show that nothing a user sees moves.
    """
    import numpy as np

    return np.power(base, exponent)


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
        return [
            Memory(CardState(state), None if step < 0 else step, stability, difficulty, from_ms(due), from_ms(at), reps, lapses)
            for state, step, stability, difficulty, due, at, reps, lapses in self.final_states(bounds, ratings, times)
        ]


class _Answered(NamedTuple):
    """What one answer does to each lane (card) of the kernel."""

    state: np.ndarray
    step: np.ndarray
    stability: np.ndarray
    difficulty: np.ndarray
    days: np.ndarray  # review cards: the interval in days
    step_ms: np.ndarray  # learning cards: the step's length in ms


class Scheduler:
    """FSRS-6 with one preset's options on one clock."""

    def __init__(
        self,
        clock: Clock,
        parameters: Sequence[float] | None = None,
        desired_retention: float = DEFAULT_DESIRED_RETENTION,
        learning_steps: Sequence[int] = DEFAULT_LEARNING_STEPS,
        relearning_steps: Sequence[int] = DEFAULT_RELEARNING_STEPS,
        maximum_interval: int = DEFAULT_MAXIMUM_INTERVAL,
        fuzz: bool = True,
        deadline_day: int | None = None,
    ) -> None:
        # fsrs is imported here, not at module level: read-only commands
        # (status, cards) never build a Scheduler and skip its import cost.
        from fsrs.scheduler import DEFAULT_PARAMETERS

        self.clock = clock
        self.fuzz = fuzz
        self.maximum_interval = maximum_interval
        self.deadline_day = deadline_day  # an interview day the schedule aims at (plan.py)
        self.desired_retention = desired_retention
        self.parameters = tuple(float(p) for p in (parameters if parameters is not None else DEFAULT_PARAMETERS))
        validate_parameters(self.parameters)
        self.learning_steps = tuple(int(s) for s in learning_steps)  # seconds
        self.relearning_steps = tuple(int(s) for s in relearning_steps)
        w = self.parameters
        # FSRS-6 forgetting curve: R(t) = (1 + factor * t / S) ** decay, decay = -w[20] < 0
        self._decay = -w[20]
        self._factor = 0.9 ** (1 / self._decay) - 1
        self._setup_kernel()

    @classmethod
    def from_preset(cls, preset: PresetOptions, clock: Clock, fuzz: bool = True, deadline_day: int | None = None) -> Scheduler:
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

    def review(self, memory: Memory, rating: Rating | int, now: datetime, card_id: int) -> Memory:
        """The memory after answering *rating* at *now*: the kernel on one lane."""
        import numpy as np

        now_ms = to_ms(now)
        today = self.clock.day_of_ms(now_ms)
        fresh = memory.state == CardState.NEW
        last_ms = 0
        if not fresh:
            assert memory.last_review is not None and memory.stability is not None and memory.difficulty is not None
            last_ms = to_ms(memory.last_review)
        out = self._answer(
            np.array([int(memory.state)], dtype=np.int64),
            np.array([memory.step or 0], dtype=np.int64),
            np.array([0.0 if fresh else memory.stability], dtype=np.float64),
            np.array([0.0 if fresh else memory.difficulty], dtype=np.float64),
            np.array([last_ms], dtype=np.int64),
            np.array([int(rating)], dtype=np.int64),
            np.array([today], dtype=np.int64),
            np.array([self.clock.day_start_ms(today + 1)], dtype=np.int64),
            np.array([card_id], dtype=np.int64),
            memory.reps + 1,
        )
        state = CardState(int(out.state[0]))
        if state == CardState.REVIEW:
            due = from_ms(self.clock.day_start_ms(today + int(out.days[0])))
            step = None
        else:
            due = now + timedelta(milliseconds=int(out.step_ms[0]))
            step = int(out.step[0])
        lapse = memory.state == CardState.REVIEW and int(rating) == Rating.AGAIN
        return Memory(
            state=state,
            step=step,
            stability=float(out.stability[0]),
            difficulty=float(out.difficulty[0]),
            due=due,
            last_review=now,
            reps=memory.reps + 1,
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
        """The forgetting curve: recall probability *elapsed_days* after a review (for display)."""
        return float((1 + self._factor * elapsed_days / stability) ** self._decay)

    def replay_batch(self, card_ids: np.ndarray, bounds: np.ndarray, ratings: np.ndarray, times: np.ndarray) -> Replayed:
        """Replay many cards' histories at once: the state after every answer.

        Card ``i`` (id ``card_ids[i]``) answered ``ratings[j]`` at ``times[j]``
        (Unix ms, ascending) for ``bounds[i] <= j < bounds[i + 1]``; every card
        has at least one answer. Importing an Anki history replays hundreds
        of thousands of answers: one kernel call per answer position, across
        all cards that reached it (cards sorted longest first, so the ones
        still going are a prefix). Intervals are in Anki's revlog units, as
        ``anki_interval`` gives them.
        """
        import numpy as np

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
        days_out = np.zeros(n, dtype=np.int64)
        step_ms = np.zeros(n, dtype=np.int64)

        m = len(lane_ids)
        state = np.zeros(m, dtype=np.int64)
        step = np.zeros(m, dtype=np.int64)
        s = np.zeros(m, dtype=np.float64)
        d = np.zeros(m, dtype=np.float64)
        last = np.zeros(m, dtype=np.int64)
        ascending = -lengths  # for counting the cards with more than k answers
        for k in range(int(lengths[0]) if m else 0):
            c = int(np.searchsorted(ascending, -k, side="left"))
            at_ = starts[:c] + k
            out = self._answer(
                state[:c], step[:c], s[:c], d[:c], last[:c], ratings[at_], days[at_], next_starts[at_], lane_ids[:c], k + 1
            )
            state_out[at_] = out.state
            step_out[at_] = np.where(out.state == _REVIEW, -1, out.step)
            s_out[at_] = out.stability
            d_out[at_] = out.difficulty
            days_out[at_] = out.days
            step_ms[at_] = out.step_ms
            state[:c], step[:c], s[:c], d[:c], last[:c] = out.state, out.step, out.stability, out.difficulty, times[at_]

        reviewed = state_out == _REVIEW
        due = np.where(reviewed, self.clock.day_starts_ms(np.where(reviewed, days + days_out, 0)), times + step_ms)
        past = ~reviewed & (due >= next_starts)  # a step past the rollover counts in days
        interval = np.where(reviewed, np.maximum(1, days_out), -np.maximum(1, (step_ms + 500) // 1000))
        if past.any():
            interval[past] = np.maximum(1, self.clock.days_of_ms(due[past]) - days[past])
        return Replayed(state_out, step_out, s_out, d_out, due, interval)

    def _setup_kernel(self) -> None:
        """Constants of the kernel, computed once per scheduler."""
        import numpy as np

        w = self.parameters
        e = math.e
        self._w_init = np.asarray(w[:4], dtype=np.float64)
        self._easy_d0 = w[4] - (e ** (w[5] * (4 - 1))) + 1  # initial difficulty of Easy, unclamped
        self._short_forget = e ** (w[17] * w[18])
        self._e_w8 = e ** w[8]
        self._interval_scale = (self.desired_retention ** (1 / self._decay)) - 1
        learning = [s * 1000 for s in self.learning_steps]
        relearning = [s * 1000 for s in self.relearning_steps]
        self._width = max(len(learning), len(relearning), 2)
        table = np.zeros((2, self._width), dtype=np.int64)  # row 0 learning steps, row 1 relearning (ms)
        table[0, : len(learning)] = learning
        table[1, : len(relearning)] = relearning
        self._steps_table = table

    def _answer(
        self,
        state: np.ndarray,
        step: np.ndarray,
        s0: np.ndarray,
        d0: np.ndarray,
        last: np.ndarray,
        g: np.ndarray,
        today: np.ndarray,
        next_start: np.ndarray,
        ids: np.ndarray,
        reps: int,
    ) -> _Answered:
        """The kernel: each lane's card, in *state*/*step* with memory *s0*/*d0* last answered at *last* (ms), answered *g*.

        *today* is the answer's day, *next_start* the start of the next day
        (ms); *reps* the answer's number in the card's history (for fuzz).
        Each formula is FSRS-6 in py-fsrs's operation order (fsrs/scheduler.py:
        _initial_stability, _initial_difficulty, _short_term_stability,
        _next_difficulty, _next_forget_stability, _next_recall_stability,
        _next_interval); every branch is computed for all lanes, then chosen.
        """
        import numpy as np

        w = self.parameters
        e = math.e
        factor, decay = self._factor, self._decay
        table, width = self._steps_table, self._width
        n_learning, n_relearning = len(self.learning_steps), len(self.relearning_steps)
        c = len(state)
        with np.errstate(all="ignore"):
            fresh = state == _NEW
            # memory: stability and difficulty
            gap = (next_start - last) // DAY_MS  # Anki's elapsed days (rslib: next_day_at.elapsed_days_since)
            inc = (_power(e, w[17] * (g - 3 + w[18]))) * (_power(s0, -w[19]))
            inc = np.where(g > 1, np.maximum(inc, 1.0), inc)
            s_short = np.maximum(s0 * inc, STABILITY_MIN)
            elapsed = np.maximum(0, gap)
            r = _power(1 + factor * elapsed / s0, decay)
            long_term = w[11] * (_power(d0, -w[12])) * ((_power(s0 + 1, w[13])) - 1) * (_power(e, (1 - r) * w[14]))
            s_forget = np.maximum(np.minimum(long_term, s0 / self._short_forget), STABILITY_MIN)
            hard = np.where(g == 2, w[15], 1.0)
            easy = np.where(g == 4, w[16], 1.0)
            s_recall = np.maximum(
                s0 * (1 + self._e_w8 * (11 - d0) * (_power(s0, -w[9])) * ((_power(e, (1 - r) * w[10])) - 1) * hard * easy),
                STABILITY_MIN,
            )
            delta = -(w[6] * (g - 3))
            d_next = np.clip(
                w[7] * self._easy_d0 + (1 - w[7]) * (d0 + (10.0 - d0) * delta / 9.0), DIFFICULTY_MIN, DIFFICULTY_MAX
            )
            s_next = np.where(gap < 1, s_short, np.where(g == 1, s_forget, s_recall))
            s_next = np.where(fresh, np.maximum(self._w_init[np.clip(g - 1, 0, 3)], STABILITY_MIN), s_next)
            d_next = np.where(
                fresh, np.clip(w[4] - (_power(e, w[5] * (g - 1))) + 1, DIFFICULTY_MIN, DIFFICULTY_MAX), d_next
            )

            # state and learning step
            st = np.where(fresh, _LEARNING, state)
            sp = np.where(fresh, 0, step)
            ivl = np.zeros(c, dtype=np.int64)
            in_steps = (st == _LEARNING) | (st == _RELEARNING)
            lapse = (st == _REVIEW) & (g == 1) & bool(n_relearning)
            row = (st == _RELEARNING).astype(np.int64)
            count = np.where(st == _LEARNING, n_learning, n_relearning)
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
            ivl = np.where(lapse, table[1, 0] if n_relearning else 0, ivl)
            sp = np.where(again | lapse, 0, np.where(good_step, sp + 1, sp))
            st = np.where(lapse, _RELEARNING, np.where(graduate | (rest & ~again & ~hard_step & ~good_step), _REVIEW, st))

            # review interval in days
            reviewed = st == _REVIEW
            interval = np.clip(np.rint((s_next / factor) * self._interval_scale), 1, self.maximum_interval).astype(np.int64)
            if self.fuzz:
                interval = np.where(reviewed, self._fuzzed_days_batch(interval, ids, reps), interval)
            if self.deadline_day is not None:
                interval = self._aim_batch(interval, s_next, today)
        return _Answered(st, sp, s_next, d_next, interval, ivl)

    def _fuzzed_days_batch(self, days: np.ndarray, card_ids: np.ndarray, reps: int) -> np.ndarray:
        """Fuzzed intervals for cards answered for the *reps*-th time.

        The fuzz window is py-fsrs's (itself Anki's): no fuzz below 2.5 days,
        then +-15% / 10% / 5% over the ranges in FUZZ_RANGES; the draw is
        reproducible (``_unit_batch``).
        """
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
        """Cap intervals that would jump past the interview with recall below target on the day.

        Such a card is brought back in the last stretch before the interview
        (the final fifth of the days left, one to three days), so it is fresh
        on the day; a card seen again before the interview anyway, or whose
        recall on the day stays at the target, keeps its interval.
        """
        import numpy as np

        assert self.deadline_day is not None
        left = self.deadline_day - today
        # (on the eve of the interview or after it every interval is kept: no recall is asked of those days, whose
        # negative distance would make the power's base negative)
        recall = _power(1 + self._factor * np.maximum(left, 0) / stability, self._decay)
        keep = (left <= 1) | (today + days < self.deadline_day) | (recall >= self.desired_retention)
        return np.where(keep, days, np.maximum(1, left - np.clip(left // 5, 1, 3)))

    def aim_at_deadline(self, days: int, stability: float, today: int) -> int:
        """``_aim_batch`` for one interval (no plan: the interval unchanged)."""
        import numpy as np

        if self.deadline_day is None:
            return days
        capped = self._aim_batch(np.array([days]), np.array([stability], dtype=np.float64), np.array([today]))
        return int(capped[0])

    @staticmethod
    def stretch(days_left: int) -> int:
        """How many days before the interview the last review should fall."""
        return max(1, min(3, days_left // 5))


def validate_parameters(parameters: Sequence[float]) -> None:
    """Raise ValueError unless these are 21 FSRS-6 parameters within py-fsrs's bounds."""
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

    if len(parameters) != len(LOWER_BOUNDS_PARAMETERS):
        raise ValueError(f"expected {len(LOWER_BOUNDS_PARAMETERS)} FSRS parameters, got {len(parameters)}")
    for index, (value, low, high) in enumerate(zip(parameters, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS)):
        if not (low <= value <= high):
            raise ValueError(f"FSRS parameter {index} = {value} is out of bounds ({low}, {high})")


_FUZZ: list[tuple[float, float, float]] = []


def _fuzz_ranges() -> list[tuple[float, float, float]]:
    if not _FUZZ:
        from fsrs.scheduler import FUZZ_RANGES

        _FUZZ.extend((r["start"], r["end"], r["factor"]) for r in FUZZ_RANGES)
    return _FUZZ


def _unit_batch(card_ids: np.ndarray, reps: int) -> np.ndarray:
    """A reproducible number in [0, 1) per card for its *reps*-th answer (splitmix64, in wrapping uint64)."""
    import numpy as np

    z = np.asarray(card_ids).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(
        (reps * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    )
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z.astype(np.float64) * 2.0**-64


class HoldsMemory(Protocol):
    """What a card row holds of its memory (the ORM's Card, or any object with these attributes)."""

    state: CardState
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime | None
    last_review: datetime | None
    reps: int
    lapses: int


def memory_of(card: HoldsMemory) -> Memory:
    """The Memory held in a card row's columns."""
    return Memory(
        state=CardState(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
        reps=card.reps,
        lapses=card.lapses,
    )


def memory_columns(memory: Memory) -> dict[str, object]:
    """A Memory as the values of a card row's columns."""
    columns: dict[str, object] = {
        name: getattr(memory, name) for name in ("step", "stability", "difficulty", "due", "last_review", "reps", "lapses")
    }
    columns["state"] = memory.state
    return columns


def apply_memory(card: HoldsMemory, memory: Memory) -> None:
    """Write a Memory into a card row's columns."""
    for name, value in memory_columns(memory).items():
        setattr(card, name, value)


def anki_interval(clock: Clock, state: int, due_ms: int, at_ms: int) -> int:
    """The interval an answer scheduled, in Anki's revlog units.

    Days when the card is next due on a later day (always for review cards),
    else negative seconds (rslib/src/revlog/mod.rs: "positive values are in
    days, negative values in seconds").
    """
    days = clock.day_of_ms(due_ms) - clock.day_of_ms(at_ms)
    if state == CardState.REVIEW or days > 0:
        return max(1, days)
    return -max(1, (due_ms - at_ms + 500) // 1000)


__all__ = [
    "DEFAULT_DESIRED_RETENTION", "DEFAULT_LEARNING_STEPS", "DEFAULT_MAXIMUM_INTERVAL", "DEFAULT_RELEARNING_STEPS",
    "FLOAT_TOLERANCE", "NEW", "HoldsMemory", "Memory", "PresetOptions", "Replayed", "Scheduler", "anki_interval",
    "apply_memory", "memory_columns", "memory_of", "validate_parameters",
]
