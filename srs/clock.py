"""Calendar days as the user lives them.

Everything is stored as aware UTC datetimes. A *day* is a local calendar day
that starts at the rollover hour (4 am by default, as in Anki), numbered from
1970-01-01. This module is the one place that turns instants into day numbers
and back, so "today", "due tomorrow" and the elapsed days fed to FSRS all
agree, across midnight and across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from srs.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# A fixed UTC timeline on which day N is exactly N * 24 hours after the
# epoch; FSRS sees review times on it so its whole-24-hour elapsed-day count
# equals the difference of calendar day numbers, even across DST changes.
_FSRS_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc(dt: datetime) -> datetime:
    """Return *dt* as an aware UTC datetime (naive values are taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def load_timezone(name: str | None) -> ZoneInfo:
    """The named IANA zone, or the machine's local zone when *name* is empty."""
    if not name:
        import tzlocal

        try:
            return tzlocal.get_localzone()  # a ZoneInfo on Python >= 3.9
        except Exception:  # an unreadable local zone setting: fall back, never crash
            return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone {name!r} (use an IANA name such as Europe/Berlin)") from None


# Every UTC offset, DST change and rollover falls on a multiple of 15
# minutes, so all instants of one 15-minute slot share a day number.
SLOT_SECONDS = 900
SLOT_MS = SLOT_SECONDS * 1000
DAY_SECONDS = 86_400
DAY_MS = DAY_SECONDS * 1000


@lru_cache(maxsize=65_536)
def _day_of_slot(tz: ZoneInfo, rollover_hour: int, slot: int) -> int:
    local = datetime.fromtimestamp(slot * SLOT_SECONDS, tz)
    shifted = local - timedelta(hours=rollover_hour)
    return shifted.date().toordinal() - _EPOCH_ORDINAL


@dataclass(frozen=True)
class Clock:
    """Day arithmetic in one timezone with one rollover hour."""

    tz: ZoneInfo
    rollover_hour: int = 4
    _slots: dict[int, int] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _starts: dict[int, int] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rollover_hour <= 23:
            raise ConfigError(f"rollover hour must be 0-23, got {self.rollover_hour}")

    def day_of(self, instant: datetime) -> int:
        """The day number an instant falls on."""
        # cached by 15-minute slot (exports and imports ask for hundreds of thousands)
        return _day_of_slot(self.tz, self.rollover_hour, int(utc(instant).timestamp() // SLOT_SECONDS))

    def day_of_ms(self, ms: int) -> int:
        """The day number of an instant given as Unix milliseconds (the stored form)."""
        slot = ms // SLOT_MS
        day = self._slots.get(slot)
        if day is None:
            day = self._slots[slot] = _day_of_slot(self.tz, self.rollover_hour, slot)
        return day

    def day_start_ms(self, day: int) -> int:
        """day_start as Unix milliseconds, cached (replays ask for it per answer)."""
        value = self._starts.get(day)
        if value is None:
            value = self._starts[day] = round(self.day_start(day).timestamp() * 1000)
        return value

    def days_of_ms(self, ms: np.ndarray) -> np.ndarray:
        """``day_of_ms`` for an array of Unix-millisecond instants, vectorised.

        A day number is the local wall-clock time, less the rollover hour,
        floored to whole days; the wall-clock time is the UTC instant plus the
        zone's offset, which changes only at a few transitions. The offset is
        sampled every six hours across the span of *ms*, and each change is
        located to its 15-minute slot by bisection.
        """
        import numpy as np

        slots = np.asarray(ms, dtype=np.int64) // SLOT_MS
        if slots.size == 0:
            return slots
        lo, hi = int(slots.min()), int(slots.max())

        def offset(slot: int) -> int:
            delta = datetime.fromtimestamp(slot * SLOT_SECONDS, self.tz).utcoffset()
            return int(delta.total_seconds()) if delta is not None else 0

        changes, offsets = [lo], [offset(lo)]
        previous = lo
        six_hours = 6 * 3600 // SLOT_SECONDS
        for sample in range(lo + six_hours, hi + six_hours, six_hours):
            value = offset(sample)
            while value != offsets[-1]:  # a change in (previous, sample]: find its slot
                a, b = previous, sample
                while b - a > 1:
                    middle = (a + b) // 2
                    if offset(middle) == offsets[-1]:
                        a = middle
                    else:
                        b = middle
                changes.append(b)
                offsets.append(offset(b))
                previous = b
            previous = sample
        index = np.searchsorted(np.asarray(changes, dtype=np.int64), slots, side="right") - 1
        local = slots * SLOT_SECONDS + np.asarray(offsets, dtype=np.int64)[index]
        return (local - self.rollover_hour * 3600) // DAY_SECONDS

    def day_starts_ms(self, days: np.ndarray) -> np.ndarray:
        """``day_start_ms`` for an array of day numbers."""
        import numpy as np

        unique, inverse = np.unique(np.asarray(days, dtype=np.int64), return_inverse=True)
        starts = np.fromiter((self.day_start_ms(int(day)) for day in unique), dtype=np.int64, count=len(unique))
        return starts[inverse.reshape(-1)]

    def date_of_day(self, day: int) -> date:
        return date.fromordinal(day + _EPOCH_ORDINAL)

    def day_of_date(self, when: date) -> int:
        """The day number of a calendar date (the inverse of ``date_of_day``)."""
        return when.toordinal() - _EPOCH_ORDINAL

    def day_start(self, day: int) -> datetime:
        """The UTC instant at which day number *day* begins."""
        local = datetime.combine(self.date_of_day(day), time(self.rollover_hour), tzinfo=self.tz)
        return local.astimezone(timezone.utc)

    def today(self, now: datetime) -> int:
        return self.day_of(now)

    def elapsed_days(self, earlier: datetime, later: datetime) -> int:
        """Days between two instants, as Anki counts them when answering.

        Anki counts the whole 24-hour periods between *earlier* and the next
        rollover after *later* (rslib: ``next_day_at.elapsed_days_since``),
        which is the difference of their day numbers except across a DST
        change, where an instant within an hour of the rollover is counted
        with the offset in force at *later*. We follow Anki so that memory
        states agree with the ones Anki stores.
        """
        next_day_at = self.day_start(self.day_of(later) + 1)
        return max(0, int((next_day_at - utc(earlier)).total_seconds() // DAY_SECONDS))

    def fsrs_time(self, instant: datetime) -> datetime:
        """*instant* moved to the start of its day on FSRS's 24-hour timeline."""
        return _FSRS_EPOCH + timedelta(days=self.day_of(instant))
