"""Benchmark of the everyday commands on a large collection.

Generates a collection of 20,000 cards and 200,000 reviews (10 per card over
the past year, produced by the real scheduler), then measures, as medians of
several runs:

* wall time of `srs status` and `srs cards --due --json` (fresh processes);
* the time from a rating key to the next card being shown in `srs review`
  (in-process, through the real session loop);
* beside them, the interpreter start-up floor: `python -c "import sqlalchemy.orm"`,
  so the figures can be read as a ratio on a noisy shared machine.
"""

from __future__ import annotations

import io
import os
import random
import sqlite3
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.common import OUT, median_of, python, wall

CARDS = 20_000
REVIEWS_PER_CARD = 10
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
RUNS = 7
# Bump when generate() or the schema changes, so a cached collection is rebuilt.
GENERATOR_VERSION = "5"


def generate(path: Path) -> None:
    """Write the benchmark collection (deterministic: seeded)."""
    from srs.db import open_database
    from srs.decks import get_or_create_deck
    from srs.domain import CardState, to_ms
    from srs.scheduler import NEW, Scheduler, anki_interval
    from srs.settings import clock_for, default_preset, set_setting

    if path.exists():
        path.unlink()
    db = open_database(path)
    with db.session(write=True) as session:
        set_setting(session, "timezone", "Europe/Berlin")
        set_setting(session, "builtin_decks_hash", "skip")  # only the generated decks
        decks = [get_or_create_deck(session, f"Bench::Deck {i}", NOW).id for i in range(10)]
        # Cap intervals at half a year so ten answers span months, not centuries.
        default_preset(session).maximum_interval = 180
        scheduler = Scheduler.from_preset(default_preset(session), clock_for(session))
        session.commit()
    db.close()

    conn = sqlite3.connect(path)
    notes, cards, reviews = [], [], []
    used_times: set[int] = set()
    clock = scheduler.clock
    now_ms = to_ms(NOW)
    review_id = 0

    def simulate(card_id: int, start: datetime):  # type: ignore[no-untyped-def]
        """Exactly REVIEWS_PER_CARD answers from *start*; the card's own seed fixes them."""
        rng = random.Random(card_id)
        memory, at, log = NEW, start, []
        for _ in range(REVIEWS_PER_CARD):
            rating = rng.choices([1, 2, 3, 4], weights=[10, 10, 70, 10])[0]
            before = memory
            memory = scheduler.review(memory, rating, at, card_id)
            log.append((at, rating, rng.randrange(2000, 90000), before, memory))
            # the card's id as milliseconds keeps cards answered "at the same time" apart
            if memory.state == CardState.REVIEW:
                # reviewed around its due date, at a random hour
                at = memory.due + timedelta(days=rng.choice([0, 0, 0, 1, 2]), hours=rng.randrange(0, 18), milliseconds=card_id)
            else:
                at = memory.due + timedelta(seconds=rng.randrange(0, 300), milliseconds=card_id)
        return memory, log

    for i in range(CARDS):
        card_id = i + 1
        notes.append((card_id, f"bench{card_id:08d}", "question", f'{{"Question": "Benchmark question {card_id}?", "Competency": "Impact"}}', '["impact"]', "bench", None, 0, now_ms, now_ms))
        # Place the history so that its last answer falls in the last weeks:
        # simulate once to learn its span, then again from the right start.
        probe_start = NOW - timedelta(days=3000)
        _, probe = simulate(card_id, probe_start)
        span = probe[-1][0] - probe_start
        start = NOW - span - timedelta(days=1 + card_id % 30)
        memory, log = simulate(card_id, start)
        while log[-1][0] >= NOW:  # a DST hour can shift a day: move back and retry
            start -= timedelta(days=1)
            memory, log = simulate(card_id, start)
        last_interval = 0
        for at, rating, duration, before, after in log:
            review_id += 1
            at_ms = to_ms(at)
            while at_ms in used_times:  # review times are unique, as in srs (rare: move on 1 ms)
                at_ms += 1
            used_times.add(at_ms)
            interval = anki_interval(clock, int(after.state), to_ms(after.due), at_ms)
            reviews.append((review_id, card_id, at_ms, rating, duration, int(before.state), int(after.state), after.step, after.stability, after.difficulty, to_ms(after.due), interval, last_interval))
            last_interval = interval
        cards.append((card_id, card_id, 0, decks[i % 10], int(memory.state), memory.step, memory.stability, memory.difficulty, to_ms(memory.due), to_ms(memory.last_review), memory.reps, memory.lapses, 0, i, now_ms, now_ms))
    conn.executemany(
        "INSERT INTO notes (id, guid, kind, fields, tags, source, source_key, orphaned, created, modified) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        notes,
    )
    conn.executemany(
        "INSERT INTO cards (id, note_id, ord, deck_id, state, step, stability, difficulty, due, last_review, reps, "
        "lapses, suspended, position, created, modified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        cards,
    )
    conn.executemany(
        "INSERT INTO reviews (id, card_id, reviewed_at, rating, duration_ms, prev_state, state, step, stability, "
        "difficulty, due, interval, last_interval) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        reviews,
    )
    conn.commit()
    conn.close()


