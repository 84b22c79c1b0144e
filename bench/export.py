"""Benchmark of `srs export` against Anki's own exporter on the same content.

Uses notes like real ones: the import benchmark's package (the spine collection's 20,000
notes and 200,000 reviews made to look like a real user's by the anki library:
HTML, Cloze, pictures, sounds) imported into srs. In the
same run it imports our package into a fresh Anki collection with the
official `anki` library (untimed setup) and times Anki's Rust exporter,
`export_anki_package`, on that content. Figures are medians of several runs:

* in-process: our `export_package` against Anki's `export_anki_package`
  (legacy format, the one we write, and Anki's current format);
* whole process: `srs export` on the command line against a Python process
  that opens the Anki collection and exports it, with peak memory;
* where our time goes: one run timed phase by phase.
"""

from __future__ import annotations

import functools
import os
import shutil
import statistics
import time
import zipfile
from pathlib import Path

from bench.common import (
    OUT,
    anki_collection,
    anki_export,
    anki_import,
    phase_table,
    python,
    wall_and_peak,
)
from bench.spine import NOW

RUNS = 5

_ANKI_EXPORT = """
import sys, time
from anki.collection import Collection, ExportAnkiPackageOptions
col = Collection(sys.argv[1])
t = time.perf_counter()
col.export_anki_package(out_path=sys.argv[2], options=ExportAnkiPackageOptions(
    with_scheduling=True, with_deck_configs=True, with_media=False, legacy=sys.argv[3] == "legacy"), limit=None)
col.close()
"""


def _srs_in_process(db_path: Path, out: Path) -> float:
    from srs.anki.export import export_package
    from srs.db import open_database

    db = open_database(db_path)
    try:
        with db.session() as session:
            start = time.perf_counter()
            export_package(session, out, NOW, force=True)
            return time.perf_counter() - start
    finally:
        db.close()


