"""FSRS on calendar days: intervals checked by hand, day alignment, fuzz."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from fsrs.scheduler import DEFAULT_PARAMETERS as W

from srs.clock import Clock
from srs.domain import CardState, Rating
from srs.scheduler import NEW, Scheduler

BERLIN = ZoneInfo("Europe/Berlin")
DECAY = W[20]
FACTOR = 0.9 ** (-1 / DECAY) - 1


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(timezone.utc)


def scheduler(**kw: object) -> Scheduler:
    return Scheduler(Clock(BERLIN, 4), fuzz=False, **kw)  # type: ignore[arg-type]


# FSRS-6 formulas written out from the algorithm's description
# (https://github.com/open-spaced-repetition/fsrs4anki/wiki/The-Algorithm),
# independent of py-fsrs, to check the wiring by hand.
def recall(t: float, s: float) -> float:
    return (1 + FACTOR * t / s) ** -DECAY


def d0(g: int) -> float:
    return W[4] - math.exp(W[5] * (g - 1)) + 1


def next_d(d: float, g: int) -> float:
    delta = -W[6] * (g - 3)
    d2 = d + delta * (10 - d) / 9
    return min(max(W[7] * d0(4) + (1 - W[7]) * d2, 1), 10)


def next_s_recall(d: float, s: float, r: float, g: int) -> float:
    hard = W[15] if g == 2 else 1
    easy = W[16] if g == 4 else 1
    return s * (1 + math.exp(W[8]) * (11 - d) * s ** -W[9] * (math.exp((1 - r) * W[10]) - 1) * hard * easy)


def next_s_short(s: float, g: int) -> float:
    inc = math.exp(W[17] * (g - 3 + W[18])) * s ** -W[19]
    if g >= 2:
        inc = max(inc, 1.0)
    return s * inc


def test_first_answers_match_initial_parameters() -> None:
    """A new card's first rating sets S = w[rating-1] and D = D0(rating)."""
    s = scheduler()
    now = local(2026, 11, 25, 9)
    for rating in Rating:
        memory = s.review(NEW, rating, now, card_id=1)
        assert math.isclose(memory.stability or 0, W[rating - 1])
        assert math.isclose(memory.difficulty or 0, min(max(d0(rating), 1), 10))


def test_easy_on_new_card_graduates_with_interval_equal_to_stability() -> None:
    """At 90% retention the interval is round(S) days: Easy on a new card is 8 days."""
    s = scheduler()
    now = local(2026, 11, 25, 9)
    memory = s.review(NEW, Rating.EASY, now, card_id=1)
    assert memory.state == CardState.REVIEW
    assert round(W[3]) == 8
    assert memory.due == local(2026, 12, 3, 4)  # start of the day 8 days later


def test_learning_steps_then_hand_checked_review_intervals() -> None:
    """Good, Good (10 min later), then on-time Good reviews follow the FSRS formulas exactly."""
    s = scheduler()
    t0 = local(2026, 11, 25, 9)
    m = s.review(NEW, Rating.GOOD, t0, 1)
    assert m.state == CardState.LEARNING and m.due == t0 + timedelta(minutes=10)
    t1 = t0 + timedelta(minutes=10)
    m = s.review(m, Rating.GOOD, t1, 1)
    stab = next_s_short(W[2], 3)
    diff = next_d(d0(3), 3)
    assert math.isclose(m.stability or 0, stab) and math.isclose(m.difficulty or 0, diff)
    assert m.state == CardState.REVIEW
    interval = round(stab)
    assert m.due == local(2026, 11, 25 + interval, 4)

    expected_intervals = []
    day = 25 + interval
    when = local(2026, 11, day, 19)  # reviewed in the evening of the due day
    for _ in range(3):
        r = recall(interval, stab)
        stab = next_s_recall(diff, stab, r, 3)
        diff = next_d(diff, 3)
        m = s.review(m, Rating.GOOD, when, 1)
        assert math.isclose(m.stability or 0, stab, rel_tol=1e-9)
        assert math.isclose(m.difficulty or 0, diff, rel_tol=1e-9)
        interval = max(1, round(stab))
        expected_intervals.append(interval)
        assert s.clock.day_of(m.due) - s.clock.day_of(when) == interval  # type: ignore[arg-type]
        when = s.clock.day_start(s.clock.day_of(when) + interval) + timedelta(hours=15)
    assert expected_intervals == [11, 46, 163]


