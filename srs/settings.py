"""Collection settings and deck-option presets, with their defaults.

Settings that shape the user's day (timezone, rollover hour, daily limits)
are collection-wide; what shapes a card's memory (FSRS parameters, desired
retention, learning steps) lives in a preset shared by decks, as in Anki.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from srs.clock import Clock, load_timezone
from srs.domain import DeckId, PresetId
from srs.errors import ConfigError
from srs.models import Card, Deck, Preset, Review, Setting
from srs.scheduler import (
    DEFAULT_DESIRED_RETENTION,
    DEFAULT_LEARNING_STEPS,
    DEFAULT_MAXIMUM_INTERVAL,
    DEFAULT_RELEARNING_STEPS,
    Scheduler,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_PRESET = "Default"


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    help: str


# the highest review id a sync has sent or received (srs.sync sets it; reviewing reads it without loading the sync)
SYNCED_REVIEW = "sync_pushed_review"
# whether srs removed a card of a note that keeps other cards since the last sync (srs.edit sets it, srs.sync clears it:
# only then does a sync look for such removals, reading every card of the notes with several)
CARDS_REMOVED = "sync_cards_removed"

SETTINGS = {
    s.key: s
    for s in (
        SettingSpec("timezone", "", "IANA timezone for day boundaries; empty = this machine's"),
        SettingSpec("rollover_hour", 4, "local hour at which a new day starts (0-23)"),
        SettingSpec("new_per_day", 10, "new cards introduced per day"),
        SettingSpec("reviews_per_day", 200, "review cards shown per day"),
        SettingSpec("builtin_decks_hash", "", "fingerprint of the built-in decks last built (internal)"),
        SettingSpec("interview_date", "", "the interview day the schedule aims at (srs plan)"),
        SettingSpec("plan_max_minutes", 0, "minutes per day the plan may use (srs plan)"),
        SettingSpec("builtin_decks_off", [], "built-in decks removed for good (srs deck rm --disable; srs deck enable)"),
        SettingSpec("sync_watermark", -1, "the replica's highest update number after the last sync (internal)"),
        SettingSpec("sync_last", 0, "when the last sync finished, Unix ms (internal)"),
        SettingSpec("sync_pushed_review", 0, "the highest review id sent by a sync (internal)"),
        SettingSpec("sync_notes", [], "guids both sides held after the last sync (internal)"),
        SettingSpec("sync_presets", {}, "each preset's options as of the last sync (internal)"),
        SettingSpec("sync_decks", [], "the Anki ids of srs's decks the replica held after the last sync (internal)"),
        SettingSpec("sync_sent_texts", {}, "note guid -> when a sync sent srs's edited text, Unix ms (internal)"),
        SettingSpec("sync_left_out", {}, "the server's notes the last pull left out, by reason (internal)"),
        SettingSpec("sync_removed_cards", {}, "the replica's ids of the cards a sync removed there, with their note and card (internal)"),
        SettingSpec("sync_cards_removed", False, "a card of a note that keeps others was removed since the last sync (internal)"),
        SettingSpec("sync_run", "", "a token of the last completed sync, named by what a stopped sync noted (internal)"),
    )
}
INTERNAL = {
    "builtin_decks_hash", "interview_date", "plan_max_minutes", "builtin_decks_off",
    "sync_watermark", "sync_last", "sync_pushed_review", "sync_notes", "sync_presets", "sync_decks",
    "sync_sent_texts", "sync_left_out", "sync_removed_cards", "sync_cards_removed", "sync_run",
}  # set by their own commands
PRESET_KEYS = {
    "desired_retention": "probability of recall FSRS aims for (0.70-0.99)",
    "learning_steps": "learning steps, e.g. '1m 10m'",
    "relearning_steps": "relearning steps, e.g. '10m'",
    "maximum_interval": "longest interval in days",
}


def get_setting(session: Session, key: str) -> Any:
    row = session.get(Setting, key)
    return SETTINGS[key].default if row is None else row.value


def set_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def delete_setting(session: Session, key: str) -> None:
    """Forget a setting: it reads as its default again."""
    row = session.get(Setting, key)
    if row is not None:
        session.delete(row)


def after_reviews_deleted(session: Session) -> None:
    """Call after deleting review rows: keep the sync's mark of the answers it sent (SYNCED_REVIEW, the highest review
    id sent) at or below the highest id left.

    SQLite gives a new row the highest id plus one, so deleting the rows at the top frees their ids for the next
    answers; with the mark left above them, the sync would take those answers for sent ones and never send them.
    """
    sent = int(get_setting(session, SYNCED_REVIEW) or 0)
    if sent:
        session.flush()
        top = int(session.scalar(select(func.max(Review.id))) or 0)
        if top < sent:
            set_setting(session, SYNCED_REVIEW, top)


def clock_for(session: Session) -> Clock:
    """The collection's clock: its timezone and rollover hour."""
    return clock_from_values(get_setting(session, "timezone"), get_setting(session, "rollover_hour"))


