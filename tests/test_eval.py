"""`srs eval`: the metrics against hand-computed values and the benchmark's own formulas, and the report end to end."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from srs.cli import cli
from srs.evaluation import (
    MIN_SCORED,
    Answer,
    _auc_sorted,
    auc,
    delta_t_bin,
    benchmark_selection,
    evaluate_user,
    i_bin,
    lapse_bin,
    log_loss,
    rmse_bins,
    time_series_folds,
    user_answers,
)

from .anki_helpers import daytime_zone, export_apkg, local_timezone
from .test_anki_import import build_anki_collection, fresh_db


def test_bins_are_the_benchmarks() -> None:
    """srs-benchmark's bins, worked by hand: 2.48·3.62^k for days, 1.99·1.89^k for the answer number, 1.65·1.73^k for lapses."""
    assert delta_t_bin(1) == 2.48 and delta_t_bin(3) == 2.48 and delta_t_bin(4) == 8.98 and delta_t_bin(13) == 8.98 and delta_t_bin(14) == 32.5
    assert delta_t_bin(0.5) == 0.69
    assert i_bin(1) == 2.0 and i_bin(2) == 4.0 and i_bin(3) == 4.0 and i_bin(4) == 7.0
    assert lapse_bin(0) == 0.0 and lapse_bin(1) == 2.0 and lapse_bin(2) == 3.0 and lapse_bin(3) == 5.0


def test_log_loss_and_auc_by_hand() -> None:
    assert log_loss([1, 0], [0.8, 0.3]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)  # scikit-learn's documented example
    assert auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)  # ties count half
    assert auc([1, 1], [0.2, 0.9]) is None


def test_rmse_bins_by_hand() -> None:
    """Two bins: (1 day, 2nd answer, no lapse) holds outcomes 1,0 predicted 0.9,0.7; (4 days, 3rd answer) holds 1 predicted 0.6."""
    answers = [Answer(1, 0, 3, 1, 2, 0), Answer(2, 0, 1, 1, 2, 0), Answer(3, 0, 4, 4, 3, 0)]
    p = [0.9, 0.7, 0.6]
    # bin A: mean y 0.5, mean p 0.8, weight 2; bin B: mean y 1, mean p 0.6, weight 1
    expected = math.sqrt((2 * (0.5 - 0.8) ** 2 + 1 * (1 - 0.6) ** 2) / 3)
    assert rmse_bins(answers, p) == pytest.approx(expected)


def _benchmark_rmse(answers: list[Answer], p: list[float]) -> float:
    """The benchmark's rmse_matrix, written out again from its formulas (numpy rounding, weighted mean of squared bin errors)."""
    import numpy as np

    keys = []
    for a in answers:
        dt = round(2.48 * np.power(3.62, np.floor(np.log(max(a.elapsed, 1e-6)) / np.log(3.62))), 2)
        i = round(1.99 * np.power(1.89, np.floor(np.log(a.number) / np.log(1.89))), 0)
        lapse = round(1.65 * np.power(1.73, np.floor(np.log(a.lapses) / np.log(1.73))), 0) if a.lapses != 0 else 0
        keys.append((float(dt), float(i), float(lapse)))
    groups: dict[tuple[float, float, float], list[int]] = {}
    for k, key in enumerate(keys):
        groups.setdefault(key, []).append(k)
    ys = np.array([np.mean([answers[k].rating > 1 for k in g]) for g in groups.values()])
    ps = np.array([np.mean([p[k] for k in g]) for g in groups.values()])
    w = np.array([len(g) for g in groups.values()])
    return float(np.sqrt(np.average((ys - ps) ** 2, weights=w)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 400), st.integers(2, 40), st.integers(0, 12), st.integers(1, 4), st.floats(0.01, 0.99)), min_size=1, max_size=60))
def test_rmse_bins_equals_the_benchmarks_formula(rows: list[tuple[int, int, int, int, float]]) -> None:
    answers = [Answer(k, 0, rating, elapsed, number, lapses) for k, (elapsed, number, lapses, rating, _) in enumerate(rows)]
    p = [q for *_, q in rows]
    assert rmse_bins(answers, p) == pytest.approx(_benchmark_rmse(answers, p), rel=1e-12, abs=1e-12)
    y = [int(a.rating > 1) for a in answers]
    import numpy as np

    fast = _auc_sorted(np.array(y, dtype=float), np.array(p))
    slow = auc(y, p)
    assert (fast is None and slow is None) or fast == pytest.approx(slow)


