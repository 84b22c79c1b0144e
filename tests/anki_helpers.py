"""Helpers for tests that use the official `anki` library as the judge."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from srs.db import Database
from srs.domain import Rating
from srs.models import Card
from srs.review import Limits, ReviewSession

# Non-UTC zones; a test picks one where it is daytime now, so that the real
# clock Anki uses is far from the 4 am rollover while the test runs.
DST_ZONES = ("America/New_York", "Europe/Berlin", "Pacific/Auckland", "America/Los_Angeles", "Australia/Sydney", "America/Santiago")
FIXED_ZONES = ("Asia/Tokyo", "Asia/Kolkata", "America/Bogota", "America/Phoenix", "Asia/Dubai", "Pacific/Honolulu", "Africa/Nairobi")


def daytime_zone(now: datetime, dst: bool = True) -> str:
    """A zone (with or without daylight saving) where it is daytime at *now*."""
    for name in DST_ZONES if dst else FIXED_ZONES:
        if 7 <= now.astimezone(ZoneInfo(name)).hour <= 21:
            return name
    raise AssertionError(f"no daytime zone at {now}")  # the zones span the globe


# Anki's Rust code reads the local zone through chrono's `Local`, which keeps
# the zone it last read for up to a second before looking at TZ again
# (chrono/src/offset/local/unix.rs, `Cache::offset`). A zone switch is only
# seen by Anki once that second has passed; without the wait, a collection
# made right after a switch gets the previous zone's creation offset and day
# cutoff.
CHRONO_ZONE_CACHE_SECONDS = 1.05


def _set_tz(value: str | None) -> None:
    if os.environ.get("TZ") == value:
        return
    if value is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = value
    time.tzset()
    time.sleep(CHRONO_ZONE_CACHE_SECONDS)


@contextmanager
def local_timezone(name: str) -> Iterator[None]:
    """Run with TZ set, so Anki's Rust code and Python agree on local time."""
    old = os.environ.get("TZ")
    _set_tz(name)
    try:
        yield
    finally:
        _set_tz(old)


def anki_collection(path: Path):  # type: ignore[no-untyped-def]
    """A fresh Anki collection with FSRS on."""
    from anki.collection import Collection

    col = Collection(str(path))
    col.set_config("fsrs", True)
    return col


def import_apkg(col, package: Path, with_scheduling: bool = True):  # type: ignore[no-untyped-def]
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    return col.import_anki_package(
        ImportAnkiPackageRequest(
            package_path=str(package),
            options=ImportAnkiPackageOptions(with_scheduling=with_scheduling, with_deck_configs=True),
        )
    )


def export_apkg(col, out: Path, legacy: bool = False, scheduling: bool = True, media: bool = False) -> Path:  # type: ignore[no-untyped-def]
    """Anki's own exporter (deck options go with scheduling)."""
    from anki.collection import ExportAnkiPackageOptions

    col.export_anki_package(
        out_path=str(out),
        options=ExportAnkiPackageOptions(with_scheduling=scheduling, with_deck_configs=scheduling, with_media=media, legacy=legacy),
        limit=None,
    )
    return out


def simulate_history(db: Database, end: datetime, days: int, seed: int = 7, limit_cards: int | None = None) -> None:
    """Study every day for *days* days before *end*, at varied hours, with mixed ratings."""
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(new_per_day=6, reviews_per_day=500))
        for day in range(days):
            at = start + timedelta(days=day, hours=rng.choice([1, 7, 9, 13, 18, 22, 23]), minutes=rng.randrange(60))
            if at >= end:
                break
            for _ in range(80):
                queue = review.queue(at)
                if queue.card_id is None:
                    break
                card = session.get(Card, queue.card_id)
                assert card is not None
                if limit_cards is not None and card.id > limit_cards:
                    break
                rating = rng.choices(list(Rating), weights=[12, 10, 65, 13])[0]
                review.answer(card, rating, at, rng.randrange(3000, 60000))
                session.commit()
                at += timedelta(seconds=rng.randrange(20, 200))
                if card.due is not None and card.due > at and (card.due - at) < timedelta(minutes=30):
                    at = card.due + timedelta(seconds=rng.randrange(0, 120))  # come back for the step


def anki_recompute_elapsed(times: list[datetime], next_day_at: datetime) -> list[int]:
    """Elapsed days between answers as Anki's memory-state recomputation counts them.

    rslib scheduler/fsrs/params.rs: each revlog entry's day is
    (next_day_at - time) // 86400 with today's rollover instant, i.e. with
    today's UTC offset for the whole history.
    """
    ago = [int((next_day_at - t).total_seconds() // 86_400) for t in times]
    return [a - b for a, b in zip(ago, ago[1:])]