def test_evening_then_morning_uses_one_elapsed_day() -> None:
    """23:00 then 08:00 next morning is a one-day review (Anki), not a same-day one (naive py-fsrs)."""
    s = scheduler()
    evening = local(2026, 11, 24, 23)
    m = s.review(NEW, Rating.GOOD, evening, 1)
    m = s.review(m, Rating.GOOD, evening + timedelta(minutes=10), 1)
    before = m.stability or 0
    morning = local(2026, 11, 25, 8)
    after = s.review(m, Rating.GOOD, morning, 1)
    # elapsed one day: long-term recall formula with t = 1
    expected = next_s_recall(m.difficulty or 0, before, recall(1, before), 3)
    assert math.isclose(after.stability or 0, expected, rel_tol=1e-9)
    assert not math.isclose(after.stability or 0, next_s_short(before, 3))


def test_retrievability_counts_calendar_days() -> None:
    """Recall probability uses whole calendar days since the last review."""
    s = scheduler()
    t0 = local(2026, 11, 24, 23)
    m = s.review(NEW, Rating.EASY, t0, 1)
    assert s.retrievability(m, t0 + timedelta(hours=2)) == 1.0
    r = s.retrievability(m, local(2026, 11, 25, 8))
    assert r is not None and math.isclose(r, recall(1, W[3]))
    assert s.retrievability(NEW, t0) is None


def test_lapse_goes_to_relearning_and_counts() -> None:
    """Again on a review card enters relearning with the relearning step and counts a lapse."""
    s = scheduler()
    t0 = local(2026, 11, 1, 9)
    m = s.review(NEW, Rating.EASY, t0, 1)
    t1 = local(2026, 11, 9, 9)
    m = s.review(m, Rating.AGAIN, t1, 1)
    assert m.state == CardState.RELEARNING and m.lapses == 1 and m.reps == 2
    assert m.due == t1 + timedelta(minutes=10)


def test_desired_retention_shortens_intervals() -> None:
    """A higher desired retention gives a shorter interval for the same memory."""
    now = local(2026, 11, 25, 9)
    low = scheduler(desired_retention=0.8).review(NEW, Rating.EASY, now, 1)
    high = scheduler(desired_retention=0.97).review(NEW, Rating.EASY, now, 1)
    assert high.due < low.due  # type: ignore[operator]


def test_fuzz_is_reproducible_and_bounded() -> None:
    """The same card and history always get the same fuzzed interval, within the fuzz window."""
    fuzzy = Scheduler(Clock(BERLIN, 4), fuzz=True)
    plain = scheduler()
    history = [(Rating.EASY, local(2026, 1, 1, 9)), (Rating.GOOD, local(2026, 1, 9, 9)), (Rating.GOOD, local(2026, 2, 20, 9))]
    first = fuzzy.replay(history, card_id=42)
    again = fuzzy.replay(history, card_id=42)
    assert first == again
    unfuzzed = plain.replay(history, card_id=42)
    day = fuzzy.clock.day_of(history[-1][1])
    fuzzed_ivl = fuzzy.clock.day_of(first.due) - day  # type: ignore[arg-type]
    plain_ivl = plain.clock.day_of(unfuzzed.due) - day  # type: ignore[arg-type]
    assert first.stability == unfuzzed.stability
    assert abs(fuzzed_ivl - plain_ivl) <= max(2, round(plain_ivl * 0.15))
    spread = {fuzzy.clock.day_of(fuzzy.replay(history, card_id=c).due) for c in range(40)}  # type: ignore[arg-type]
    assert len(spread) > 1  # different cards do spread out