def rating_to_next_card(path: Path, answers: int = 60) -> list[float]:
    """Seconds from each rating key to the moment the next card waits for a key."""
    from rich.console import Console

    from srs.db import open_database
    from srs.review import Limits, ReviewSession
    from srs.terminal import run_review

    db = open_database(path)
    gaps: list[float] = []
    keys = iter((" 3" * answers) + "q")
    state = {"rated_at": None}
    clock_now = [NOW]

    def read_key() -> str:
        now = time.perf_counter()
        if state["rated_at"] is not None:
            gaps.append(now - state["rated_at"])
            state["rated_at"] = None
        key = next(keys, "q")
        if key == "3":
            state["rated_at"] = time.perf_counter()
        clock_now[0] += timedelta(seconds=5)
        return key

    with db.session(write=True) as session:
        run_review(ReviewSession(session, Limits(10, 10_000)), Console(file=io.StringIO(), width=100), read_key, lambda: clock_now[0])
    db.close()
    return gaps


def ensure_collection() -> Path:
    """The benchmark collection, generated once and reused while the generator is unchanged."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "spine.db"
    stamp = OUT / "spine.version"
    if not (path.exists() and stamp.exists() and stamp.read_text() == GENERATOR_VERSION):
        generate(path)  # slow (minutes)
        stamp.write_text(GENERATOR_VERSION)
    return path


def before_and_after(path: Path, ref: str, runs: int = 15) -> dict[str, object]:
    """`srs status` and `srs status --json` of this tree against the commit *ref*, alternating, medians.

    The commit is checked out in a temporary git worktree and run from there
    (python -m srs picks up the srs beside the working directory), on the same
    collection, so start-up is compared in one run on one noisy machine.
    """
    import subprocess
    import tempfile

    from bench.common import ROOT

    results: dict[str, object] = {"ref": ref}
    with tempfile.TemporaryDirectory(prefix="srs-before-") as folder:
        before = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), ref], check=True, capture_output=True)
        try:
            for label, extra in (("status", []), ("status_json", ["--json"])):
                samples: dict[str, list[float]] = {"before": [], "after": []}
                for i in range(runs):
                    order = (("before", before), ("after", ROOT)) if i % 2 == 0 else (("after", ROOT), ("before", before))
                    for side, tree in order:
                        start = time.perf_counter()
                        subprocess.run(
                            [python(), "-m", "srs", "--db", str(path), "--now", NOW.isoformat(), "status", *extra],
                            cwd=tree, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        )
                        samples[side].append(time.perf_counter() - start)
                results[label] = {side: statistics.median(values) for side, values in samples.items()}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False, capture_output=True)
    return results


# `is:due` lists the same cards as --due; the other reads every note's text and computes recall in SQL.
SEARCHES = ("is:due", "tell* or prop:r<0.85")


def run() -> dict[str, object]:
    t0 = time.perf_counter()
    path = ensure_collection()
    generated_in = time.perf_counter() - t0
    conn = sqlite3.connect(path)
    counts = conn.execute("SELECT (SELECT count(*) FROM cards), (SELECT count(*) FROM reviews)").fetchone()
    conn.close()

    env = {**os.environ, "SRS_DB": str(path)}
    srs = [python(), "-m", "srs", "--now", NOW.isoformat()]
    wall(srs + ["status"], env)  # warm the page cache
    floor, floor_runs = median_of(RUNS, lambda: wall([python(), "-c", "import sqlalchemy.orm"], env))
    bare, _ = median_of(RUNS, lambda: wall([python(), "-c", "pass"], env))
    status, status_runs = median_of(RUNS, lambda: wall(srs + ["status"], env))
    due, due_runs = median_of(RUNS, lambda: wall(srs + ["cards", "--due", "--json"], env))
    # searches, against the listing of due cards they replace: the same cards, then text and recall over every note
    searched = {
        query: median_of(RUNS, lambda q=query: wall(srs + ["cards", "--search", q, "--json"], env))
        for query in SEARCHES
    }
    # every card: the table a person reads (80 columns) against the JSON a script reads
    narrow = {**env, "COLUMNS": "80"}
    all_json, all_json_runs = median_of(RUNS, lambda: wall(srs + ["cards", "--json"], narrow))
    table, table_runs = median_of(RUNS, lambda: wall(srs + ["cards"], narrow))
    scratch = OUT / "review-scratch.db"  # answering adds reviews: keep the cached collection as generated
    scratch.unlink(missing_ok=True)
    source, target = sqlite3.connect(path), sqlite3.connect(scratch)
    source.backup(target)
    source.close()
    target.close()
    gaps = rating_to_next_card(scratch)
    baseline = os.environ.get("SRS_BENCH_BEFORE")  # a git ref: compare start-up against it
    return {
        "before_and_after": before_and_after(path, baseline) if baseline else None,
        "cards": counts[0],
        "reviews": counts[1],
        "generated_in_s": round(generated_in, 1),
        "python_bare_s": bare,
        "import_sqlalchemy_orm_s": floor,
        "status_s": status,
        "cards_due_json_s": due,
        "cards_json_s": all_json,
        "cards_table_s": table,
        "searches_s": {query: value for query, (value, _) in searched.items()},
        "rating_to_next_card_median_s": statistics.median(gaps),
        "rating_to_next_card_p90_s": sorted(gaps)[int(len(gaps) * 0.9)],
        "runs": RUNS,
        "samples": {
            "import": floor_runs, "status": status_runs, "cards_due": due_runs, "cards_json": all_json_runs, "cards_table": table_runs,
            **{f"search {query}": runs for query, (_, runs) in searched.items()},
        },
    }


def report(result: dict[str, object]) -> str:
    floor = float(result["import_sqlalchemy_orm_s"])  # type: ignore[arg-type]
    rows = [
        ("`python -c pass`", float(result["python_bare_s"])),  # type: ignore[arg-type]
        ('`python -c "import sqlalchemy.orm"` (floor)', floor),
        ("`srs status`", float(result["status_s"])),  # type: ignore[arg-type]
        ("`srs cards --due --json`", float(result["cards_due_json_s"])),  # type: ignore[arg-type]
        ("`srs cards --json` (every card)", float(result.get("cards_json_s", 0))),  # type: ignore[arg-type]
        ("`srs cards` (every card, table at 80 columns)", float(result.get("cards_table_s", 0))),  # type: ignore[arg-type]
        ("rating key → next card in `srs review` (in-process)", float(result["rating_to_next_card_median_s"])),  # type: ignore[arg-type]
    ]
    lines = [
        "## Everyday commands on a large collection (`bench/spine.py`)",
        "",
        f"Collection: {result['cards']:,} cards, {result['reviews']:,} reviews, generated by the real scheduler "
        f"(cached in bench/out between runs). Median of {result['runs']} runs; ratio = time / import-floor.",
        "",
        "| what | median (s) | ratio to floor |",
        "|---|---:|---:|",
    ]
    for name, value in rows:
        lines.append(f"| {name} | {value:.3f} | {value / floor:.2f} |")
    lines.append(
        f"\nRating key → next card, 90th percentile: {float(result['rating_to_next_card_p90_s']):.3f} s."  # type: ignore[arg-type]
    )
    compared = result.get("before_and_after")
    if isinstance(compared, dict):
        lines.append(f"\nStart-up against commit `{compared['ref']}` (same collection, alternating runs, medians of 15):\n")
        lines.append("| command | before (s) | after (s) | after / before |")
        lines.append("|---|---:|---:|---:|")
        for label, name in (("status", "`srs status`"), ("status_json", "`srs status --json`")):
            b, a = compared[label]["before"], compared[label]["after"]
            lines.append(f"| {name} | {b:.3f} | {a:.3f} | {a / b:.2f} |")
    searches = result.get("searches_s")
    if isinstance(searches, dict) and searches:
        due = float(result["cards_due_json_s"])  # type: ignore[arg-type]
        lines.append("\n`srs cards --search QUERY --json` against `srs cards --due --json` (target: at most 1.5×):\n")
        lines.append("| query | median (s) | ratio to `cards --due --json` |")
        lines.append("|---|---:|---:|")
        for query, value in searches.items():
            lines.append(f"| `{query}` | {value:.3f} | {value / due:.2f} |")
        lines.append("")
    if result.get("cards_json_s"):
        lines.append(
            f"`srs cards` as a table takes {float(result['cards_table_s']) / float(result['cards_json_s']):.2f}× "  # type: ignore[arg-type]
            "the time of `srs cards --json` on the same cards (target: at most 1.5×)."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