def _phases(db_path: Path, out: Path) -> dict[str, float]:
    """One export with its phases timed (wrapping the exporter's functions)."""
    import srs.anki.export as ex

    timings: dict[str, float] = {}
    originals = {}

    def timed(name: str, label: str) -> None:
        original = getattr(ex, name)
        originals[name] = original

        @functools.wraps(original)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timings[label] = timings.get(label, 0.0) + time.perf_counter() - start

        setattr(ex, name, wrapper)

    timed("select_cards", "read cards and notes")
    timed("_note_fields", "render note fields")
    timed("_card_row", "cards in Anki's terms")
    timed("_write_revlog", "copy the review log (SQL)")
    original_write = zipfile.ZipFile.write

    def zip_write(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return original_write(self, *args, **kwargs)
        finally:
            timings["compress into the .apkg"] = timings.get("compress into the .apkg", 0.0) + time.perf_counter() - start

    zipfile.ZipFile.write = zip_write  # type: ignore[method-assign]
    try:
        total = _srs_in_process(db_path, out)
    finally:
        zipfile.ZipFile.write = original_write  # type: ignore[method-assign]
        for name, original in originals.items():
            setattr(ex, name, original)
    timings["other (genanki skeleton, note and card inserts)"] = total - sum(timings.values())
    timings["total"] = total
    return timings


def _realistic_collection(work: Path) -> Path:
    """An srs collection holding notes like real ones: the import benchmark's package (written by the anki library:
    HTML fields, Cloze, pictures and sounds, two presets) imported into a fresh srs database, without its media
    files (Anki's exporter below packs none either)."""
    from bench.anki_import import _make_package
    from srs.anki.import_ import import_package
    from srs.db import open_database

    (work / "source").mkdir(parents=True)
    package = _make_package(work / "source")
    db_path = work / "realistic.db"
    db = open_database(db_path)
    try:
        with db.session(write=True) as session:
            import_package(session, package, NOW)
            session.commit()
    finally:
        db.close()
    return db_path


def run() -> dict[str, object]:
    work = OUT / "export"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db_path = _realistic_collection(work)
    ours = work / "srs.apkg"
    _srs_in_process(db_path, ours)  # warm up, and the package Anki imports

    col_path = work / "anki" / "collection.anki2"
    col = anki_collection(col_path)
    anki_import(col, ours)
    notes, revlog = col.note_count(), col.db.scalar("select count() from revlog")

    def anki_in_process(legacy: bool) -> float:
        start = time.perf_counter()
        anki_export(col, work / f"anki-{legacy}.apkg", legacy)
        return time.perf_counter() - start

    srs_runs = [_srs_in_process(db_path, ours) for _ in range(RUNS)]
    anki_legacy = [anki_in_process(True) for _ in range(RUNS)]
    anki_current = [anki_in_process(False) for _ in range(RUNS)]
    col.close()

    env = {**os.environ, "SRS_DB": str(db_path)}
    srs_cli = [python(), "-m", "srs", "--now", NOW.isoformat(), "export", str(ours), "--force"]
    anki_cli = [python(), "-c", _ANKI_EXPORT, str(col_path), str(work / "anki-cli.apkg"), "legacy"]
    srs_proc = [wall_and_peak(srs_cli, env) for _ in range(RUNS)]
    anki_proc = [wall_and_peak(anki_cli, env) for _ in range(RUNS)]
    phases = _phases(db_path, ours)
    med = statistics.median
    return {
        "notes": notes,
        "reviews": revlog,
        "runs": RUNS,
        "srs_in_process_s": med(srs_runs),
        "anki_legacy_in_process_s": med(anki_legacy),
        "anki_current_in_process_s": med(anki_current),
        "srs_process_s": med(w for w, _ in srs_proc),
        "srs_peak_mib": max(m for _, m in srs_proc),
        "anki_process_s": med(w for w, _ in anki_proc),
        "anki_peak_mib": max(m for _, m in anki_proc),
        "srs_size_mb": ours.stat().st_size / 1e6,
        "anki_size_mb": (work / "anki-True.apkg").stat().st_size / 1e6,
        "phases": phases,
        "samples": {"srs": srs_runs, "anki_legacy": anki_legacy},
    }


def report(r: dict[str, object]) -> str:
    def f(key: str) -> float:
        return float(r[key])  # type: ignore[arg-type]

    lines = [
        "## Export to Anki (`bench/export.py`)",
        "",
        f"{int(r['notes']):,} notes, {int(r['reviews']):,} reviews: the import benchmark's package (written by the anki library:",
        "HTML in every field, Cloze, pictures and sounds, a one-step preset) imported into srs, so most notes go back",
        "in their own Anki note types with their HTML. Anki's exporter runs on the same content, imported from srs's",
        f"package into a fresh collection. Median of {r['runs']} runs each, in the same run.",
        "",
        f"The whole `srs export` process against Anki's in-process export: "
        f"**{f('srs_process_s') / f('anki_legacy_in_process_s'):.2f}×** against the legacy format (the one srs writes), "
        f"**{f('srs_process_s') / f('anki_current_in_process_s'):.2f}×** against the current one (target ≤ 1.5×: "
        f"{'met' if max(f('srs_process_s') / f('anki_legacy_in_process_s'), f('srs_process_s') / f('anki_current_in_process_s')) <= 1.5 else '**not met**'}).",
        "",
        "| exporter | median (s) | ratio srs / Anki | peak memory (MiB) | package (MB) |",
        "|---|---:|---:|---:|---:|",
        f"| srs `export_package` (in-process) | {f('srs_in_process_s'):.2f} | "
        f"{f('srs_in_process_s') / f('anki_legacy_in_process_s'):.2f} vs legacy | | {f('srs_size_mb'):.1f} |",
        f"| Anki `export_anki_package`, legacy format (in-process) | {f('anki_legacy_in_process_s'):.2f} | | | {f('anki_size_mb'):.1f} |",
        f"| Anki `export_anki_package`, current format (in-process) | {f('anki_current_in_process_s'):.2f} | "
        f"{f('srs_in_process_s') / f('anki_current_in_process_s'):.2f} vs current | | |",
        f"| `srs export` (whole process) | {f('srs_process_s'):.2f} | {f('srs_process_s') / f('anki_process_s'):.2f} | "
        f"{f('srs_peak_mib'):.0f} | |",
        f"| Python process opening the Anki collection and exporting (legacy) | {f('anki_process_s'):.2f} | | "
        f"{f('anki_peak_mib'):.0f} | |",
    ]
    phases = r["phases"]
    assert isinstance(phases, dict)
    return "\n".join(lines + phase_table(phases))


if __name__ == "__main__":
    print(report(run()))
