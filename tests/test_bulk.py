"""The garbage collector's pause around bulk steps: off inside, back as it was after, errors included."""

from __future__ import annotations

import gc

import pytest

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
