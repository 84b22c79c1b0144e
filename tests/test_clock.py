"""Calendar days with a rollover hour, across midnight and DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from srs.clock import Clock, load_timezone
from srs.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(timezone.utc)


def test_late_evening_then_next_morning_is_one_day() -> None:
    """A review at 23:00 and one at 08:00 the next morning are one day apart."""
    clock = Clock(BERLIN, 4)
    assert clock.elapsed_days(local(BERLIN, 2026, 11, 24, 23), local(BERLIN, 2026, 11, 25, 8)) == 1


def test_before_rollover_counts_as_previous_day() -> None:
    """03:59 still belongs to yesterday; 04:00 starts today."""
    clock = Clock(BERLIN, 4)
    evening = clock.day_of(local(BERLIN, 2026, 11, 24, 20))
    assert clock.day_of(local(BERLIN, 2026, 11, 25, 3, 59)) == evening
    assert clock.day_of(local(BERLIN, 2026, 11, 25, 4, 0)) == evening + 1


def test_day_start_is_local_rollover() -> None:
    """Day N starts at the rollover hour in local time, whatever the UTC offset."""
    clock = Clock(BERLIN, 4)
    day = clock.day_of(local(BERLIN, 2026, 7, 1, 12))
    assert clock.day_start(day) == local(BERLIN, 2026, 7, 1, 4)
    assert clock.day_start(day).hour == 2  # 04:00 CEST is 02:00 UTC


@pytest.mark.parametrize(
    ("tz", "before", "after"),
    [
        (BERLIN, (2026, 3, 28, 10), (2026, 3, 29, 10)),  # spring forward: 23 hours apart
        (BERLIN, (2026, 10, 24, 10), (2026, 10, 25, 10)),  # fall back: 25 hours apart
        (NEW_YORK, (2026, 3, 7, 22), (2026, 3, 8, 21)),  # 22 hours apart across the change
    ],
)
def test_dst_change_still_one_day(tz: ZoneInfo, before: tuple[int, ...], after: tuple[int, ...]) -> None:
    """Across a DST change consecutive local days differ by exactly one."""
    clock = Clock(tz, 4)
    first, second = local(tz, *before), local(tz, *after)
    assert (second - first) != timedelta(days=1)
    assert clock.elapsed_days(first, second) == 1
    assert (clock.fsrs_time(second) - clock.fsrs_time(first)).days == 1


def test_dst_rollover_hour_counted_like_anki() -> None:
    """An answer in the hour after rollover, before a fall-back change, counts as Anki counts it.

    04:30 EDT on Oct 31 is 03:30 in the EST offset in force on Nov 1, i.e.
    before that clock's rollover: Anki (and srs) count two days to Nov 1,
    although the calendar days differ by one.
    """
    clock = Clock(NEW_YORK, 4)
    first, second = local(NEW_YORK, 2026, 10, 31, 4, 30), local(NEW_YORK, 2026, 11, 1, 10)
    assert clock.day_of(second) - clock.day_of(first) == 1
    assert clock.elapsed_days(first, second) == 2
    assert clock.elapsed_days(local(NEW_YORK, 2026, 10, 31, 5, 30), second) == 1


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)))
def test_instant_falls_inside_its_day(instant: datetime) -> None:
    """Every instant lies between the start of its day and the start of the next."""
    clock = Clock(BERLIN, 4)
    day = clock.day_of(instant)
    assert clock.day_start(day) <= instant < clock.day_start(day + 1)


def test_unknown_timezone_is_a_config_error() -> None:
    """A misspelt timezone is reported, not crashed on."""
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        load_timezone("Mars/Olympus")


def test_bad_rollover_hour_rejected() -> None:
    """Rollover hours outside 0-23 are refused."""
    with pytest.raises(ConfigError):
        Clock(BERLIN, 24)


@given(st.integers(min_value=1_600_000_000_000, max_value=1_900_000_000_000))
def test_day_of_ms_agrees_with_day_of(ms: int) -> None:
    """The cached millisecond lookup gives the same day as day_of."""
    clock = Clock(NEW_YORK, 4)
    assert clock.day_of_ms(ms) == clock.day_of(datetime.fromtimestamp(ms / 1000, timezone.utc))