def test_preview_matches_review() -> None:
    """The interval shown on each button is the one answering gives."""
    s = Scheduler(Clock(BERLIN, 4), fuzz=True)
    now = local(2026, 11, 25, 9)
    m = s.review(NEW, Rating.EASY, local(2026, 11, 10, 9), 5)
    preview = s.preview(m, now, 5)
    for rating in Rating:
        assert now + preview[rating] == s.review(m, rating, now, 5).due


import pytest  # noqa: E402
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 90 * 86_400_000)), min_size=1, max_size=30),
    st.integers(1, 10**9),
    st.sampled_from([(60, 600), (600,), ()]),
    st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_fast_replay_equals_review(history, card_id, steps, fuzz) -> None:  # type: ignore[no-untyped-def]
    """The batch replay of one card gives exactly the states that answering one by one gives."""
    s = Scheduler(Clock(BERLIN, 4), learning_steps=steps, relearning_steps=steps[-1:], fuzz=fuzz)
    at = 1_780_000_000_000
    pairs = []
    for rating, gap in history:
        at += gap
        pairs.append((rating, at))
    import numpy as np

    out = s.replay_batch(np.array([card_id]), np.array([0, len(pairs)]), np.array([r for r, _ in pairs]), np.array([t for _, t in pairs]))
    fast = [(st, None if sp < 0 else sp, sb, df, du, iv) for st, sp, sb, df, du, iv in zip(*(a.tolist() for a in out))]
    memory = NEW
    from srs.scheduler import anki_interval

    for (rating, ms), (state, step, stability, difficulty, due, interval) in zip(pairs, fast):
        memory = s.review(memory, rating, datetime.fromtimestamp(ms / 1000, timezone.utc), card_id)
        assert (int(memory.state), memory.step) == (state, step)
        assert memory.stability == stability and memory.difficulty == difficulty
        assert round(memory.due.timestamp() * 1000) == due  # type: ignore[union-attr]
        assert anki_interval(s.clock, state, due, ms) == interval


@given(
    st.lists(
        st.tuples(
            st.integers(1, 2**62),
            st.lists(st.tuples(st.integers(1, 4), st.integers(0, 40 * 86_400_000)), min_size=1, max_size=25),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda card: card[0],
    ),
    st.sampled_from([(60, 600), (600,), (), (60, 600, 3600)]),
    st.sampled_from([None, 20_640, 20_700]),
    st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]),
    st.integers(0, 23),
)
@settings(max_examples=100, deadline=None)
def test_batch_replay_equals_review_card_by_card(cards, steps, deadline, zone, rollover) -> None:  # type: ignore[no-untyped-def]
    """Replaying many cards of different lengths at once equals answering each card one by one.

    Covers fuzz (seeded per card), an interview deadline, learning steps of
    several lengths and day rollovers in DST zones.
    """
    import numpy as np

    from srs.scheduler import anki_interval

    s = Scheduler(
        Clock(ZoneInfo(zone), rollover), learning_steps=steps, relearning_steps=steps[-1:], fuzz=True, deadline_day=deadline
    )
    ids, bounds, ratings, times = [], [0], [], []
    for card_id, history in cards:
        at = 1_780_000_000_000
        for rating, gap in history:
            at += gap
            ratings.append(rating)
            times.append(at)
        ids.append(card_id)
        bounds.append(len(ratings))
    out = s.replay_batch(np.array(ids), np.array(bounds), np.array(ratings), np.array(times))
    for i, card_id in enumerate(ids):
        memory = NEW
        for j in range(bounds[i], bounds[i + 1]):
            memory = s.review(memory, ratings[j], datetime.fromtimestamp(times[j] / 1000, timezone.utc), card_id)
            step = int(out.step[j])
            assert (int(memory.state), memory.step) == (int(out.state[j]), None if step < 0 else step)
            assert memory.stability == out.stability[j] and memory.difficulty == out.difficulty[j]
            assert round(memory.due.timestamp() * 1000) == out.due[j]  # type: ignore[union-attr]
            assert anki_interval(s.clock, int(out.state[j]), int(out.due[j]), times[j]) == out.interval[j]


