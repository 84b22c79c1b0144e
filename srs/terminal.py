"""Terminal presentation: formatting helpers and the interactive review loop.

This sits beside the CLI: it may use rich, and it reads keys through a
function it is given, so tests drive a whole session with a scripted list of
keys and a fake clock. Card text is always shown as plain text (never as rich
markup), with control characters removed, so an imported card cannot change
the terminal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date as date_type
from datetime import datetime, timedelta
from typing import Any

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from srs.clock import Clock
from srs.domain import Rating
from srs.errors import AnswerSentError
from srs.lint import LONG_ANSWER_SECONDS, Finding
from srs.mock import MockAnswer, MockQuestion, MockSummary
from srs.models import Card
from srs.review import Counts, Queue, ReviewSession
from srs.sanitize import one_line, shown
from srs.sanitize import printable as safe

RATING_KEYS = {"1": Rating.AGAIN, "2": Rating.HARD, "3": Rating.GOOD, "4": Rating.EASY}
RATING_LABELS = {Rating.AGAIN: "Again", Rating.HARD: "Hard", Rating.GOOD: "Good", Rating.EASY: "Easy"}
REVEAL_KEYS = {" ", "\r", "\n"}
LONG_ANSWER = timedelta(seconds=LONG_ANSWER_SECONDS)


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


def new_limit_reached(queue: Queue) -> str:
    """Why no new card comes today: the limit, how many were introduced today and where, and the way past it."""
    where = ""
    if queue.introduced_in_anki:
        here = queue.introduced - queue.introduced_in_anki
        where = f": {here} here, {queue.introduced_in_anki} in Anki (brought by an import or a sync)"
    return (
        f"The daily limit of {queue.new_limit} new card{'s' if queue.new_limit != 1 else ''} is reached "
        f"({queue.introduced} introduced today{where}); "
        f"`srs review --new-limit {queue.introduced + 10}` allows 10 more today."
    )


def describe_next_due(queue: Queue, now: datetime, clock: Clock) -> str:
    """What the session says when nothing is left to show now."""
    next_due = queue.next_due
    if next_due is None:
        if queue.new_limited:
            return f"Done for today. {new_limit_reached(queue)}"
        return "Nothing is due, and there are no cards waiting."
    local = next_due.astimezone(clock.tz)
    days = clock.day_of(next_due) - clock.today(now)
    if days <= 0:
        when = f"today at {local:%H:%M}"
    elif days == 1:
        when = f"tomorrow ({local:%a %d %b})"
    else:
        when = f"in {days} days ({local:%a %d %b})"
    extra = f" {new_limit_reached(queue)}" if queue.new_limited else ""
    return f"Nothing due now. Next card due {when}.{extra}"


@dataclass
class SessionSummary:
    answered: int = 0
    undone: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    stop_reason: str = ""


REVIEW_KEYS_HINT = "(space: show answer · e: edit story · u: undo · q: quit)"
MOCK_KEYS_HINT = "(space: done answering · u: undo the last rating · q: stop)"


class _Timer:
    """A renderable showing time since the card appeared, for rich.Live."""

    def __init__(self, started: datetime, now: Callable[[], datetime], hint: str = REVIEW_KEYS_HINT) -> None:
        self.started = started
        self.now = now
        self.hint = hint

    def __rich__(self) -> Text:
        elapsed = self.now() - self.started
        style = "bold yellow" if elapsed >= LONG_ANSWER else "dim"
        label = "  ⏱ " + format_elapsed(elapsed)
        if elapsed >= LONG_ANSWER:
            label += "  over two minutes: wrap up"
        return Text(label + "   " + self.hint, style=style)


def run_review(
    review: ReviewSession,
    console: Console,
    read_key: Callable[[], str],
    now: Callable[[], datetime],
    live_timer: bool = False,
    edit: Callable[[Card], str | Group | None] | None = None,
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
        try:
            card = review.undo(review_id, now())
        except AnswerSentError as exc:
            console.print(Text(f"Cannot undo: {exc}.", style="yellow"))
            return None
        review.checkpoint()
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
            console.print(Text(describe_next_due(queue, at, clock), style="bold"))
            summary.stop_reason = "done"
            break
        card = review.card(card_id)
        sides = review.sides(card)
        header = Text.assemble((safe(card.deck.name), "bold cyan"), "   ", counts_text(queue.counts))
        console.print()
        console.print(header)
        console.print(Panel(Text(shown(sides.front)), title="Question", title_align="left", border_style="cyan"))
        # End the read transaction before waiting for the user: a second srs
        # process may write meanwhile, and our answer must see its changes.
        review.checkpoint()
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
        console.print(Panel(Group(Text(shown(sides.back)), Text(""), timing), title="Answer", title_align="left", border_style="green"))
        console.print(buttons)
        review.checkpoint()  # hold no transaction while the user decides

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
        review.checkpoint()  # each answer is durable on its own
        answered.append((result.id, int(rating)))
        summary.answered += 1
        summary.ratings[int(rating)] += 1

    summary.seconds = (now() - started).total_seconds()
    if summary.answered or summary.undone:
        parts = ", ".join(f"{RATING_LABELS[Rating(r)]} {n}" for r, n in sorted(summary.ratings.items()) if n)
        console.print(Text(f"Reviewed {summary.answered} card(s) in {format_elapsed(timedelta(seconds=summary.seconds))}" + (f" ({parts})" if parts else "") + "."))
    return summary


def _edit(edit: Callable[[Card], str | Group | None] | None, card: Card, console: Console) -> None:
    """Run the editor behind *card* and say what came of it (a story's lint with it); the session goes on either way."""
    message = edit(card) if edit is not None else None
    if message is None:
        console.print(Text("No story behind this card to edit (link one with `srs story link`).", style="yellow"))
    elif isinstance(message, str):
        console.print(Text(safe(message), style="yellow"))
    else:
        console.print(message)


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
            console.print(Text(timer.hint, style="dim"))
        pressed = _read_until(key, accepted)
    return "\r" if pressed in REVEAL_KEYS else pressed


def _read_until(key: Callable[[], str], accepted: set[str]) -> str:
    while True:
        pressed = key()
        if pressed in accepted:
            return pressed
        if pressed.lower() in accepted:
            return pressed.lower()


def format_status(data: dict[str, Any]) -> Group:
    """The human form of ``browse.status``."""
    due = data["due"]
    totals = data["totals"]
    lines: list[RenderableType] = [
        Text.assemble(("Today ", "bold"), data["today"]),
        Text.assemble("Due now: ", counts_text(Counts(due["new"], due["learning"], due["review"]))),
        Text(
            f"Collection: {totals['cards']} cards in {totals['notes']} notes, {totals['decks']} decks; "
            f"{totals['suspended']} suspended; {totals['reviews']} reviews so far."
        ),
    ]
    if data["next_due"] and not sum(due.values()):
        lines.append(Text(f"Next card due {data['next_due']}", style="dim"))
    ahead = data.get("forecast")
    if ahead is not None:
        lines.append(Text("Due ahead: reviews and learning steps (new cards come in as the daily limit allows)", style="bold"))
        lines.append(forecast_table(ahead))
    return Group(*lines)


def forecast_table(ahead: dict[str, Any]) -> Table:
    """`srs status --days N`: one row per day, with the decks that have cards due."""
    table = Table()
    table.add_column("day")
    table.add_column("due", justify="right")
    table.add_column("by deck")
    for i, (day, total) in enumerate(zip(ahead["days"], ahead["total"])):
        label = "today" if i == 0 else "tomorrow" if i == 1 else f"{date_type.fromisoformat(day):%a %d %b}"
        parts = [f"{safe(one_line(deck))} {counts[i]}" for deck, counts in ahead["decks"].items() if counts[i]]
        table.add_row(label, str(total), " · ".join(parts) or "-")
    return table


def card_view(data: dict[str, Any]) -> Group:
    """`srs card show`: the card's sides and facts, then its answers as a table."""
    facts = [
        f"Card {data['id']} · {data['kind']} · deck {data['deck']} · note {data['note_id']} (guid {data['guid']})",
        f"State: {data['state']}" + (" (suspended)" if data["suspended"] else "") + (" (buried until tomorrow)" if data["buried"] else "")
        + (f" · due {_local(data['due'])}" if data["due"] else "")
        + (" · schedule kept from Anki" if data["schedule_from_anki"] else ""),
        "Memory: " + (
            f"stability {data['stability']:.1f} d · difficulty {data['difficulty']:.1f} · recall now {data['retrievability']:.0%}"
            if data["stability"] is not None and data["retrievability"] is not None else "none yet (new card)"
        ) + f" · {data['reps']} answers, {data['lapses']} lapses",
        f"Added {_local(data['added'])}" + (f" · edited {_local(data['edited'])}" if data["edited"] else "")
        + (f" · reset to new {_local(data['reset'])}" if data["reset"] else "")
        + (f" · tags: {' '.join(data['tags'])}" if data["tags"] else ""),
    ]
    parts: list[RenderableType] = [Text(safe(shown(line))) for line in facts]
    parts.append(Panel(Text(safe(shown(data["front"]))), title="front", title_align="left"))
    parts.append(Panel(Text(safe(shown(data["back"]))), title="back", title_align="left"))
    if not data["history"]:
        parts.append(Text("No answers yet.", style="dim"))
        return Group(*parts)
    table = Table(title="Answers", title_justify="left")
    for name in ("when", "rating", "time", "before", "after", "interval", "S", "D"):
        table.add_column(name, justify="right" if name in ("time", "interval", "S", "D") else "left")
    for row in data["history"]:
        table.add_row(
            _local(row["at"]) + ("" if row["counts"] else " *"), row["rating"], f"{row['seconds']:.0f}s", row["state_before"],
            row["state_after"], f"{row['interval_days']}d" if row["step_seconds"] is None else _step(row["step_seconds"]),
            f"{row['stability']:.1f}", f"{row['difficulty']:.1f}",
        )
    parts.append(table)
    if any(not row["counts"] for row in data["history"]):
        parts.append(Text("* before the card was reset to new: kept as history, not counted in its memory", style="dim"))
    return Group(*parts)


def _step(seconds: int) -> str:
    """A learning step as its length: `1m`, `10m`, `1h`, `1h30m` (a step is never negative, whatever the log stores)."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{max(minutes, 1)}m" if seconds >= 60 else f"{seconds}s"
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest}m" if rest else f"{hours}h"


def _due_cell(iso: str | None, state: str) -> str:
    """When a card is due, as a listing shows it: the day for a review card, the minute for a learning one."""
    if not iso:
        return "-"
    local = datetime.fromisoformat(iso).astimezone()
    return f"{local:%Y-%m-%d}" if state == "review" else f"{local:%m-%d %H:%M}"


def _local(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Column:
    """A column of a listing: its header, how important it is, and how it may shrink.

    *drop* orders what goes first when the terminal is narrow (higher goes
    first; 0 is never dropped). A *flex* column takes the width left over and
    is cut with an ellipsis; the others keep their natural width.
    """

    name: str
    drop: int = 0
    flex: bool = False
    right: bool = False
    min_width: int = 8
    keep_end: bool = False  # cut from the left (a deck's own name is at the end of its path)


def listing(header: list[Column], rows: list[list[str]], width: int) -> tuple[str, list[str]]:
    """A header line and one line per row, fitted to *width* terminal cells.

    Cells are plain text already made safe; each row stays on one line, so a
    listing of twenty thousand cards is as fast to print as its JSON. Columns
    are dropped, least important first, until the rest fits; flexible
    columns share what is left and are cut with an ellipsis.
    """

    gap = 2
    natural = [max([cell_len(c.name)] + [cell_len(r[i]) for r in rows]) for i, c in enumerate(header)]
    active = list(range(len(header)))

    def needed(columns: list[int]) -> int:
        return sum(min(natural[i], header[i].min_width) if header[i].flex else natural[i] for i in columns) + gap * (len(columns) - 1)

    while needed(active) > width:
        droppable = [i for i in active if header[i].drop > 0]
        if not droppable:
            break
        active.remove(max(droppable, key=lambda i: (header[i].drop, i)))
    widths = {i: natural[i] for i in active}
    flex = [i for i in active if header[i].flex]
    spare = width - sum(natural[i] for i in active if not header[i].flex) - gap * (len(active) - 1)
    wanted = sum(natural[i] for i in flex)
    if flex and wanted > spare:
        for i in flex:  # share what is left in proportion, never below the minimum
            widths[i] = max(min(natural[i], header[i].min_width), spare * natural[i] // max(1, wanted))
    overflow = sum(widths.values()) + gap * (len(active) - 1) - width
    for i in sorted(active, key=lambda i: -widths[i]):  # still too wide (a very narrow terminal): cut the widest
        if overflow <= 0:
            break
        cut = min(overflow, max(0, widths[i] - 4))
        widths[i] -= cut
        overflow -= cut

    def cell(text: str, i: int) -> str:
        w = widths[i]
        size = cell_len(text)
        if size > w:
            text = _cut(text[::-1], w)[::-1] if header[i].keep_end else _cut(text, w)
            size = cell_len(text)
        pad = " " * (w - size)
        return pad + text if header[i].right else text + pad

    def line(cells: list[str]) -> str:
        return (" " * gap).join(cell(cells[i], i) for i in active).rstrip()

    return line([c.name for c in header]), [line(r) for r in rows]


def _cut(text: str, width: int) -> str:
    """*text* cut to *width* cells with an ellipsis."""

    if width <= 0:
        return ""
    if text.isascii():
        return text[: width - 1] + "…"
    out, used = [], 0
    for char in text:
        size = cell_len(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


def print_listing(console: Console, header: list[Column], rows: list[list[str]]) -> None:
    """Print a ``listing`` at the console's width: the header bold, the rows as plain lines."""
    head, lines = listing(header, rows, console.width)
    console.print(Text(head, style="bold"))
    if lines:
        console.file.write("\n".join(lines) + "\n")
        console.file.flush()


CARD_COLUMNS = [
    Column("card", right=True), Column("deck", drop=3, flex=True, min_width=16, keep_end=True), Column("front", flex=True, min_width=32),
    Column("state"), Column("due", drop=2), Column("S", drop=5, right=True), Column("D", drop=5, right=True),
    Column("R", drop=1, right=True), Column("reps", drop=4, right=True), Column("lapses", drop=4, right=True),
]


def card_listing(rows: Sequence[Mapping[str, Any]]) -> None:
    """`srs cards`: one line per card, fitted to the terminal."""
    print_listing(_console(), CARD_COLUMNS, card_cells(rows))


def story_listing(rows: list[dict[str, Any]]) -> None:
    """`srs story list`: one line per story, fitted to the terminal."""
    print_listing(_console(), STORY_COLUMNS, story_cells(rows))


def _console() -> Console:
    """A console that shows text as written (the commands' own, for listings that write their lines directly)."""
    return Console(highlight=False, markup=False, emoji=False)


def card_cells(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The ``srs cards`` rows as listing cells."""
    return [
        [
            str(r["id"]), one_line(r["deck"]), one_line(r["label"]),
            r["state"] + (" (suspended)" if r["suspended"] else " (buried)" if r.get("buried") else ""), _due_cell(r["due"], r["state"]),
            "-" if r["stability"] is None else f"{r['stability']:.1f}",
            "-" if r["difficulty"] is None else f"{r['difficulty']:.1f}",
            "-" if r["retrievability"] is None else f"{r['retrievability']:.0%}",
            str(r["reps"]), str(r["lapses"]),
        ]
        for r in rows
    ]


def decks_table(rows: list[dict[str, Any]]) -> Table:

    table = Table()
    for name in ("deck", "cards", "new", "due", "suspended"):
        table.add_column(name, justify="left" if name == "deck" else "right")
    for r in rows:
        table.add_row(Text(safe(r["deck"])), str(r["cards"]), str(r["new"]), str(r["due"]), str(r["suspended"]))
    return table


def _pct(value: float | None) -> str:
    return "new" if value is None else f"{value:.0%}"


def hanging(label: Text, body: Text, indent: int = 2) -> Table:
    """*label* then *body* on one line; where *body* wraps, its lines start under its first word, not at the margin."""
    grid = Table.grid(padding=(0, 1, 0, 0))
    if indent:
        grid.add_column(width=indent - 1)  # (plus the column's one space of padding)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold", ratio=1)
    grid.add_row(*([""] if indent else []), label, body)
    return grid


def _finding(rule: str, place: str, message: str) -> Table:
    return hanging(Text.assemble((rule, "bold"), (f" [{place}]", "cyan")), Text(safe(message)))


def findings_text(findings: list[Finding]) -> Group:
    if not findings:
        return Group(Text("Lint: no findings.", style="green"))
    return Group(Text(f"Lint: {len(findings)} finding(s)", style="yellow"), *(_finding(f.rule, f.place, f.message) for f in findings))


def lint_report(report: list[dict[str, Any]]) -> Group:
    parts: list[RenderableType] = []
    for entry in report:
        header = Text.assemble((f"story {entry['id']}: ", "bold"), safe(entry["title"]), (f"  (~{entry['seconds']} s aloud)", "dim"))
        parts.append(header)
        if not entry["findings"]:
            parts.append(Text("  no findings", style="green"))
        for f in entry["findings"]:
            parts.append(_finding(f["rule"], f["place"], f["message"]))
    return Group(*parts)


STORY_COLUMNS = [
    Column("story", right=True), Column("title", flex=True, min_width=32), Column("framework", drop=3),
    Column("competencies", drop=2, flex=True, min_width=14), Column("impact", drop=4, right=True),
    Column("scope", drop=4, right=True), Column("involv.", drop=4, right=True), Column("score", drop=1, right=True),
    Column("recall", right=True), Column("links", drop=1, right=True),
]


def story_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    """The ``srs story list`` rows as listing cells."""
    return [
        [
            str(r["id"]),
            one_line(r["title"]) + (" ★" if r["favorite"] else "") + (" (draft)" if r["draft"] else ""),
            r["framework"], ", ".join(r["competencies"]) or "-",
            *(str(r[k]) if r[k] is not None else "-" for k in ("impact", "scope", "involvement")),
            f"{r['score']:.0f}", _pct(r["recall"]), str(r["linked_questions"]),
        ]
        for r in rows
    ]


def coverage_view(data: dict[str, Any]) -> Group:

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
    parts: list[RenderableType] = [table]
    if stories:
        parts.append(Text("Stories (the columns):", style="dim"))
        parts.extend(hanging(Text(f"story {s['id']}", style="dim"), Text(safe(s["title"]), style="dim")) for s in stories)
    thin = [r["label"] for r in data["competencies"] if r["too_few"]]
    if thin:
        parts.append(hanging(Text("Fewer than two stories:", style="yellow"), Text(", ".join(thin), style="yellow"), indent=0))
    missing = data["questions_without_story"]
    if missing:
        parts.append(Text(f"{len(missing)} question(s) have no linked story, e.g.:", style="yellow"))
        for q in missing[:5]:
            parts.append(hanging(Text(f"question {q['id']}:"), Text(safe(q["question"]))))
    return Group(*parts)


_HEAT = ("grey23", "dark_green", "green4", "green3", "bright_green")


def stats_view(data: dict[str, Any]) -> Group:
    """The terminal form of ``stats.collection_stats``: heatmap, bars and tables."""


    parts: list[RenderableType] = []
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
        ("True retention by week, last 12 weeks (answers to review cards rated Hard or better)", data["retention_by_week"][-12:], "period"),
        ("True retention by month", data["retention_by_month"], "period"),
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
    questions: list[MockQuestion],
    console: Console,
    read_key: Callable[[], str],
    now: Callable[[], datetime],
    live_timer: bool = False,
) -> object:
    """A timed mock interview: answer aloud, see your stories, rate yourself (recorded as reviews)."""

    summary = MockSummary()

    def key() -> str:
        try:
            return read_key() or "q"
        except (KeyboardInterrupt, EOFError):
            return "q"

    recorded: list[int] = []  # review id of each rating, for undo
    number = 0
    while number < len(questions):
        question = questions[number]
        card = review.card(question.card_id)
        console.print()
        console.print(Text(f"Question {number + 1} of {len(questions)}", style="bold cyan"))
        console.print(Panel(Text(shown(question.question)), title="Interviewer", title_align="left", border_style="cyan"))
        review.checkpoint()
        started = now()
        pressed = _wait(key, {" ", "\r", "\n", "q", "u"}, _Timer(started, now, MOCK_KEYS_HINT), console, live_timer)
        if pressed == "q":
            break
        if pressed == "u":  # take back the last rating and ask that question again
            if not recorded:
                console.print(Text("Nothing to undo yet.", style="yellow"))
                continue
            try:
                review.undo(recorded.pop(), now())
            except AnswerSentError as exc:
                console.print(Text(f"Cannot undo: {exc}.", style="yellow"))
                continue
            review.checkpoint()
            summary.answers.pop()
            number -= 1
            console.print(Text("Undid the last rating: that question again.", style="yellow"))
            continue
        seconds = (now() - started).total_seconds()
        style = "bold yellow" if seconds > LONG_ANSWER.total_seconds() else "dim"
        console.print(Text(f"answered in {format_elapsed(now() - started)}" + ("  — over two minutes" if style != "dim" else ""), style=style))
        console.print(Panel(Text(shown(review.sides(card).back)), title="Your material", title_align="left", border_style="green"))
        console.print(Text("Rate your answer:  1 Again   2 Hard   3 Good   4 Easy   (q: stop)", style="dim"))
        review.checkpoint()
        choice = _wait(key, {*RATING_KEYS, "q"}, None, console, False)
        if choice == "q":
            break
        rating = RATING_KEYS[choice]
        recorded.append(review.answer(card, rating, now(), int(seconds * 1000)).id)
        review.checkpoint()
        summary.answers.append(MockAnswer(question, seconds, int(rating)))
        number += 1

    data = summary.as_dict(review.session)
    if summary.answers:
        console.print()
        console.print(Text(f"Mock interview: {len(summary.answers)} answer(s), {format_elapsed(timedelta(seconds=data['total_seconds']))} in all.", style="bold"))
        for a in data["answers"]:
            mark = "  (over two minutes)" if a["over_two_minutes"] else ""
            console.print(Text(f"  {format_elapsed(timedelta(seconds=a['seconds']))}  {RATING_LABELS[Rating(a['rating'])]:<5}  {safe(a['question'])}{mark}"))
        weak = data["weak_competencies"]
        if not weak:
            console.print(Text("No weak competency: every answer was rated Good or Easy.", style="green"))
        for w in weak:
            line = f"Weak: {w['label']} (mean rating {w['mean_rating']:.1f})"
            story = w["story"]
            if story is not None:
                line += (f"; story {story['id']} ({safe(one_line(story['title']))}) covers it: "
                         f"srs story link {story['id']} {w['questions'][0]}")
            else:
                line += "; no story covers it yet: srs story add"
            console.print(Text(line, style="yellow"))
        if data["without_story"]:
            console.print(Text(f"{len(data['without_story'])} question(s) had no story linked: prepare one with `srs story add`.", style="yellow"))
    return summary


PLAN_TABLE_DAYS = 30  # days shown one per row; the rest are summed


def plan_view(report: dict[str, Any]) -> Group:
    """`srs plan`: the goal's numbers, what does not fit, and the days ahead (the first 30, then a summary)."""
    if report["interview"] is None:
        return Group(Text(f"No interview date set: `{report['set_with']}` sets one, and srs aims the schedule at it."))
    if report["ended"]:
        ago = -report["days_left"]
        return Group(
            Text(f"Interview {report['interview']}: {ago} day{'s' if ago != 1 else ''} ago. The plan has ended.", style="bold"),
            Text("Scheduling is plain FSRS again, with no daily budget. Aim at the next interview with srs plan --interview "
                 "YYYY-MM-DD, or drop this one with srs plan --clear."),
        )
    recall = report["recall_on_the_day"]
    later = report["recall_two_weeks_later"]["mean"]
    lines: list[RenderableType] = [
        Text(f"Interview {report['interview']}: {report['days_left']} day(s) left.", style="bold"),
        Text(
            f"Cards: {report['reviewed_cards']} studied, {report['new_cards']} new. Following this plan, on the interview "
            f"morning: {recall['at_least_90_percent']} at 90%+ recall, {recall['below_70_percent']} below 70%"
            + (f" ({report['left_out']['cards']} never seen)" if report["left_out"]["cards"] else "")
            + (f", mean {recall['mean']:.0%}" if recall["mean"] is not None else "")
            + (f"; two weeks later, mean {later:.0%}." if later is not None else ".")
        ),
        Text(f"{report['seconds_per_answer']} s per answer, from {report['seconds_per_answer_from']}."),
    ]
    missing = [name for name, state in report["competencies"].items() if state != "ready"]
    if missing:
        lines.append(Text(
            f"Competencies without a story at 90%+ on the day: {', '.join(missing[:6])}" + (" ..." if len(missing) > 6 else "")
            + " (srs coverage shows which stories cover what).", style="yellow",
        ))
    left = report["left_out"]
    if report["max_minutes"]:
        lines.append(Text(f"Budget: {report['max_minutes']} min a day, about {report['daily_review_cap']} answers."))
    late = report["new_in_last_days"]
    if report["reachable"] and not late:
        lines.append(Text("Every card fits: each new card comes in before the last three days.", style="green"))
    elif report["reachable"]:
        lines.append(Text(
            f"Every card is seen before the interview, but {late} new card{'s' if late != 1 else ''} only in the last three "
            "days: the budget leaves no room for them earlier.", style="yellow",
        ))
    else:
        where = ", ".join(f"{safe(one_line(d))} {n}" for d, n in sorted(left["by_deck"].items())) or "-"
        lines.append(Text(
            f"Does not fit: {left['cards']} new cards ({where}) never come in, and {left['deferred_reviews']} cards are still "
            f"overdue on the day; about {left['more_minutes_a_day']:.0f} more minutes a day would cover them.", style="yellow",
        ))
    table = Table(title="Day by day (answering Good; new cards first when there is room)", title_justify="left")
    for name in ("date", "new", "reviews", "minutes"):
        table.add_column(name, justify="left" if name == "date" else "right")
    days = report["workload"]
    for day in days[:PLAN_TABLE_DAYS]:
        style = "yellow" if day["over_limit"] else ""
        table.add_row(day["date"], str(day["new"]), str(day["reviews"]), f"{day['minutes']:.0f}", style=style)
    rest = days[PLAN_TABLE_DAYS:]
    if rest:
        table.add_row(
            f"{rest[0]['date']} … {rest[-1]['date']} ({len(rest)} days)", str(sum(d["new"] for d in rest)),
            str(sum(d["reviews"] for d in rest)), f"{sum(d['minutes'] for d in rest):.0f}", style="dim",
        )
    lines.append(table)
    return Group(*lines)


def sync_view(data: dict[str, Any]) -> Text:
    """`srs sync status`."""
    if not data["logged_in"]:
        return Text("Not logged in: srs sync login --endpoint URL [--user NAME]")
    lines = [f"Syncs with {data['endpoint']} as {data['username']}."]
    lines.append(f"Last sync: {_local(data['last_sync'])}." if data["last_sync"] else "Never synced yet: srs sync does the first one.")
    lines.append(f"To send: {data['answers_to_send']} answers" + (
        f", {data['notes_changed_since']} notes changed since the last sync." if data["notes_changed_since"] is not None else "."
    ))
    return Text(safe("\n".join(lines)))


def eval_view(data: dict[str, Any]) -> Group:
    """`srs eval`: the three models side by side, with intervals."""
    if not data["enough_history"]:
        return Group(Text(data["message"]))
    aside = sum(data["set_aside"].values())
    table = Table(
        title=f"{data['scored']} of your {data['answers']} answers predicted ({data['folds']}-fold time-series split; "
        f"{aside} set aside by the benchmark's outlier rules)", title_justify="left",
    )
    for name in ("model", "log loss", "RMSE(bins)", "AUC"):
        table.add_column(name, justify="left" if name == "model" else "right")

    def cell(row: dict[str, Any], key: str) -> str:
        value = row[key]
        if value is None:
            return "-"
        low, high = row["ci95"].get(key, (value, value))
        return f"{value:.3f} ({low:.3f}–{high:.3f})"

    for row in data["rows"]:
        table.add_row(row["model"], cell(row, "log_loss"), cell(row, "rmse_bins"), cell(row, "auc"))
    note = Text("Lower log loss and RMSE(bins) are better, higher AUC is better; brackets are 95% bootstrap intervals.", style="dim")
    return Group(table, note)
