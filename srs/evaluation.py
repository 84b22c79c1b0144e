"""How well srs's memory model predicts this user's answers, in the terms of the FSRS community's benchmark.

Computed as open-spaced-repetition/srs-benchmark computes it for one user
(its ``evaluate.py`` and ``utils.py``; the constants below are its):

* the user's answers, in time order, are cut with a 5-fold time-series
  split (scikit-learn's ``TimeSeriesSplit``): six equal segments, the first
  used only for training; each later segment is predicted by a model
  trained on everything before it;
* the answers scored are the ones the benchmark scores for FSRS-6
  (``benchmark_selection``): a day or more after the card's previous one,
  up to the card's 128th answer, less the outliers among each card's second
  such answer and whatever follows a set-aside one (same-day repeats shape
  the memory but are not scored); the prediction is the recall probability
  the model gives at that moment, the outcome is 1 unless the answer was
  Again; a test holds this to a pandas port of the benchmark's own code;
* metrics over all predicted segments: log loss; RMSE(bins) — predictions
  and outcomes averaged within bins of (days since the last answer, number
  of the answer, number of lapses so far), weighted by bin size (the
  benchmark's ``rmse_matrix``, not fsrs-rs's ``rmse_bins``, which bins by
  predicted recall); and AUC;
* rows: FSRS with its default parameters, FSRS with parameters fitted on
  each fold's training part (as ``srs optimize`` fits them), and a constant
  baseline that predicts the training part's average recall;
* 95% bootstrap intervals (resampling cards with all their scored answers,
  seeded), because one person's history is small; RMSE(bins)'s interval is
  shifted by the resampling's own upward drift, so it holds its estimate.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from srs.domain import from_ms
from srs.optimize import MIN_ITEMS, _fsrs_items
from srs.scheduler import Scheduler
from srs.settings import clock_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SPLITS = 5  # srs-benchmark: TimeSeriesSplit(n_splits=5)
MIN_SCORED = (SPLITS + 1) * MIN_ITEMS // 2  # the first segment must be enough to fit parameters on (half of what optimize asks)
BOOTSTRAP_SAMPLES = 200
BOOTSTRAP_SEED = 20_240_601


@dataclass(frozen=True)
class Answer:
    """One answer of one card, with what the bins need."""

    card: int
    at: int  # Unix ms
    rating: int
    elapsed: int  # whole days since the card's previous answer (0 for the first)
    number: int  # 1 for the card's first answer
    lapses: int  # Again answers given a day or more after the one before, before this one


def delta_t_bin(days: float) -> float:
    """srs-benchmark's bin for days since the last answer."""
    return round(2.48 * math.pow(3.62, math.floor(math.log(max(days, 1e-6)) / math.log(3.62))), 2)


def i_bin(number: int) -> float:
    """srs-benchmark's bin for the number of the answer (1 for a card's first)."""
    return float(round(1.99 * math.pow(1.89, math.floor(math.log(number) / math.log(1.89)))))


def lapse_bin(lapses: int) -> float:
    """srs-benchmark's bin for the lapses so far."""
    return float(round(1.65 * math.pow(1.73, math.floor(math.log(lapses) / math.log(1.73))))) if lapses else 0.0


def log_loss(y: Sequence[int], p: Sequence[float]) -> float:
    eps = 1e-15  # as scikit-learn clips
    return -sum(o * math.log(min(max(q, eps), 1 - eps)) + (1 - o) * math.log(1 - min(max(q, eps), 1 - eps)) for o, q in zip(y, p)) / len(y)


def rmse_bins(answers: Sequence[Answer], p: Sequence[float]) -> float:
    """The benchmark's RMSE(bins): mean outcome against mean prediction per (delta_t, i, lapse) bin, weighted by count."""
    groups: dict[tuple[float, float, float], list[tuple[int, float]]] = defaultdict(list)
    for answer, q in zip(answers, p):
        groups[(delta_t_bin(answer.elapsed), i_bin(answer.number), lapse_bin(answer.lapses))].append((int(answer.rating > 1), q))
    total = sum(len(g) for g in groups.values())
    squared = sum(len(g) * (sum(y for y, _ in g) / len(g) - sum(q for _, q in g) / len(g)) ** 2 for g in groups.values())
    return math.sqrt(squared / total)


