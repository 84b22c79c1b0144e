"""Benchmark of `srs import` against Anki's own importer on the same package.

The package is written by the official `anki` library: the spine collection
(20,000 notes, 200,000 reviews) exported by srs, imported into Anki, and
exported again by Anki in its current format. In the same run, that package
is imported into an empty srs collection and into an empty Anki collection.
Medians of several runs; peak memory from whole-process runs; and one run
timed phase by phase.
"""

from __future__ import annotations

import functools
import os
import shutil
import statistics
import time
from pathlib import Path

from bench.common import (
    OUT,
    anki_collection,
    anki_export,
    anki_import,
    phase_table,
    python,
    realistic_notes,
    wall_and_peak,
)
from bench.spine import NOW, ensure_collection

RUNS = 5
_MERGE = "merge with held answers, build the review rows"

_ANKI_IMPORT = """
import sys
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
col = Collection(sys.argv[1])
col.set_config("fsrs", True)
col.import_anki_package(ImportAnkiPackageRequest(package_path=sys.argv[2],
    options=ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True)))
col.close()
"""


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    return path


def _make_package(work: Path) -> Path:
    from srs.anki.export import export_package
    from srs.db import open_database

    ours = work / "srs.apkg"
    db = open_database(ensure_collection())
    with db.session() as session:
        export_package(session, ours, NOW, force=True)
    db.close()
    col = anki_collection(work / "source" / "collection.anki2")
    anki_import(col, ours)
    realistic_notes(col)  # HTML in every field, pictures, sounds, Cloze notes, a one-step preset
    package = work / "anki.apkg"
    anki_export(col, package, media=True)
    col.close()
    return package


def _srs_in_process(package: Path, db_path: Path, timings: dict[str, float] | None = None) -> float:
    from srs import scheduler
    from srs.anki import import_
    from srs.db import open_database
    from srs.settings import set_setting

    db = open_database(_fresh(db_path))
    with db.session(write=True) as session:
        set_setting(session, "timezone", "Europe/Berlin")
        set_setting(session, "builtin_decks_hash", "skip")
        session.commit()
    originals = []
    if timings is not None:
        for module, name, label in (
            (import_, "read_package", "read the package (unzip, zstd, SQLite)"),
            (import_, "answers_for_fsrs", "choose the answers FSRS learns from"),
            (scheduler.Scheduler, "replay_batch", "replay every card's history (FSRS, batched)"),
            (import_, "_merge_reviews", _MERGE),
            (import_, "_write_rows", "write cards and review rows, rebuild the review indexes"),
        ):
            original = getattr(module, name)
            originals.append((module, name, original))

            def wrapper(*args, _original=original, _label=label, **kwargs):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    timings[_label] = timings.get(_label, 0.0) + time.perf_counter() - start

            setattr(module, name, functools.wraps(original)(wrapper))
    try:
        with db.session(write=True) as session:
            start = time.perf_counter()
            import_.import_package(session, package, NOW)
            session.commit()
            elapsed = time.perf_counter() - start
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
        db.close()
    return elapsed