@given(st.lists(st.integers(1_500_000_000_000, 1_900_000_000_000), min_size=1, max_size=200),
       st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
       st.integers(0, 23))
@settings(max_examples=60, deadline=None)
def test_vectorised_days_equal_day_by_day(instants, zone, rollover) -> None:  # type: ignore[no-untyped-def]
    """The array forms of day_of_ms and day_start_ms agree with the one-at-a-time ones."""
    import numpy as np

    clock = Clock(ZoneInfo(zone), rollover)
    days = clock.days_of_ms(np.array(instants))
    assert days.tolist() == [clock.day_of_ms(ms) for ms in instants]
    assert clock.day_starts_ms(days).tolist() == [clock.day_start_ms(day) for day in days.tolist()]


# --- one kernel, and what may differ across CPUs ------------------------------------------


def _py_fsrs_review(s: Scheduler, memory, rating: int, now: datetime, card_id: int):  # type: ignore[no-untyped-def]
    """The same answer through py-fsrs's own ``review_card`` (the independent implementation).

    py-fsrs counts whole 24-hour periods, so it is shown the answer at the
    start of its day on a fixed 24-hour timeline and the previous review
    exactly Anki's elapsed days before; srs's fuzz and deadline are applied
    to its interval, as srs applies them to its own.
    """
    import numpy as np
    from fsrs import Card as FsrsCard
    from fsrs import Rating as FsrsRating
    from fsrs import Scheduler as FsrsScheduler
    from fsrs import State as FsrsState

    from srs.scheduler import Memory

    fsrs = FsrsScheduler(
        parameters=s.parameters, desired_retention=s.desired_retention,
        learning_steps=[timedelta(seconds=x) for x in s.learning_steps],
        relearning_steps=[timedelta(seconds=x) for x in s.relearning_steps],
        maximum_interval=s.maximum_interval, enable_fuzzing=False,
    )
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    today = s.clock.day_of(now)
    fsrs_now = epoch + timedelta(days=today)
    if memory.state == CardState.NEW:
        before = FsrsCard(card_id=card_id, state=FsrsState.Learning, step=0, due=fsrs_now)
    else:
        before = FsrsCard(
            card_id=card_id, state=FsrsState(int(memory.state)), step=memory.step, stability=memory.stability,
            difficulty=memory.difficulty, due=fsrs_now,
            last_review=fsrs_now - timedelta(days=s.clock.elapsed_days(memory.last_review, now)),
        )
    after, _ = fsrs.review_card(before, FsrsRating(rating), fsrs_now)
    if after.state == FsrsState.Review:
        days = (after.due - fsrs_now).days
        if s.fuzz:
            days = int(s._fuzzed_days_batch(np.array([days]), np.array([card_id]), memory.reps + 1)[0])
        days = s.aim_at_deadline(days, after.stability, today)
        due = s.clock.day_start(today + days)
    else:
        due = now + (after.due - fsrs_now)
    lapse = memory.state == CardState.REVIEW and rating == 1
    return Memory(CardState(int(after.state)), after.step, after.stability, after.difficulty, due, now,
                  memory.reps + 1, memory.lapses + int(lapse))