def clock_from_values(timezone: Any, rollover_hour: Any) -> Clock:
    """A clock from stored setting values (JSON text or decoded), defaults for missing ones."""
    import json

    def decode(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    tz = decode(timezone)
    hour = decode(rollover_hour)
    return Clock(
        load_timezone(tz if tz is not None else SETTINGS["timezone"].default),
        int(hour if hour is not None else SETTINGS["rollover_hour"].default),
    )


def default_preset(session: Session) -> Preset:
    """The preset new decks use, created with the scheduler's defaults on first need."""

    preset = session.scalars(select(Preset).where(Preset.name == DEFAULT_PRESET)).first()
    if preset is None:
        from fsrs.scheduler import DEFAULT_PARAMETERS

        preset = Preset(
            name=DEFAULT_PRESET,
            desired_retention=DEFAULT_DESIRED_RETENTION,
            parameters=list(DEFAULT_PARAMETERS),
            learning_steps=list(DEFAULT_LEARNING_STEPS),
            relearning_steps=list(DEFAULT_RELEARNING_STEPS),
            maximum_interval=DEFAULT_MAXIMUM_INTERVAL,
        )
        session.add(preset)
        session.flush()
    return preset


def interview_day(session: Session, clock: Clock) -> int | None:
    """The day number of the interview the schedule aims at, when a plan is set (srs plan)."""
    value = get_setting(session, "interview_date")
    if not value:
        return None
    return clock.day_of_date(date.fromisoformat(value))


class Schedulers:
    """The scheduler of each deck's preset, on one clock, built on first need."""

    def __init__(self, session: Session, clock: Clock, fuzz: bool = True) -> None:
        self.session = session
        self.clock = clock
        self.fuzz = fuzz
        self.deadline = interview_day(session, clock)
        self._by_preset: dict[PresetId, Scheduler] = {}
        self._deck_presets: dict[DeckId, PresetId] = {}

    def for_card(self, card: Card) -> Scheduler:
        return self.for_card_in(card.deck_id)

    def for_card_in(self, deck_id: DeckId) -> Scheduler:
        """The scheduler of the preset of deck *deck_id*."""
        if deck_id not in self._deck_presets:
            deck = self.session.get(Deck, deck_id)
            assert deck is not None
            self._deck_presets[deck_id] = deck.preset_id
        preset_id = self._deck_presets[deck_id]
        if preset_id not in self._by_preset:
            preset = self.session.get(Preset, preset_id)
            assert preset is not None
            self._by_preset[preset_id] = Scheduler.from_preset(preset, self.clock, self.fuzz, self.deadline)
        return self._by_preset[preset_id]


_STEP = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_steps(text: str) -> list[int]:
    """'1m 10m' -> [60, 600]; an empty string means no steps."""
    steps = []
    for part in text.replace(",", " ").split():
        match = _STEP.match(part)
        if not match:
            raise ConfigError(f"bad step {part!r}: use a number and a unit s, m, h or d, e.g. '1m 10m'")
        seconds = round(float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        if seconds <= 0:
            raise ConfigError(f"bad step {part!r}: steps must be positive")
        steps.append(seconds)
    return steps


def format_steps(steps: list[int]) -> str:
    out = []
    for seconds in steps:
        for unit in "dhm":
            if seconds % _UNIT_SECONDS[unit] == 0:
                out.append(f"{seconds // _UNIT_SECONDS[unit]}{unit}")
                break
        else:
            out.append(f"{seconds}s")
    return " ".join(out)


def config_keys() -> list[str]:
    """The keys `srs config` shows and sets, sorted (for completion and messages)."""
    return sorted([*(set(SETTINGS) - INTERNAL), *PRESET_KEYS])


def all_settings(session: Session) -> dict[str, Any]:
    """Every setting and default-preset option, for display."""
    preset = default_preset(session)
    values: dict[str, Any] = {key: get_setting(session, key) for key in SETTINGS if key not in INTERNAL}
    values["desired_retention"] = preset.desired_retention
    values["learning_steps"] = format_steps(preset.learning_steps)
    values["relearning_steps"] = format_steps(preset.relearning_steps)
    values["maximum_interval"] = preset.maximum_interval
    return values


def show_setting(session: Session, key: str) -> Any:
    """One setting's value, for `srs config KEY`; ConfigError naming the known keys if there is none."""
    values = all_settings(session)
    name = key.replace("-", "_")
    if name not in values:
        raise ConfigError(f"unknown setting {key!r} (known: {', '.join(sorted(values))})")
    return values[name]


def _int_in(key: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, got {value}")
    return value


def update_setting(session: Session, key: str, text: str) -> Any:
    """Parse and store one setting given as text; return the stored value."""
    key = key.replace("-", "_")
    if key in INTERNAL:
        raise ConfigError(f"{key} is managed by srs and cannot be set")
    if key == "timezone":
        if text:
            load_timezone(text)  # validates
        set_setting(session, key, text)
        return text
    if key == "rollover_hour":
        value = _int_in(key, text, 0, 23)
    elif key in ("new_per_day", "reviews_per_day"):
        value = _int_in(key, text, 0, 100_000)
    elif key in PRESET_KEYS:
        preset = default_preset(session)
        if key == "desired_retention":
            try:
                retention = float(text)
            except ValueError:
                raise ConfigError(f"desired_retention must be a number, got {text!r}") from None
            if not 0.7 <= retention <= 0.99:
                raise ConfigError(f"desired_retention must be between 0.70 and 0.99, got {retention}")
            preset.desired_retention = retention
            return retention
        if key in ("learning_steps", "relearning_steps"):
            steps = parse_steps(text)
            setattr(preset, key, steps)
            return format_steps(steps)
        preset.maximum_interval = _int_in(key, text, 1, 36500)
        return preset.maximum_interval
    else:
        known = ", ".join(config_keys())
        raise ConfigError(f"unknown setting {key!r} (known: {known})")
    set_setting(session, key, value)
    return value