def test_folds_are_time_series_splits() -> None:
    """As scikit-learn's TimeSeriesSplit(n_splits=5) cuts 12 items: train grows, tests are the next two each time."""
    assert time_series_folds(12) == [(2, 2, 4), (4, 4, 6), (6, 6, 8), (8, 8, 10), (10, 10, 12)]
    assert time_series_folds(14) == [(4, 4, 6), (6, 6, 8), (8, 8, 10), (10, 10, 12), (12, 12, 14)]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Months of answers written by the anki library, imported into srs."""
    from srs.anki.import_ import import_package

    now = datetime.now(timezone.utc).replace(microsecond=0)
    zone = daytime_zone(now, dst=False)
    folder = tmp_path_factory.mktemp("eval")
    with local_timezone(zone):
        col, _ = build_anki_collection(folder, zone, now, cards=360)
        package = export_apkg(col, folder / "p.apkg")
        col.close()
        db = fresh_db(folder / "srs.db", zone)
        with db.session(write=True) as session:
            import_package(session, package, now)
        db.close()
        yield {"db": folder / "srs.db", "now": now, "zone": zone}  # (the zone stays set: the tests enter it again for nothing)


def test_the_report_scores_later_segments_with_intervals(history) -> None:  # type: ignore[no-untyped-def]
    from srs.db import open_database

    with local_timezone(history["zone"]):
        database = open_database(history["db"])
        with database.session() as session:
            report = evaluate_user(session, history["now"])
            again = evaluate_user(session, history["now"])
            answers = user_answers(session)
        database.close()
    assert report == again  # seeded: the same history gives the same report
    scorable = benchmark_selection(answers).scored
    assert report["scorable"] == len(scorable) and report["scored"] == 5 * (len(scorable) // 6)
    names = [row["model"] for row in report["rows"]]
    assert names == ["FSRS-6, default parameters", "FSRS-6, your parameters", "constant average"]
    for row in report["rows"]:
        for key in ("log_loss", "auc", "rmse_bins"):  # every interval holds its own estimate (RMSE's is bias-shifted)
            low, high = row["ci95"][key]
            assert low <= row[key] <= high and low < high, (row["model"], key)
    # the constant baseline, recomputed here: each later segment predicted by the success rate before it
    y, p = [], []
    for train_end, start, end in time_series_folds(len(scorable)):
        rate = sum(answers[k].rating > 1 for k in scorable[:train_end]) / train_end
        for k in scorable[start:end]:
            y.append(int(answers[k].rating > 1))
            p.append(rate)
    constant = report["rows"][2]
    assert constant["log_loss"] == pytest.approx(round(log_loss(y, p), 4), abs=1e-4)
    # the fitted parameters are the user's own: they predict differently from the defaults
    assert report["rows"][0]["log_loss"] != report["rows"][1]["log_loss"]


def test_cli_eval_json_and_too_little_history(history, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with local_timezone(history["zone"]):
        out = CliRunner().invoke(cli, ["--db", str(history["db"]), "eval", "--json"])
        assert out.exit_code == 0, out.output
        assert len(json.loads(out.output)["rows"]) == 3
        shown = CliRunner(env={"COLUMNS": "160"}).invoke(cli, ["--db", str(history["db"]), "eval"])
        assert shown.exit_code == 0 and "RMSE(bins)" in shown.output and "constant average" in shown.output
    empty = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["--db", str(tmp_path / "new.db"), "eval"])
    assert empty.exit_code == 0
    assert empty.output == f"Not enough history to evaluate yet: 0 answers the benchmark scores (given a day or more after the card's previous one); {MIN_SCORED} are needed ({MIN_SCORED} more).\n"
    as_json = CliRunner().invoke(cli, ["--db", str(tmp_path / "new.db"), "eval", "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output) == {
        "enough_history": False, "answers": 0, "scorable": 0, "needed": MIN_SCORED, "more_needed": MIN_SCORED,
        "message": empty.output.strip(),
    }


def test_srs_eval_scores_what_the_benchmark_scores_and_agrees_on_its_metrics(history) -> None:  # type: ignore[no-untyped-def]
    """Against a port of srs-benchmark's own rules (tests/benchmark_port.py, pandas as the benchmark uses it) on a
    history the anki library holds: the same answers scored (outliers, the answers after them and same-day repeats
    set aside), the same folds, and log loss, RMSE(bins) and AUC of the default-parameter and constant rows within 1e-4."""
    import numpy as np

    from srs.db import open_database
    from srs.evaluation import _predictions
    from srs.scheduler import Scheduler
    from srs.settings import clock_for

    from . import benchmark_port as port

    with local_timezone(history["zone"]):
        database = open_database(history["db"])
        with database.session() as session:
            report = evaluate_user(session, history["now"])
            answers = user_answers(session)
            clock = clock_for(session)
            p_default = _predictions(answers, Scheduler(clock).parameters, clock)
        database.close()
    order = sorted(range(len(answers)), key=lambda k: (answers[k].at, k))
    rows = port.benchmark_rows([(answers[k].card, answers[k].at, answers[k].rating, answers[k].elapsed if answers[k].number > 1 else -1)
                                for k in order])
    position = {(answers[k].card, answers[k].at): k for k in order}
    theirs = [position[(int(c), int(t))] for c, t in zip(rows["card_id"], rows["review_time"])]
    ours = benchmark_selection(answers)
    assert ours.scored == theirs
    assert ours.outliers + ours.after_a_gap > 0  # the history has outliers for the filters to set aside
    folds = port.time_series_split(len(rows))
    test = [k for _, positions in folds for k in positions]
    scored = rows.iloc[test].copy()
    scored["p"] = [p_default[theirs[k]] for k in test]
    constant = []
    for train, positions in folds:
        constant += [float(rows["y"].iloc[train].mean())] * len(positions)
    default_row, constant_row = report["rows"][0], report["rows"][2]
    assert report["scored"] == len(scored)
    assert default_row["log_loss"] == pytest.approx(port.log_loss(scored["y"], scored["p"]), abs=1e-4)
    assert default_row["rmse_bins"] == pytest.approx(port.rmse_matrix(scored), abs=1e-4)
    assert default_row["auc"] == pytest.approx(auc(list(scored["y"].astype(int)), list(scored["p"])), abs=1e-4)
    assert constant_row["log_loss"] == pytest.approx(port.log_loss(scored["y"], constant), abs=1e-4)
    with_constant = scored.copy()
    with_constant["p"] = constant
    assert constant_row["rmse_bins"] == pytest.approx(port.rmse_matrix(with_constant), abs=1e-4)
    assert np.isfinite(default_row["log_loss"])
