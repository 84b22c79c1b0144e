"""Choosing the revlog rows FSRS learns from, all cards at once, against a row-by-row walk."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from srs.anki.import_ import answers_for_fsrs


def reference(rows: list[tuple[int, int, int, int]]) -> tuple[list[bool], Counter[str]]:
    """One card's rows (ease, ivl, factor, type), oldest first, walked back one by one.

    Written straight from rslib scheduler/fsrs/params.rs ``reviews_for_fsrs``
    (the form srs used before the walk was vectorised).
    """
    skipped: Counter[str] = Counter()

    def cramming(row: tuple[int, int, int, int]) -> bool:
        return row[3] == 3 and row[2] == 0

    def reset(row: tuple[int, int, int, int]) -> bool:
        return row[3] == 4 and row[2] == 0

    first_learn = first_grade = None
    for index in range(len(rows) - 1, -1, -1):
        ease, ivl, _, kind = rows[index]
        if cramming(rows[index]):
            continue
        graded = ease > 0
        if graded and (ivl >= 1 or ivl <= -86_400):
            first_grade = index
        if graded and kind == 0:
            first_learn = index
        elif reset(rows[index]):
            if first_learn is None and first_grade is None:
                skipped["before a reset to new"] += len(rows)
                return [False] * len(rows), skipped
            break
        elif first_learn is not None:
            break
    start = first_learn if first_learn is not None else first_grade if first_grade is not None else len(rows)
    if start:
        skipped["before a reset to new, or before the last learning steps"] += start
    keep = []
    for index, row in enumerate(rows):
        kept = False
        if index >= start:
            if cramming(row):
                skipped["filtered-deck preview"] += 1
            elif row[0] == 0:
                skipped["manual reschedule"] += 1
            else:
                kept = True
        keep.append(kept)
    return keep, skipped


row = st.tuples(
    st.integers(0, 4),  # ease
    st.sampled_from([-600, -86_400, -90_000, 0, 1, 3, 30]),  # ivl
    st.sampled_from([0, 2500]),  # factor
    st.integers(0, 4),  # type
)


@given(st.lists(st.lists(row, min_size=1, max_size=12), min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_vectorised_filter_equals_walking_each_card(cards) -> None:  # type: ignore[no-untyped-def]
    rows = [(number, *r) for number, card in enumerate(cards) for r in card]
    cid, ease, ivl, factor, kind = (np.array([r[i] for r in rows], dtype=np.int64) for i in range(5))
    keep, skipped = answers_for_fsrs(cid, ease, ivl, factor, kind)
    expected_keep: list[bool] = []
    expected_skipped: Counter[str] = Counter()
    for card in cards:
        k, s = reference(card)
        expected_keep += k
        expected_skipped += s
    assert keep.tolist() == expected_keep
    assert skipped == +expected_skipped


def test_history_starts_at_the_last_learning_steps_after_a_reset() -> None:
    """A card learnt, reviewed, reset to new and learnt again keeps only its second life."""
    # (ease, ivl, factor, type): learn, review, reset (manual, factor 0), learn, learn, review
    card = [(3, -600, 2500, 0), (3, 3, 2500, 1), (0, 0, 0, 4), (1, -600, 2500, 0), (3, 1, 2500, 0), (3, 4, 2500, 1)]
    keep, skipped = answers_for_fsrs(*(np.array([[0, *r][i] for r in card], dtype=np.int64) for i in range(5)))
    assert keep.tolist() == [False, False, False, True, True, True]
    assert skipped == Counter({"before a reset to new, or before the last learning steps": 3})
