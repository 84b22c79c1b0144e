"""The judge for `srs eval`: srs-benchmark's rules for scoring FSRS-6 on one user, ported step by step with pandas.

Sources (open-spaced-repetition): srs-benchmark ``features/base.py`` (_common_preprocessing,
_common_postprocessing, _handle_outliers_and_continuity), ``config.py`` (FSRS-6: include_short_term on,
max_seq_len 64), ``utils.py`` (rmse_matrix); fsrs-optimizer ``fsrs_optimizer.py`` (remove_outliers,
remove_non_continuous_rows); scikit-learn's TimeSeriesSplit and log_loss. The port keeps the benchmark's
DataFrame operations so that its quirks (string first ratings, label slicing) stay as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_SEQ_LEN = 64


def _remove_outliers(group: Any, first_rating: str) -> Any:
    """(The benchmark reads the group's first rating as ``group.name[0]`` inside ``apply``; pandas 3 no longer names
    the group there, so the port passes it in.)"""
    grouped = group.groupby(by=["first_rating", "delta_t"], group_keys=False).agg({"y": ["mean", "count"]}).reset_index()
    sort_index = grouped.sort_values(by=[("y", "count"), ("delta_t", "")], ascending=[True, False]).index
    total = sum(grouped[("y", "count")])
    removed = 0
    for i in sort_index:
        count = grouped.loc[i, ("y", "count")]
        delta_t = grouped.loc[i, ("delta_t", "")]  # (the benchmark's loc[i, "delta_t"]: a scalar only in some pandas)
        if removed + count >= max(total * 0.05, 20):
            if count < 6 or delta_t > (100 if first_rating != "4" else 365):
                group = group.drop(group[group["delta_t"] == delta_t].index)
                removed += count
        else:
            group = group.drop(group[group["delta_t"] == delta_t].index)
            removed += count
    return group


def _remove_non_continuous_rows(group: Any) -> Any:
    discontinuity = group["i"].diff().fillna(1).ne(1)
    if not discontinuity.any():
        return group
    first = discontinuity.idxmax()
    return group.loc[: first - 1]


def benchmark_rows(answers: list[tuple[int, int, int, int]]) -> Any:
    """*answers* as (card, time in ms, rating, elapsed days; -1 for a card's first), in time order: the rows the
    benchmark scores, with its columns (card_id, review_th, delta_t, i, y, r_history, t_history, elapsed_days)."""
    import pandas as pd

    df = pd.DataFrame(answers, columns=["card_id", "review_time", "rating", "elapsed_days"])
    # _common_preprocessing
    df["review_th"] = range(1, df.shape[0] + 1)
    # (the benchmark's `inplace=True` calls, written as assignments: pandas 3 deprecates inplace)
    df = df.sort_values(by=["card_id", "review_th"])
    df = df.drop(df[~df["rating"].isin([1, 2, 3, 4])].index)
    df["i"] = df.groupby("card_id").cumcount() + 1
    df = df.drop(df[df["i"] > MAX_SEQ_LEN * 2].index)
    df["delta_t"] = df["elapsed_days"].map(lambda x: max(0, x))
    # _compute_histories (the histories before each answer, as strings)
    r_hist, t_hist = [], []
    for _, card in df.groupby("card_id", sort=False):
        ratings, gaps = list(card["rating"]), list(card["delta_t"])
        for k in range(len(card)):
            r_hist.append(",".join(map(str, ratings[:k])))
            t_hist.append(",".join(map(str, gaps[:k])))
    df["r_history"], df["t_history"] = r_hist, t_hist
    # _common_postprocessing
    df["first_rating"] = df["r_history"].map(lambda x: x[0] if len(x) > 0 else "")
    df["y"] = df["rating"].map(lambda x: {1: 0, 2: 1, 3: 1, 4: 1}[x])
    df = df[(df["delta_t"] != 0) | (df["i"] == 1)].copy()
    # (the benchmark's groupby().apply(cumsum).reset_index(level=0, drop=True), as the per-card transform it computes)
    df["i"] = df.groupby("card_id")["elapsed_days"].transform(lambda x: (x > 0).cumsum()) + 1
    seconds = df[df["i"] == 2]
    kept = [_remove_outliers(group, name[0]) for name, group in seconds.groupby(by=["first_rating"])]
    filtered = pd.concat(kept) if kept else seconds.iloc[:0]
    df.loc[seconds.index.difference(filtered.index), "y"] = np.nan
    df = df.dropna()
    df = df.groupby("card_id", as_index=False, group_keys=False)[list(df.columns)].apply(_remove_non_continuous_rows)
    return df[df["delta_t"] > 0].sort_values(by=["review_th"])


def time_series_split(n: int, splits: int = 5) -> list[tuple[list[int], list[int]]]:
    """scikit-learn's TimeSeriesSplit(n_splits) on n rows: (train, test) positions."""
    size = n // (splits + 1)
    return [(list(range(0, n - (splits - f) * size)), list(range(n - (splits - f) * size, n - (splits - f - 1) * size)))
            for f in range(splits)]


def log_loss(y: Any, p: Any) -> float:
    p = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def rmse_matrix(df: Any) -> float:
    tmp = df.copy()

    def count_lapse(r_history: str, t_history: str) -> int:
        lapse = 0
        for r, t in zip(r_history.split(","), t_history.split(",")):
            if t != "0" and r == "1":
                lapse += 1
        return lapse

    tmp["lapse"] = tmp.apply(lambda x: count_lapse(x["r_history"], x["t_history"]), axis=1)
    tmp["delta_t"] = tmp["elapsed_days"].map(lambda x: round(2.48 * np.power(3.62, np.floor(np.log(x) / np.log(3.62))), 2))
    tmp["i"] = tmp["i"].map(lambda x: round(1.99 * np.power(1.89, np.floor(np.log(x) / np.log(1.89))), 0))
    tmp["lapse"] = tmp["lapse"].map(lambda x: round(1.65 * np.power(1.73, np.floor(np.log(x) / np.log(1.73))), 0) if x != 0 else 0)
    tmp["weights"] = 1
    tmp = tmp.groupby(["delta_t", "i", "lapse"]).agg({"y": "mean", "p": "mean", "weights": "sum"}).reset_index()
    return float(np.sqrt(np.average((tmp["y"] - tmp["p"]) ** 2, weights=tmp["weights"])))