def auc(y: Sequence[int], p: Sequence[float]) -> float | None:
    """The area under the ROC curve (the Mann-Whitney statistic, ties counted half); None with one class only."""
    positives = sum(y)
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(p)), key=lambda k: p[k])
    ranks = [0.0] * len(p)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and p[order[j + 1]] == p[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # average rank of a tie
        i = j + 1
    rank_sum = sum(r for r, o in zip(ranks, y) if o)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def time_series_folds(n: int, splits: int = SPLITS) -> list[tuple[int, int, int]]:
    """(train end, test start, test end) per fold, as scikit-learn's TimeSeriesSplit cuts *n* ordered items."""
    size = n // (splits + 1)
    return [(n - (splits - f) * size, n - (splits - f) * size, n - (splits - f - 1) * size) for f in range(splits)]


# --- the user's history -----------------------------------------------------------------


def user_answers(session: Session) -> list[Answer]:
    """Every answer (since each card's last reset), with elapsed days, answer numbers and lapses."""
    clock = clock_for(session)
    rows = session.connection().exec_driver_sql(
        "SELECT r.card_id, r.reviewed_at, r.rating FROM reviews r JOIN cards c ON c.id = r.card_id "
        "WHERE r.reviewed_at > coalesce(c.reset_at, -1) ORDER BY r.card_id, r.reviewed_at, r.id"
    ).all()
    out: list[Answer] = []
    previous: tuple[int, int] | None = None
    number = lapses = 0
    for card, at, rating in rows:
        if previous is None or previous[0] != card:
            number, lapses, elapsed = 0, 0, 0
        else:
            elapsed = clock.elapsed_days(from_ms(previous[1]), from_ms(at))
        number += 1
        out.append(Answer(card, at, rating, elapsed, number, lapses))
        if rating == 1 and elapsed > 0:
            lapses += 1
        previous = (card, at)
    return out


def _predictions(answers: list[Answer], parameters: Sequence[float], clock: Any) -> list[float]:
    """The recall each answer was predicted with, by FSRS with *parameters*, from the card's answers before it."""
    import numpy as np

    scheduler = Scheduler(clock, parameters=parameters, fuzz=False)
    cards = np.array([a.card for a in answers], dtype=np.int64)
    first = np.flatnonzero(np.r_[True, cards[1:] != cards[:-1]])
    bounds = np.r_[first, len(answers)]
    replayed = scheduler.replay_batch(
        cards[first], bounds, np.array([a.rating for a in answers], dtype=np.int64), np.array([a.at for a in answers], dtype=np.int64)
    )
    out = []
    for k, answer in enumerate(answers):
        if answer.number == 1:
            out.append(float("nan"))
            continue
        out.append(scheduler.recall(float(replayed.stability[k - 1]), answer.elapsed))
    return out


# --- which answers the benchmark scores ------------------------------------------------------
# srs-benchmark for FSRS-6 (config.py: include_short_term on, max_seq_len 64; features/base.py
# _common_preprocessing and _common_postprocessing; fsrs-optimizer's remove_outliers and
# remove_non_continuous_rows), step by step over one user's answers.

MAX_ANSWERS_PER_CARD = 2 * 64  # a card's answers past this many are dropped (base.py: i > max_seq_len * 2)
OUTLIER_SHARE, OUTLIER_FLOOR = 0.05, 20  # remove_outliers: the rarest intervals go first, up to 5% (at least 20 answers)
OUTLIER_RARE = 6  # ... past that, an interval still goes when fewer than this many answers have it
OUTLIER_DAYS, OUTLIER_DAYS_EASY = 100, 365  # ... or when it is longer than this (a card first answered Easy: 365)


@dataclass(frozen=True)
class Selection:
    """The answers srs-benchmark scores (indexes into the answer list, in time order), with its answer number for each,
    and how many answers a day or more after the card's previous one each of its filters set aside."""

    scored: list[int]
    number: dict[int, int]  # the benchmark's i: 1 + the card's answers a day or more apart, up to and including this one
    beyond_cap: int
    outliers: int
    after_a_gap: int  # answers after a card's set-aside second answer (remove_non_continuous_rows)


def benchmark_selection(answers: list[Answer]) -> Selection:
    """Which answers srs-benchmark scores, as its preprocessing chooses them (*answers* in card order, then time)."""
    kept: list[int] = []  # past the cap, and not a same-day repeat (a card's first answer stays)
    number: dict[int, int] = {}
    first_rating: dict[int, int] = {}
    beyond_cap = 0
    count = day_spaced = 0
    card = None
    for k, answer in enumerate(answers):
        if answer.card != card:
            card, count, day_spaced = answer.card, 0, 0
            first_rating[answer.card] = answer.rating
        count += 1
        if count > MAX_ANSWERS_PER_CARD:
            beyond_cap += answer.elapsed > 0
            continue
        if count > 1 and answer.elapsed == 0:
            continue
        day_spaced += answer.elapsed > 0
        number[k] = day_spaced + 1
        kept.append(k)
    # the second answer a day apart, grouped by the card's first rating: the rarest intervals set aside
    seconds: dict[int, list[int]] = defaultdict(list)
    for k in kept:
        if number[k] == 2:
            seconds[first_rating[answers[k].card]].append(k)
    removed: set[int] = set()
    for rating, group in seconds.items():
        by_days: dict[int, list[int]] = defaultdict(list)
        for k in group:
            by_days[answers[k].elapsed].append(k)
        limit = max(len(group) * OUTLIER_SHARE, OUTLIER_FLOOR)
        longest = OUTLIER_DAYS_EASY if rating == 4 else OUTLIER_DAYS
        gone = 0
        for days, ks in sorted(by_days.items(), key=lambda item: (len(item[1]), -item[0])):
            if gone + len(ks) < limit or len(ks) < OUTLIER_RARE or days > longest:
                removed.update(ks)
                gone += len(ks)
    # a card whose answer numbers no longer run 1, 2, 3... keeps only what comes before the gap
    scored: list[int] = []
    after_a_gap = 0
    card, expected, broken = None, 1, False
    for k in kept:
        if k in removed:
            continue
        if answers[k].card != card:
            card, expected, broken = answers[k].card, number[k], False
        if broken or number[k] != expected:
            broken = True
            after_a_gap += answers[k].elapsed > 0
            continue
        expected = number[k] + 1
        if answers[k].elapsed > 0:
            scored.append(k)
    scored.sort(key=lambda k: (answers[k].at, k))
    return Selection(scored, number, beyond_cap, len(removed), after_a_gap)


def _items_of(answers: list[Answer], rows: list[int]) -> list[list[tuple[int, int]]]:
    """Training items as the benchmark trains on them: each of *rows* with its card's whole history up to it."""
    start_of: dict[int, int] = {}
    for k, answer in enumerate(answers):
        start_of.setdefault(answer.card, k)
    return [[(a.rating, a.elapsed) for a in answers[start_of[answers[k].card] : k + 1]] for k in rows]


@dataclass
class Row:
    model: str
    log_loss: float
    rmse_bins: float
    auc: float | None
    intervals: dict[str, tuple[float, float]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "log_loss": round(self.log_loss, 4), "rmse_bins": round(self.rmse_bins, 4),
            "auc": round(self.auc, 4) if self.auc is not None else None,
            "ci95": {k: [round(lo, 4), round(hi, 4)] for k, (lo, hi) in self.intervals.items()},
        }


def _row(model: str, scored: list[Answer], p: list[float]) -> Row:
    """The metrics of one model, with bootstrap intervals (vectorised: hundreds of resamples of up to a million answers)."""
    import numpy as np

    y = [int(a.rating > 1) for a in scored]
    bins: dict[tuple[float, float, float], int] = {}
    bin_of = np.array(
        [bins.setdefault((delta_t_bin(a.elapsed), i_bin(a.number), lapse_bin(a.lapses)), len(bins)) for a in scored], dtype=np.int64
    )
    ys, ps = np.array(y, dtype=np.float64), np.clip(np.array(p, dtype=np.float64), 1e-15, 1 - 1e-15)
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    samples: dict[str, list[float]] = {"log_loss": [], "rmse_bins": [], "auc": []}
    # Cards are resampled, each with all its scored answers: one card's answers are not independent of each other
    cards: dict[int, int] = {}
    card_of = np.array([cards.setdefault(a.card, len(cards)) for a in scored], dtype=np.int64)
    everyone = np.arange(len(scored))
    for _ in range(BOOTSTRAP_SAMPLES):
        taken = np.bincount(generator.integers(0, len(cards), len(cards)), minlength=len(cards))
        pick = np.repeat(everyone, taken[card_of])
        n = len(pick)
        yb, pb, bb = ys[pick], ps[pick], bin_of[pick]
        samples["log_loss"].append(float(-np.mean(yb * np.log(pb) + (1 - yb) * np.log(1 - pb))))
        counts = np.bincount(bb, minlength=len(bins))
        used = counts > 0
        mean_y = np.bincount(bb, weights=yb, minlength=len(bins))[used] / counts[used]
        mean_p = np.bincount(bb, weights=pb, minlength=len(bins))[used] / counts[used]
        samples["rmse_bins"].append(float(np.sqrt(np.sum(counts[used] * (mean_y - mean_p) ** 2) / n)))
        a = _auc_sorted(yb, pb)
        if a is not None:
            samples["auc"].append(a)
    estimates = {"log_loss": log_loss(y, p), "rmse_bins": rmse_bins(scored, p), "auc": auc(y, p)}
    intervals = {}
    for key, values in samples.items():
        if values:
            ordered = sorted(values)
            low, high = ordered[int(0.025 * (len(ordered) - 1))], ordered[int(0.975 * (len(ordered) - 1))]
            if key == "rmse_bins":  # resampling adds noise inside each bin, so RMSE(bins) drifts up: shift by that drift
                estimate = estimates[key]
                assert estimate is not None
                bias = sum(values) / len(values) - estimate
                low, high = max(0.0, low - bias), high - bias
            intervals[key] = (low, high)
    return Row(model, estimates["log_loss"] or 0.0, estimates["rmse_bins"] or 0.0, estimates["auc"], intervals)


def _auc_sorted(y: Any, p: Any) -> float | None:
    """auc() on NumPy arrays: average ranks of ties through a stable sort."""
    import numpy as np

    positives = float(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    order = np.argsort(p, kind="stable")
    sorted_p = p[order]
    starts = np.r_[0, np.flatnonzero(sorted_p[1:] != sorted_p[:-1]) + 1]
    ends = np.r_[starts[1:], len(p)]
    average = (starts + ends - 1) / 2 + 1  # the average 1-based rank of each run of ties
    ranks = np.empty(len(p))
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def evaluate_user(session: Session, now: datetime) -> dict[str, Any]:
    """The `srs eval --json` report."""
    import fsrs_rs_python as rs

    answers = user_answers(session)
    selection = benchmark_selection(answers)
    scorable = selection.scored
    if len(scorable) < MIN_SCORED:  # a report, as `srs optimize` gives one: why, and how many more answers it needs
        return {
            "enough_history": False,
            "answers": len(answers),
            "scorable": len(scorable),
            "needed": MIN_SCORED,
            "more_needed": MIN_SCORED - len(scorable),
            "message": (
                f"Not enough history to evaluate yet: {len(scorable)} answers the benchmark scores (given a day or more "
                f"after the card's previous one); {MIN_SCORED} are needed ({MIN_SCORED - len(scorable)} more)."
            ),
        }
    clock = clock_for(session)
    defaults = Scheduler(clock).parameters
    default_p = _predictions(answers, defaults, clock)
    scored: list[Answer] = []
    predicted: dict[str, list[float]] = {"FSRS-6, default parameters": [], "FSRS-6, your parameters": [], "constant average": []}
    folds = time_series_folds(len(scorable))
    for train_end, start, end in folds:
        train = [answers[k] for k in scorable[:train_end]]
        items = _items_of(answers, scorable[:train_end])  # the benchmark's training rows, each with its history
        fitted = [float(x) for x in rs.FSRS(list(defaults)).compute_parameters(_fsrs_items(items))]
        fitted_p = _predictions(answers, fitted, clock)
        average = sum(int(a.rating > 1) for a in train) / len(train)
        for k in scorable[start:end]:
            scored.append(dataclasses.replace(answers[k], number=selection.number[k]))  # (the bins' answer number)
            predicted["FSRS-6, default parameters"].append(default_p[k])
            predicted["FSRS-6, your parameters"].append(fitted_p[k])
            predicted["constant average"].append(average)
    rows = [_row(name, scored, p).as_dict() for name, p in predicted.items()]
    return {
        "enough_history": True,
        "answers": len(answers),
        "scorable": len(scorable),
        "scored": len(scored),
        "set_aside": {"beyond_128_answers": selection.beyond_cap, "outliers": selection.outliers,
                      "after_a_set_aside_answer": selection.after_a_gap},
        "folds": SPLITS,
        "method": (
            "srs-benchmark (FSRS-6): answers a day or more apart, less its outliers and what follows them and past a "
            "card's 128th answer; 5-fold time-series split; RMSE(bins) by interval, answer number and lapses"
        ),
        "intervals": "95%, resampling cards (their answers go together); RMSE(bins)'s shifted by the resampling's bias",
        "rows": rows,
    }
