"""Bulk steps: the garbage collector's pause (off inside, back as it was after, errors included) and rows inserted many per statement."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srs.bulk import collector_paused


@collector_paused()
def _inside(fail: bool) -> bool:
    if fail:
        raise ValueError("boom")
    return gc.isenabled()


def test_the_collector_is_off_inside_and_restored_after_even_on_error() -> None:
    assert gc.isenabled()
    assert _inside(False) is False
    assert gc.isenabled()
    with pytest.raises(ValueError):
        _inside(True)
    assert gc.isenabled()


def test_a_pause_inside_a_pause_leaves_the_collector_off_until_the_outer_one_ends() -> None:
    with collector_paused():
        assert _inside(False) is False
        assert not gc.isenabled()  # the inner step does not turn it back on early
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        _inside(False)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_import_runs_with_the_collector_paused_and_gives_it_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The import's own progress calls see the collector off; once it returns, the collector is on again."""
    from datetime import datetime, timezone

    from srs.anki.import_ import import_package
    from srs.db import open_database

    log = tmp_path / "log.csv"
    log.write_text("card_id,review_time,review_rating,review_state,review_duration\n1,1700000000000,3,0,4000\n1,1700086400000,3,2,3000\n")
    states: list[bool] = []
    database = open_database(tmp_path / "srs.db")
    with database.session(write=True) as session:
        summary = import_package(session, log, datetime(2026, 1, 1, tzinfo=timezone.utc), progress=lambda *_: states.append(gc.isenabled()))
        session.commit()
    database.close()
    assert summary.reviews_added == 2
    assert states and not any(states)
    assert gc.isenabled()


_VALUE = st.one_of(st.none(), st.integers(-(2**62), 2**62), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))


def _table(width: int) -> tuple[object, str]:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    columns = ", ".join(f"c{i}" for i in range(width))
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {columns})")
    return conn, f"INSERT INTO t ({columns})"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7).flatmap(lambda w: st.tuples(st.just(w), st.lists(st.lists(_VALUE, min_size=w, max_size=w), max_size=1200))),
       st.sampled_from([999, 40, 7]))
def test_insert_flat_writes_the_rows_executemany_writes_in_the_same_order(case, limit) -> None:  # type: ignore[no-untyped-def]
    """Any number of rows (a statement's worth, a remainder, none), under a small limit on bound values too."""
    import sqlite3

    from srs.bulk import insert_flat

    width, rows = case
    ours, head = _table(width)
    theirs, _ = _table(width)
    assert isinstance(ours, sqlite3.Connection) and isinstance(theirs, sqlite3.Connection)
    ours.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, max(limit, width))
    chunks = [(len(rows[lo : lo + 500]), [v for row in rows[lo : lo + 500] for v in row]) for lo in range(0, len(rows), 500)]
    insert_flat(ours, head, width, chunks)
    theirs.executemany(f"{head} VALUES ({','.join('?' * width)})", rows)
    assert ours.execute("SELECT * FROM t ORDER BY id").fetchall() == theirs.execute("SELECT * FROM t ORDER BY id").fetchall()


def test_flat_chunks_lays_out_rows_with_steps_and_nulls() -> None:
    """Row after row, chunk by chunk; a step of -1 is NULL; the columns from nulls_from on are NULL."""
    import numpy as np

    from srs.bulk import flat_chunks

    arrays = [np.array([1, 2, 3]), np.array([-1, 0, 2]), np.array([0.5, 1.5, 2.5]), np.array([7, 8, 9])]
    assert list(flat_chunks(arrays, 1, chunk=2, nulls_from=3)) == [
        (2, [1, None, 0.5, None, 2, 0, 1.5, None]),
        (1, [3, 2, 2.5, None]),
    ]
    assert list(flat_chunks(arrays, 1)) == [(3, [1, None, 0.5, 7, 2, 0, 1.5, 8, 3, 2, 2.5, 9])]


@given(st.one_of(st.dictionaries(st.text(), st.text(), max_size=6), st.lists(st.text(), max_size=6)))
def test_json_strings_writes_what_json_dumps_writes(value) -> None:  # type: ignore[no-untyped-def]
    """Quotes, backslashes, control characters and any Unicode: the same text as json.dumps(ensure_ascii=False)."""
    import json

    from srs.bulk import json_strings

    assert json_strings(value) == json.dumps(value, ensure_ascii=False)


@given(st.dictionaries(st.sampled_from(["type", "queue", "due", "ivl", "factor", "left"]), st.integers(-(2**63), 2**63 - 1)))
def test_json_ints_writes_what_json_dumps_writes(value) -> None:  # type: ignore[no-untyped-def]
    import json

    from srs.bulk import json_ints

    assert json_ints(value) == json.dumps(value)


def test_background_work_gives_its_value_or_its_error_to_whoever_waits() -> None:
    import threading

    from srs.bulk import Background

    gate = threading.Event()
    done = Background(lambda: gate.wait(5) and 42, "test-value")
    assert done._thread.is_alive()  # it runs while the caller goes on
    gate.set()
    assert done.result() == 42

    def boom() -> int:
        raise ValueError("from the thread")

    failed = Background(boom, "test-error")
    failed.wait()
    with pytest.raises(ValueError, match="from the thread"):
        failed.result()