def _replay_comparison(db_path: Path) -> dict[str, float]:
    """The replay alone, three ways, on the imported histories (same run).

    srs's batch replay (every answer's full state: memory, learning steps,
    fuzzed interval, due time); fsrs-rs-python's ``memory_state_batch``
    (final memory states only, float32, Rust); and srs's one-answer path
    (``Scheduler.review``, the same kernel on one card), timed on the first
    cards and given per answer, since all 200,000 answers would take minutes.
    """
    from datetime import datetime, timezone

    import fsrs_rs_python as rs
    import numpy as np

    from srs.db import open_database
    from srs.scheduler import NEW
    from srs.settings import Schedulers, clock_for

    db = open_database(db_path)
    with db.session() as session:
        clock = clock_for(session)
        deck_id = session.connection().exec_driver_sql("SELECT deck_id FROM cards LIMIT 1").scalar()
        scheduler = Schedulers(session, clock).for_card_in(deck_id)
        rows = np.array(
            session.connection().exec_driver_sql("SELECT card_id, reviewed_at, rating FROM reviews ORDER BY card_id, reviewed_at").all(),
            dtype=np.int64,
        )
    db.close()
    card, at, rating = rows[:, 0], rows[:, 1], rows[:, 2]
    first = np.flatnonzero(np.r_[True, card[1:] != card[:-1]])
    bounds = np.r_[first, len(card)]
    batch = statistics.median(
        _timed(lambda: scheduler.replay_batch(card[first], bounds, rating, at)) for _ in range(RUNS)
    )
    days = clock.days_of_ms(at)
    delta = np.where(np.isin(np.arange(len(card)), first), 0, days - np.r_[0, days[:-1]])
    items = [
        rs.FSRSItem([rs.FSRSReview(int(g), int(t)) for g, t in zip(rating[a:b], delta[a:b])])
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    model = rs.FSRS(list(scheduler.parameters))
    rust = statistics.median(_timed(lambda: model.memory_state_batch(items)) for _ in range(RUNS))
    sample = bounds[min(1000, len(first))]

    def one_by_one() -> None:
        for i in range(min(1000, len(first))):
            memory = NEW
            for j in range(bounds[i], bounds[i + 1]):
                memory = scheduler.review(memory, int(rating[j]), datetime.fromtimestamp(at[j] / 1000, timezone.utc), int(card[i]))

    single = float(statistics.median(_timed(one_by_one) for _ in range(3)) / sample)
    return {"answers": float(len(card)), "batch_s": batch, "rust_s": rust, "single_per_answer_s": single, "single_sample": float(sample)}


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run() -> dict[str, object]:
    work = OUT / "import"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    package = _make_package(work)

    def anki_in_process() -> float:
        folder = work / f"anki-{time.perf_counter_ns()}"
        col = anki_collection(folder / "collection.anki2")
        start = time.perf_counter()
        anki_import(col, package)
        elapsed = time.perf_counter() - start
        col.close()
        shutil.rmtree(folder)
        return elapsed

    srs_runs = [_srs_in_process(package, work / "srs.db") for _ in range(RUNS)]
    anki_runs = [anki_in_process() for _ in range(RUNS)]
    env = {**os.environ, "SRS_DB": str(work / "cli.db")}
    srs_proc, anki_proc = [], []
    for _ in range(RUNS):
        _fresh(work / "cli.db")
        srs_proc.append(wall_and_peak([python(), "-m", "srs", "--now", NOW.isoformat(), "import", str(package)], env))
        folder = work / f"anki-cli-{time.perf_counter_ns()}"
        folder.mkdir()
        anki_proc.append(wall_and_peak([python(), "-c", _ANKI_IMPORT, str(folder / "collection.anki2"), str(package)], env))
    phases: dict[str, float] = {}
    total = _srs_in_process(package, work / "srs.db", phases)
    # _merge_reviews contains the two phases before it: keep only its own part
    phases[_MERGE] -= phases["choose the answers FSRS learns from"] + phases["replay every card's history (FSRS, batched)"]
    phases["notes and cards: match, render, insert notes; commit (the rest)"] = total - sum(phases.values())
    phases["total"] = total
    replay = _replay_comparison(work / "srs.db")
    med = statistics.median
    return {
        "runs": RUNS,
        "package_mb": package.stat().st_size / 1e6,
        "srs_in_process_s": med(srs_runs),
        "anki_in_process_s": med(anki_runs),
        "srs_process_s": med(w for w, _ in srs_proc),
        "srs_peak_mib": max(m for _, m in srs_proc),
        "anki_process_s": med(w for w, _ in anki_proc),
        "anki_peak_mib": max(m for _, m in anki_proc),
        "phases": phases,
        "replay": replay,
    }


def report(r: dict[str, object]) -> str:
    def f(key: str) -> float:
        return float(r[key])  # type: ignore[arg-type]

    ratio = f("srs_in_process_s") / f("anki_in_process_s")
    whole = f("srs_process_s") / f("anki_in_process_s")
    lines = [
        "## Import from Anki (`bench/anki_import.py`)",
        "",
        f"A {f('package_mb'):.1f} MB package written by the anki library, with notes like real ones: 20,000 Basic notes",
        "whose fields hold the HTML Anki's editor writes (bold, italics, `<br>`, `<div>`, `&nbsp;`, lists, spans), one in",
        "25 with a picture and one in 50 with a sound (1,200 media files), 1,000 Cloze notes (3,000 cards), 200,000",
        "reviews, one preset with a single learning step and one with Anki's two (`bench.common.realistic_notes`).",
        f"Imported into an empty collection by each side. Median of {r['runs']} runs each, in the same run.",
        "",
        "| importer | median (s) | ratio srs / Anki | peak memory (MiB) |",
        "|---|---:|---:|---:|",
        f"| srs `import_package` (in-process) | {f('srs_in_process_s'):.2f} | {ratio:.2f} | |",
        f"| Anki `import_anki_package` (in-process) | {f('anki_in_process_s'):.2f} | | |",
        f"| `srs import` (whole process) | {f('srs_process_s'):.2f} | {f('srs_process_s') / f('anki_process_s'):.2f} | {f('srs_peak_mib'):.0f} |",
        f"| Python process importing with the anki library | {f('anki_process_s'):.2f} | | {f('anki_peak_mib'):.0f} |",
        "",
        f"The whole `srs import` process against Anki's in-process call: **{whole:.2f}×** "
        f"(target ≤ 1.5×, goal 1.0×: {'met' if whole <= 1.5 else '**not met**'}).",
    ]
    phases = r["phases"]
    assert isinstance(phases, dict)
    lines += phase_table(phases)
    rp = r["replay"]
    assert isinstance(rp, dict)
    lines += [
        "",
        f"The replay alone, on the same {rp['answers']:,.0f} answers (median of {r['runs']}):",
        "",
        "| replay | seconds |",
        "|---|---:|",
        f"| srs `Scheduler.replay_batch` (NumPy; every answer's state, steps, fuzz, due) | {rp['batch_s']:.3f} |",
        f"| fsrs-rs-python `memory_state_batch` (Rust, float32; final memory states only) | {rp['rust_s']:.3f} |",
        f"| srs answer by answer, `Scheduler.review` (the same kernel, one card at a time; timed on {rp['single_sample']:,.0f} answers, "
        f"{rp['single_per_answer_s'] * 1e6:.0f} µs each), all answers | {rp['single_per_answer_s'] * rp['answers']:.1f} |",
    ]
    verdict = "met" if ratio <= 2 else "**not met**"
    lines.append(
        f"\nEarlier target, in-process: no slower than 2× Anki's Rust importer — {verdict} ({ratio:.2f}×). "
        "The replay runs all cards at once on NumPy arrays, through the same FSRS-6 kernel as answering one card "
        "(a property test checks the two agree to the last bit), so it costs a fraction of a second. The rest is "
        "turning each note's HTML into the text srs shows (every field and both sides of every card: about 90,000 "
        "conversions, through a one-substitution fast path since this stop; a profile put 2.85 of 5.3 s there "
        "before), SQLite's inserts of 200,000 review rows, and the process itself: Python's start-up, SQLAlchemy, "
        "the first-use build of the built-in decks and 1,200 media files written."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