@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 60 * 86_400_000)), min_size=1, max_size=40),
    st.integers(1, 2**62),
    st.sampled_from([(60, 600), (600,), (), (60, 600, 3600)]),
    st.sampled_from([None, 20_640, 20_700]),
    st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]),
)
@settings(max_examples=150, deadline=None)
@example([(1, 579_600_000), (1, 5_184_000_000)], 1, (), 20_640, "Europe/Berlin")  # answered two months after the interview
def test_review_agrees_with_py_fsrs(history, card_id, steps, deadline, zone) -> None:  # type: ignore[no-untyped-def]
    """srs's kernel and py-fsrs give the same states, steps, due days and counts; memory within FLOAT_TOLERANCE."""
    from srs.scheduler import FLOAT_TOLERANCE

    s = Scheduler(Clock(ZoneInfo(zone), 4), learning_steps=steps, relearning_steps=steps[-1:], fuzz=True, deadline_day=deadline)
    ours = theirs = NEW
    at = datetime(2026, 5, 1, 9, tzinfo=timezone.utc)
    for rating, gap in history:
        at += timedelta(milliseconds=gap)
        ours = s.review(ours, rating, at, card_id)
        theirs = _py_fsrs_review(s, theirs, rating, at, card_id)
        assert (ours.state, ours.step, ours.due, ours.reps, ours.lapses) == (theirs.state, theirs.step, theirs.due, theirs.reps, theirs.lapses)
        assert math.isclose(ours.stability, theirs.stability, rel_tol=FLOAT_TOLERANCE, abs_tol=0)  # type: ignore[arg-type]
        assert math.isclose(ours.difficulty, theirs.difficulty, rel_tol=FLOAT_TOLERANCE, abs_tol=0)  # type: ignore[arg-type]
        theirs = ours  # each step from the same state: the comparison is per answer, not drift


def _assert_same_for_the_user(a: list, b: list) -> int:  # type: ignore[type-arg]
    """Identical states, steps, due days, intervals and lapse counts; memory within FLOAT_TOLERANCE.

    Returns how many stability or difficulty values differ at all.
    """
    import numpy as np

    from srs.scheduler import FLOAT_TOLERANCE

    assert len(a) == len(b)
    differing = 0
    for x, y in zip(a, b):
        for key in ("state", "step", "due_day", "due", "interval", "lapses"):
            assert x[key] == y[key], key
        for key in ("stability", "difficulty"):
            u, v = np.array(x[key]), np.array(y[key])
            assert np.allclose(u, v, rtol=FLOAT_TOLERANCE, atol=0), key
            differing += int((u != v).sum())
    return differing


def test_replay_is_the_same_for_the_user_with_and_without_avx512() -> None:
    """Two processes, one with NumPy's AVX-512 kernels disabled: what the user sees is identical.

    On a CPU with AVX-512 the two runs use different power routines (last-bit
    differences); on one without, both runs are the same and this checks the
    probe itself.
    """
    import json
    import os
    import subprocess
    import sys

    def run(disable: str | None) -> dict:  # type: ignore[type-arg]
        env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
        if disable:
            env["NPY_DISABLE_CPU_FEATURES"] = disable
        done = subprocess.run(
            [sys.executable, "-m", "tests.replay_probe"], capture_output=True, text=True, env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), check=True,
        )
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    native = run(None)
    # every AVX-512 dispatch target NumPy has used (names unknown to a NumPy version are ignored)
    plain = run("AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR X86_V4")
    assert plain["avx512"] == [] or set(plain["avx512"]) < set(native["avx512"])
    assert "AVX512_ICL" not in plain["avx512"] and "X86_V4" not in plain["avx512"]
    assert sum(len(r["state"]) for r in native["replays"]) > 30_000
    _assert_same_for_the_user(native["replays"], plain["replays"])


@pytest.mark.parametrize("direction", [float("inf"), float("-inf")])
def test_one_ulp_in_every_power_changes_nothing_the_user_sees(monkeypatch: pytest.MonkeyPatch, direction: float) -> None:
    """Every power of the kernel moved one ulp: states, due days and counts unchanged, memory within tolerance."""
    import numpy as np

    import srs.scheduler as scheduler_module

    from .replay_probe import replay_all

    exact = replay_all(cards=300)
    real_power = scheduler_module._power
    monkeypatch.setattr(scheduler_module, "_power", lambda base, exponent: np.nextafter(real_power(base, exponent), direction))
    nudged = replay_all(cards=300)
    assert _assert_same_for_the_user(exact, nudged) > 1000  # the nudge reached the memory model
