"""Terminal presentation: formatting helpers and the interactive review loop.

This sits beside the CLI: it may use rich, and it reads keys through a
function it is given, so tests drive a whole session with a scripted list of
keys and a fake clock. Card text is always shown as plain text (never as rich
markup), with control characters removed, so an imported card cannot change
the terminal.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from srs.clock import Clock
from srs.models import Card, Rating
from srs.review import Counts, ReviewSession

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
RATING_KEYS = {"1": Rating.AGAIN, "2": Rating.HARD, "3": Rating.GOOD, "4": Rating.EASY}
RATING_LABELS = {Rating.AGAIN: "Again", Rating.HARD: "Hard", Rating.GOOD: "Good", Rating.EASY: "Easy"}
REVEAL_KEYS = {" ", "\r", "\n"}
LONG_ANSWER = timedelta(minutes=2)


def safe(text: str) -> str:
    """Text with terminal control characters (ESC, BEL, bidi overrides...) removed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\t", "    "))


def format_interval(due: datetime, now: datetime, clock: Clock) -> str:
    """Anki-style button label: '<1m', '10m', '3h', '4d', '2.5mo', '1.2y'."""
    days = clock.day_of(due) - clock.today(now)
    if days <= 0:
        seconds = (due - now).total_seconds()
        if seconds < 60:
            return "<1m"
        if seconds < 3600:
            return f"{round(seconds / 60)}m"
        return f"{seconds / 3600:.0f}h"
    if days < 30:
        return f"{days}d"
    if days < 365:
        return f"{days / 30:.1f}mo"
    return f"{days / 365:.1f}y"


