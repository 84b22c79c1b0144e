"""Where the user stands: activity, true retention, the due forecast, recall by deck and competency.

Everything is computed from the review log and the cards, on the user's
calendar days; the result is the documented ``srs stats --json`` shape and
the terminal view draws it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date as date_type
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from srs.competencies import BY_SLUG
from srs.domain import CardState
from srs.errors import ConfigError
from srs.files import write_atomically
from srs.models import Card, Deck, Note, Story
from srs.settings import Schedulers, clock_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

HISTORY_DAYS = 26 * 7  # the heatmap's half year
FORECAST_DAYS = 30


def collection_stats(session: Session, now: datetime) -> dict[str, Any]:
    """The ``srs stats --json`` data."""

    clock = clock_for(session)
    today = clock.today(now)
    conn = session.connection()
    per_day: Counter[int] = Counter()
    ms_per_day: Counter[int] = Counter()
    weeks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    total = 0
    for at, rating, prev_state, duration in conn.exec_driver_sql(
        "SELECT reviewed_at, rating, prev_state, duration_ms FROM reviews"
    ):
        total += 1
        day = clock.day_of_ms(at)
        per_day[day] += 1
        ms_per_day[day] += duration
        if prev_state == CardState.REVIEW:  # true retention: answers to review cards
            date = clock.date_of_day(day)
            iso = date.isocalendar()
            for bucket, key in ((weeks, f"{iso.year}-W{iso.week:02d}"), (months, f"{date:%Y-%m}")):
                bucket[key][0] += 1
                bucket[key][1] += rating > 1
    first = today - HISTORY_DAYS + 1
    activity: list[dict[str, Any]] = [
        {"date": clock.date_of_day(d).isoformat(), "reviews": per_day[d], "minutes": round(ms_per_day[d] / 60000, 1)}
        for d in range(first, today + 1)
    ]
    streak = 0
    day = today if per_day[today] else today - 1
    while per_day[day]:
        streak, day = streak + 1, day - 1

    forecast: Counter[int] = Counter()
    for due, state, suspended in conn.exec_driver_sql("SELECT due, state, suspended FROM cards WHERE state != 0"):
        if suspended or due is None:
            continue
        offset = max(0, clock.day_of_ms(due) - today)
        if offset < FORECAST_DAYS:
            forecast[offset] += 1

    schedulers = Schedulers(session, clock)
    by_deck: dict[str, list[float]] = defaultdict(list)
    by_competency: dict[str, list[float]] = defaultdict(list)
    story_competencies = {s.note_id: s.competencies for s in session.scalars(select(Story))}
    rows = session.execute(
        select(Card.stability, Card.last_review, Card.deck_id, Deck.name, Note.id, Note.tags)
        .join(Deck, Deck.id == Card.deck_id)
        .join(Note, Note.id == Card.note_id)
        .where(Card.state != CardState.NEW, Card.suspended.is_(False))
    ).all()
    for stability, last_review, deck_id, deck_name, note_id, tags in rows:
        if stability is None or last_review is None:
            continue
        r = schedulers.for_card_in(deck_id).recall(stability, clock.elapsed_days(last_review, now))
        by_deck[deck_name].append(r)
        for slug in {*story_competencies.get(note_id, []), *[t for t in tags if t in BY_SLUG]}:
            by_competency[slug].append(r)

    def mean_rows(groups: dict[str, list[float]], key: str) -> list[dict[str, Any]]:
        return [
            {key: name, "cards": len(values), "recall": round(sum(values) / len(values), 4)}
            for name, values in sorted(groups.items())
        ]

    def retention_rows(groups: dict[str, list[int]]) -> list[dict[str, Any]]:
        return [
            {"period": period, "reviews": n, "retention": round(ok / n, 4)}
            for period, (n, ok) in sorted(groups.items())
        ]

    studied = [a for a in activity if a["reviews"]]
    return {
        "today": clock.date_of_day(today).isoformat(),
        "reviews": total,
        "days_studied": len(studied),
        "streak_days": streak,
        "minutes_per_study_day": round(sum(a["minutes"] for a in studied) / len(studied), 1) if studied else 0.0,
        "activity": activity,
        "retention_by_week": retention_rows(weeks),
        "retention_by_month": retention_rows(months),
        "forecast": [
            {"date": clock.date_of_day(today + i).isoformat(), "due": forecast[i]} for i in range(FORECAST_DAYS)
        ],
        "recall_by_deck": mean_rows(by_deck, "deck"),
        "recall_by_competency": [
            {**row, "label": BY_SLUG[row["competency"]].label} for row in mean_rows(by_competency, "competency")
        ],
    }


def write_png(data: dict[str, Any], path: Any) -> None:
    """The same charts as the terminal view, as one PNG image (needs the `charts` extra)."""
    import matplotlib.pyplot as plt

    fig = chart_figure(data)
    try:
        write_atomically(Path(path), lambda target: fig.savefig(target, format="png", dpi=100), "chart", ConfigError)
    finally:
        plt.close(fig)


def chart_figure(data: dict[str, Any]) -> Any:
    """The four charts of `srs stats --png` as a matplotlib figure; a panel with nothing to show says so in words."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--png needs matplotlib: pip install '.[charts]' (from srs's folder)") from None
    activity = data["activity"]
    first = date_type.fromisoformat(activity[0]["date"])
    cells = [None] * first.weekday() + [a["reviews"] for a in activity]
    weeks = (len(cells) + 6) // 7
    grid = [[float("nan")] * weeks for _ in range(7)]
    for i, value in enumerate(cells):
        if value is not None:
            grid[i % 7][i // 7] = value
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    ax = axes[0][0]
    ax.imshow(grid, cmap="Greens", aspect="auto")
    ax.set_title("Reviews per day, last 26 weeks")
    ax.set_yticks(range(7), list("MTWTFSS"))
    ax.set_xticks([])
    ax = axes[0][1]
    ax.set_title("Due in the next 30 days")
    if any(f["due"] for f in data["forecast"]):
        ax.bar([f["date"][5:] for f in data["forecast"]], [f["due"] for f in data["forecast"]], color="tab:cyan")
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    else:
        _no_data(ax, "Nothing due in the next 30 days")
    ax = axes[1][0]
    ax.set_title("True retention by month")
    months = data["retention_by_month"]
    if months:
        ax.plot([m["period"] for m in months], [m["retention"] for m in months], marker="o")
        ax.set_ylim(0, 1)
    else:
        _no_data(ax, "No reviews of review cards yet")
    ax = axes[1][1]
    ax.set_title("Recall now, by deck")
    decks = data["recall_by_deck"]
    if decks:
        ax.barh([d["deck"] for d in decks], [d["recall"] for d in decks], color="tab:green")
        ax.set_xlim(0, 1)
    else:
        _no_data(ax, "No studied cards yet")
    fig.tight_layout()
    return fig


def _no_data(ax: Any, text: str) -> None:
    """A panel that has nothing to draw: its title and a sentence, no empty axis."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