def format_elapsed(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def counts_text(counts: Counts) -> Text:
    text = Text()
    text.append(f"New {counts.new}", style="blue")
    text.append("  ·  ")
    text.append(f"Learning {counts.learning}", style="red")
    text.append("  ·  ")
    text.append(f"Review {counts.review}", style="green")
    return text


def describe_next_due(next_due: datetime | None, now: datetime, clock: Clock, new_limited: bool) -> str:
    if next_due is None:
        if new_limited:
            return "Done for today: the daily limit of new cards is reached. More tomorrow."
        return "Nothing is due, and there are no cards waiting."
    local = next_due.astimezone(clock.tz)
    days = clock.day_of(next_due) - clock.today(now)
    if days <= 0:
        when = f"today at {local:%H:%M}"
    elif days == 1:
        when = f"tomorrow ({local:%a %d %b})"
    else:
        when = f"in {days} days ({local:%a %d %b})"
    extra = " The daily limit of new cards is reached." if new_limited else ""
    return f"Nothing due now. Next card due {when}.{extra}"


@dataclass
class SessionSummary:
    answered: int = 0
    undone: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    stop_reason: str = ""


class _Timer:
    """A renderable showing time since the card appeared, for rich.Live."""

    def __init__(self, started: datetime, now: Callable[[], datetime]) -> None:
        self.started = started
        self.now = now

    def __rich__(self) -> Text:
        elapsed = self.now() - self.started
        style = "bold yellow" if elapsed >= LONG_ANSWER else "dim"
        label = "  ⏱ " + format_elapsed(elapsed)
        if elapsed >= LONG_ANSWER:
            label += "  over two minutes: wrap up"
        return Text(label + "   (space: show answer · e: edit story · u: undo · q: quit)", style=style)


def run_review(
    review: ReviewSession,
    console: Console,
    read_key: Callable[[], str],
    now: Callable[[], datetime],
    live_timer: bool = False,
    edit: Callable[[Card], bool] | None = None,
) -> SessionSummary:
    """Study until nothing is due or the user quits; commits every answer."""
    summary = SessionSummary()
    answered: list[tuple[int, int]] = []  # (review id, rating) of this session, for undo
    forced: int | None = None  # card to show next (after an undo)
    clock = review.clock
    started = now()

    def key() -> str:
        try:
            pressed = read_key()
        except (KeyboardInterrupt, EOFError):
            return "q"
        return pressed or "q"  # end of input quits

    def undo() -> int | None:
        if not answered:
            console.print(Text("Nothing to undo in this session.", style="yellow"))
            return None
        review_id, rating = answered.pop()
        card = review.undo(review_id, now())
        review.session.commit()
        summary.ratings[rating] -= 1
        summary.answered -= 1
        summary.undone += 1
        console.print(Text("Undid the last answer.", style="yellow"))
        return card.id

    while True:
        at = now()
        queue = review.queue(at)
        card_id = forced or queue.card_id
        forced = None
        if card_id is None:
            console.print(Text(describe_next_due(queue.next_due, at, clock, queue.new_limited), style="bold"))
            summary.stop_reason = "done"
            break
        card = review.card(card_id)
        sides = review.sides(card)
        header = Text.assemble((safe(card.deck.name), "bold cyan"), "   ", counts_text(queue.counts))
        console.print()
        console.print(header)
        console.print(Panel(Text(safe(sides.front)), title="Question", title_align="left", border_style="cyan"))
        # End the read transaction before waiting for the user: a second srs
        # process may write meanwhile, and our answer must see its changes.
        review.session.commit()
        shown_at = now()

        # Wait for reveal, undo, edit or quit.
        action = _wait(key, {" ", "\r", "\n", "u", "q", "e"}, _Timer(shown_at, now), console, live_timer)
        if action == "q":
            summary.stop_reason = "quit"
            break
        if action == "u":
            forced = undo()
            continue
        if action == "e":
            _edit(edit, card, console)
            forced = card.id
            continue
        revealed_at = now()
        duration_ms = int((revealed_at - shown_at).total_seconds() * 1000)
        previews = review.preview(card, revealed_at)
        buttons = Text()
        for k, rating in RATING_KEYS.items():
            due = revealed_at + previews[rating]
            buttons.append(f" {k} ", style="reverse")
            buttons.append(f" {RATING_LABELS[rating]} {format_interval(due, revealed_at, clock)}   ")
        elapsed = format_elapsed(revealed_at - shown_at)
        timing = Text(f"answered in {elapsed}", style="yellow" if revealed_at - shown_at >= LONG_ANSWER else "dim")
        console.print(Panel(Group(Text(safe(sides.back)), Text(""), timing), title="Answer", title_align="left", border_style="green"))
        console.print(buttons)
        review.session.commit()  # hold no transaction while the user decides

        choice = _wait(key, {*RATING_KEYS, "u", "q", "e"}, None, console, False)
        while choice == "e":
            _edit(edit, card, console)
            choice = _wait(key, {*RATING_KEYS, "u", "q", "e"}, None, console, False)
        if choice == "q":
            summary.stop_reason = "quit"
            break
        if choice == "u":
            # Undo the previous answer; this card stays unanswered.
            forced = undo()
            continue
        rating = RATING_KEYS[choice]
        result = review.answer(card, rating, now(), duration_ms)
        review.session.commit()  # each answer is durable on its own
        answered.append((result.id, int(rating)))
        summary.answered += 1
        summary.ratings[int(rating)] += 1

    summary.seconds = (now() - started).total_seconds()
    if summary.answered or summary.undone:
        parts = ", ".join(f"{RATING_LABELS[Rating(r)]} {n}" for r, n in sorted(summary.ratings.items()) if n)
        console.print(Text(f"Reviewed {summary.answered} card(s) in {format_elapsed(timedelta(seconds=summary.seconds))}" + (f" ({parts})" if parts else "") + "."))
    return summary


def _edit(edit: Callable[[Card], bool] | None, card: Card, console: Console) -> None:
    if edit is None or not edit(card):
        console.print(Text("No story behind this card to edit (link one with `srs story link`).", style="yellow"))


def _wait(
    key: Callable[[], str],
    accepted: set[str],
    timer: _Timer | None,
    console: Console,
    live_timer: bool,
) -> str:
    """Read keys until one in *accepted*; show a live timer while waiting."""
    if timer is not None and live_timer:
        from rich.live import Live

        with Live(timer, console=console, refresh_per_second=2, transient=True):
            pressed = _read_until(key, accepted)
    else:
        if timer is not None:
            console.print(Text("(space: show answer · e: edit story · u: undo · q: quit)", style="dim"))
        pressed = _read_until(key, accepted)
    return "\r" if pressed in REVEAL_KEYS else pressed


def _read_until(key: Callable[[], str], accepted: set[str]) -> str:
    while True:
        pressed = key()
        if pressed in accepted:
            return pressed
        if pressed.lower() in accepted:
            return pressed.lower()


def format_status(data: dict) -> Group:  # type: ignore[type-arg]
    """The human form of ``browse.status``."""
    due = data["due"]
    totals = data["totals"]
    lines = [
        Text.assemble(("Today ", "bold"), data["today"]),
        Text.assemble("Due now: ", counts_text(Counts(due["new"], due["learning"], due["review"]))),
        Text(
            f"Collection: {totals['cards']} cards in {totals['notes']} notes, {totals['decks']} decks; "
            f"{totals['suspended']} suspended; {totals['reviews']} reviews so far."
        ),
    ]
    if data["next_due"] and not sum(due.values()):
        lines.append(Text(f"Next card due {data['next_due']}", style="dim"))
    return Group(*lines)


def _local(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def cards_table(rows: list) -> object:  # type: ignore[type-arg]
    from rich.table import Table

    table = Table(show_lines=False)
    for name, justify in (
        ("id", "right"), ("deck", "left"), ("front", "left"), ("state", "left"), ("due", "left"),
        ("S", "right"), ("D", "right"), ("R", "right"), ("reps", "right"), ("lapses", "right"),
    ):
        table.add_column(name, justify=justify, overflow="fold" if name == "front" else "ellipsis")  # type: ignore[arg-type]
    for r in rows:
        front = safe(r["front"]).replace("\n", " ")
        table.add_row(
            str(r["id"]),
            Text(safe(r["deck"])),
            Text(front[:70] + ("…" if len(front) > 70 else "")),
            r["state"] + (" (suspended)" if r["suspended"] else ""),
            _local(r["due"]),
            "-" if r["stability"] is None else f"{r['stability']:.1f}",
            "-" if r["difficulty"] is None else f"{r['difficulty']:.1f}",
            "-" if r["retrievability"] is None else f"{r['retrievability']:.0%}",
            str(r["reps"]),
            str(r["lapses"]),
        )
    return table


def decks_table(rows: list[dict]) -> object:  # type: ignore[type-arg]
    from rich.table import Table

    table = Table()
    for name in ("deck", "cards", "new", "due", "suspended"):
        table.add_column(name, justify="left" if name == "deck" else "right")
    for r in rows:
        table.add_row(Text(safe(r["deck"])), str(r["cards"]), str(r["new"]), str(r["due"]), str(r["suspended"]))
    return table


def _pct(value: float | None) -> str:
    return "new" if value is None else f"{value:.0%}"


def findings_text(findings: list) -> Text:  # type: ignore[type-arg]
    if not findings:
        return Text("Lint: no findings.", style="green")
    text = Text(f"Lint: {len(findings)} finding(s)\n", style="yellow")
    for f in findings:
        text.append(f"  {f.rule}", style="bold")
        text.append(f" [{f.place}] ", style="cyan")
        text.append(safe(f.message) + "\n")
    text.rstrip()
    return text


def lint_report(report: list[dict]) -> Group:  # type: ignore[type-arg]
    parts = []
    for entry in report:
        header = Text.assemble((f"{entry['id']}: ", "bold"), safe(entry["title"]), (f"  (~{entry['seconds']} s aloud)", "dim"))
        parts.append(header)
        if not entry["findings"]:
            parts.append(Text("  no findings", style="green"))
        for f in entry["findings"]:
            parts.append(Text.assemble(("  " + f["rule"], "bold"), (f" [{f['place']}] ", "cyan"), safe(f["message"])))
    return Group(*parts)


def stories_table(rows: list[dict], rank: bool) -> object:  # type: ignore[type-arg]
    from rich.table import Table

    table = Table()
    for name in ("id", "title", "framework", "competencies", "impact", "scope", "involv.", "score", "recall", "links"):
        table.add_column(name, justify="right" if name in ("id", "impact", "scope", "involv.", "score", "links") else "left")
    for r in rows:
        flags = (" ★" if r["favorite"] else "") + (" (draft)" if r["draft"] else "")
        table.add_row(
            str(r["id"]),
            Text(safe(r["title"]) + flags),
            r["framework"],
            ", ".join(r["competencies"]) or "-",
            *(str(r[k]) if r[k] is not None else "-" for k in ("impact", "scope", "involvement")),
            f"{r['score']:.0f}",
            _pct(r["recall"]),
            str(r["linked_questions"]),
        )
    return table


def coverage_view(data: dict) -> Group:  # type: ignore[type-arg]
    from rich.table import Table

    stories = data["stories"]
    table = Table(title="Competencies × stories (recall now)")
    table.add_column("competency")
    for s in stories:
        table.add_column(str(s["id"]), justify="center")
    table.add_column("stories", justify="right")
    for row in data["competencies"]:
        cells = {s["id"]: _pct(s["recall"]) for s in row["stories"]}
        label = Text(row["label"], style="yellow" if row["too_few"] else "")
        table.add_row(label, *(cells.get(s["id"], "") for s in stories), str(len(row["stories"])) + (" !" if row["too_few"] else ""))
    parts: list = [table]  # type: ignore[type-arg]
    if stories:
        parts.append(Text("Stories: " + "; ".join(f"{s['id']} = {safe(s['title'])}" for s in stories), style="dim"))
    thin = [r["label"] for r in data["competencies"] if r["too_few"]]
    if thin:
        parts.append(Text(f"Fewer than two stories: {', '.join(thin)}", style="yellow"))
    missing = data["questions_without_story"]
    if missing:
        parts.append(Text(f"{len(missing)} question(s) have no linked story, e.g.:", style="yellow"))
        for q in missing[:5]:
            parts.append(Text(f"  {q['id']}: {safe(q['question'])}"))
    return Group(*parts)


_HEAT = ("grey23", "dark_green", "green4", "green3", "bright_green")


def stats_view(data: dict) -> Group:  # type: ignore[type-arg]
    """The terminal form of ``stats.collection_stats``: heatmap, bars and tables."""
    from datetime import date as date_type

    from rich.table import Table

    parts: list = []  # type: ignore[type-arg]
    if not data["reviews"]:
        return Group(Text("Nothing to show yet: no reviews so far. Start with `srs review`."))
    parts.append(
        Text(
            f"{data['reviews']} reviews · studied {data['days_studied']} of the last 182 days · "
            f"streak {data['streak_days']} day(s) · {data['minutes_per_study_day']} min per study day",
            style="bold",
        )
    )
    # Calendar heatmap: one column per week, Monday on top.
    activity = data["activity"]
    counts = [a["reviews"] for a in activity]
    top = max(counts) or 1
    first = date_type.fromisoformat(activity[0]["date"])
    pad = first.weekday()
    cells: list[tuple[int, int] | None] = [None] * pad + [(c, i) for i, c in enumerate(counts)]
    weeks = (len(cells) + 6) // 7
    grid = Text()
    for weekday, name in enumerate("MTWTFSS"):
        grid.append(f"{name} ")
        for week in range(weeks):
            index = week * 7 + weekday
            cell = cells[index] if index < len(cells) else None
            if cell is None:
                grid.append("  ")
            else:
                level = 0 if cell[0] == 0 else 1 + min(3, int(3 * cell[0] / top))
                grid.append("■ ", style=_HEAT[level])
        grid.append("\n")
    parts.append(Text("Reviews per day, last 26 weeks", style="underline"))
    parts.append(grid)

    parts.append(Text("Due in the next 30 days", style="underline"))
    most = max((f["due"] for f in data["forecast"]), default=0) or 1
    bars = Text()
    for f in data["forecast"]:
        bars.append(f"{f['date'][5:]} ")
        bars.append("█" * max(0, round(40 * f["due"] / most)), style="cyan")
        bars.append(f" {f['due']}\n")
    parts.append(bars)

    for title, rows, key in (
        ("True retention by month (answers to review cards rated Hard or better)", data["retention_by_month"], "period"),
        ("Recall now, by deck", data["recall_by_deck"], "deck"),
        ("Recall now, by competency", data["recall_by_competency"], "label"),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column(key)
        table.add_column("cards" if key != "period" else "reviews", justify="right")
        table.add_column("%", justify="right")
        for row in rows:
            value = row.get("retention", row.get("recall"))
            table.add_row(Text(safe(str(row[key]))), str(row.get("cards", row.get("reviews"))), f"{value:.0%}")
        parts.append(table)
    return Group(*parts)


def run_mock(
    review: ReviewSession,
    questions: list,  # type: ignore[type-arg]
    console: Console,
    read_key: Callable[[], str],
    now: Callable[[], datetime],
    live_timer: bool = False,
) -> object:
    """A timed mock interview: answer aloud, see your stories, rate yourself (recorded as reviews)."""
    from srs.mock import MockAnswer, MockSummary

    summary = MockSummary()

    def key() -> str:
        try:
            return read_key() or "q"
        except (KeyboardInterrupt, EOFError):
            return "q"

    for number, question in enumerate(questions, 1):
        card = review.card(question.card_id)
        console.print()
        console.print(Text(f"Question {number} of {len(questions)}", style="bold cyan"))
        console.print(Panel(Text(safe(question.question)), title="Interviewer", title_align="left", border_style="cyan"))
        review.session.commit()
        started = now()
        if _wait(key, {" ", "\r", "\n", "q"}, _Timer(started, now), console, live_timer) == "q":
            break
        seconds = (now() - started).total_seconds()
        style = "bold yellow" if seconds > LONG_ANSWER.total_seconds() else "dim"
        console.print(Text(f"answered in {format_elapsed(now() - started)}" + ("  — over two minutes" if style != "dim" else ""), style=style))
        console.print(Panel(Text(safe(review.sides(card).back)), title="Your material", title_align="left", border_style="green"))
        console.print(Text("Rate your answer:  1 Again   2 Hard   3 Good   4 Easy   (q: stop)", style="dim"))
        review.session.commit()
        choice = _wait(key, {*RATING_KEYS, "q"}, None, console, False)
        if choice == "q":
            break
        rating = RATING_KEYS[choice]
        review.answer(card, rating, now(), int(seconds * 1000))
        review.session.commit()
        summary.answers.append(MockAnswer(question, seconds, int(rating)))

    data = summary.as_dict()
    if summary.answers:
        console.print()
        console.print(Text(f"Mock interview: {len(summary.answers)} answer(s), {format_elapsed(timedelta(seconds=data['total_seconds']))} in all.", style="bold"))  # type: ignore[arg-type]
        for a in data["answers"]:  # type: ignore[attr-defined]
            mark = "  (over two minutes)" if a["over_two_minutes"] else ""
            console.print(Text(f"  {format_elapsed(timedelta(seconds=a['seconds']))}  {RATING_LABELS[Rating(a['rating'])]:<5}  {safe(a['question'])}{mark}"))
        console.print(Text("Weakest competencies: " + ", ".join(data["weakest_competencies"])))  # type: ignore[arg-type]
        if data["without_story"]:
            console.print(Text(f"{len(data['without_story'])} question(s) had no story linked: prepare one with `srs story add`.", style="yellow"))  # type: ignore[arg-type]
    return summary


def plan_view(report: dict) -> Group:  # type: ignore[type-arg]
    from rich.table import Table

    recall = report["recall_on_the_day"]
    lines: list = [  # type: ignore[type-arg]
        Text(f"Interview {report['interview']}: {report['days_left']} day(s) left.", style="bold"),
        Text(
            f"Reviewed cards: {report['reviewed_cards']} (new: {report['new_cards']}). On the day, under today's "
            f"schedule: {recall['at_least_90_percent']} at 90%+ recall, {recall['below_70_percent']} below 70%"
            + (f", mean {recall['mean']:.0%}." if recall["mean"] is not None else ".")
        ),
    ]
    if report["daily_review_cap"]:
        lines.append(
            Text(
                f"Limit {report['max_minutes']} min a day at {report['seconds_per_review']} s per review: "
                f"at most {report['daily_review_cap']} reviews a day."
            )
        )
    table = Table(title="Workload until the interview", title_justify="left")
    for name in ("date", "reviews", "minutes"):
        table.add_column(name, justify="left" if name == "date" else "right")
    for day in report["workload"]:
        style = "yellow" if day["over_limit"] else ""
        table.add_row(day["date"], str(day["reviews"]), f"{day['minutes']:.0f}", style=style)
    lines.append(table)
    return Group(*lines)
