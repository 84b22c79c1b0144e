"""Shared helpers for benchmarks: timing, medians, and the machine description."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def machine() -> str:
    """One line describing the machine, for the report."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def wall(cmd: Sequence[str], env: dict[str, str] | None = None, stdin: bytes | None = None) -> float:
    """Wall time of one run of a command, in seconds (fails loudly on error)."""
    start = time.perf_counter()
    subprocess.run(cmd, input=stdin, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def median_of(runs: int, fn: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [fn() for _ in range(runs)]
    return statistics.median(samples), samples


def python() -> str:
    return sys.executable


def compile_srs() -> None:
    """Byte-compile srs's modules, as pip does when it installs a package.

    An editable install under PYTHONDONTWRITEBYTECODE (this machine sets it)
    would otherwise compile srs from source in every process a benchmark
    starts, while the anki library and SQLAlchemy load their installed
    bytecode: about 0.06 s of each `srs` run that no installed srs pays.
    """
    import compileall

    compileall.compile_dir(ROOT / "srs", quiet=1)


_RSS_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "wall = time.perf_counter() - t\n"
    "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def wall_and_peak(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak resident memory in MiB) of one run of *cmd*, in a fresh wrapper."""
    out = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, *cmd], env=env, check=True, capture_output=True, text=True)
    wall_s, rss_kb = out.stdout.split()
    return float(wall_s), int(rss_kb) / 1024


# The official anki library, used as the baseline (imported lazily: it is heavy).


def anki_collection(path: Path):  # type: ignore[no-untyped-def]
    """A fresh Anki collection with FSRS on."""
    from anki.collection import Collection

    path.parent.mkdir(parents=True, exist_ok=True)
    col = Collection(str(path))
    col.set_config("fsrs", True)
    return col


def anki_import(col, package: Path) -> None:  # type: ignore[no-untyped-def]
    """Anki's importer, with scheduling and deck options."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True))
    )


def anki_export(col, out: Path, legacy: bool = False, media: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Anki's exporter, with scheduling and deck options (and, if asked, media)."""
    from anki.collection import ExportAnkiPackageOptions

    col.export_anki_package(
        out_path=str(out),
        options=ExportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True, with_media=media, legacy=legacy),
        limit=None,
    )


# What real Anki notes hold, beside plain text: the formatting Anki's editor writes (bold, italics, line breaks as
# <br> and <div>, non-breaking spaces, lists, coloured spans), pictures and sounds, and Cloze notes.
_WRAPS = (
    "<b>{}</b>",
    "<div>{}</div><div><br></div>",
    "<i>{}</i>&nbsp;<br>",
    "<ul><li>{}</li><li>see the notes&nbsp;below</li></ul>",
    '<span style="color: rgb(0, 0, 0);">{}</span>',
    "<div><b>Key:</b> {}</div><div>Why it &amp; matters</div>",
    "{}",  # some fields stay plain
)
_PNG = bytes.fromhex(  # a 1x1 picture
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082"
)


def realistic_notes(col, cloze_notes: int = 1_000) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Make an Anki collection's notes look like real users' (in place, with the anki library): notes of srs's own
    note types become Anki's Basic, every field gets ordinary HTML, one note in 25 a picture and one in 50 a sound,
    *cloze_notes* Cloze notes are added, and the first deck's options get a single learning step (the rest keep
    Anki's two). Their answers stay. What was done, counted."""
    basic = col.models.by_name("Basic")
    for kind in col.models.all_names_and_ids():  # srs's own note types become Anki's Basic (cards and answers kept)
        nids = col.models.nids(kind.id)
        if kind.name.startswith("srs ") and nids:
            request = col.models.change_notetype_info(old_notetype_id=kind.id, new_notetype_id=basic["id"]).input
            request.note_ids.extend(nids)
            col.models.change_notetype_of_notes(request)
    notes = [col.get_note(nid) for nid in col.find_notes("")]
    media = {"images": 0, "sounds": 0}
    for i, note in enumerate(notes):
        for j, value in enumerate(note.fields):
            note.fields[j] = _WRAPS[(i + j) % len(_WRAPS)].format(value)
        if i % 25 == 0:
            name = col.media.write_data(f"figure-{i}.png", _PNG)
            note.fields[-1] += f'<br><img src="{name}">'
            media["images"] += 1
        if i % 50 == 0:
            name = col.media.write_data(f"take-{i}.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(64))
            note.fields[0] += f" [sound:{name}]"
            media["sounds"] += 1
    col.update_notes(notes)
    cloze = col.models.by_name("Cloze")
    deck_id = col.decks.id("Cloze practice")
    for i in range(cloze_notes):
        note = col.new_note(cloze)
        note.fields[0] = (f"A model served {{{{c1::{i % 90 + 10}M}}}} requests a day; p99 fell from <b>{{{{c2::{i % 200 + 100} ms}}}}</b>"
                          f"&nbsp;to {{{{c3::{i % 80 + 20} ms::a number}}}}.")
        note.fields[1] = "<i>From the latency story</i>"
        col.add_note(note, deck_id)
    first = col.decks.all_config()[0]
    first["new"]["delays"] = [10.0]  # one learning step, as many users set
    col.decks.update_config(first)
    return {"notes": len(notes), "cloze_notes": cloze_notes, **media}


def phase_table(phases: dict[str, float]) -> list[str]:
    """Report lines for where one run's time went."""
    lines = ["", "Where srs's time goes (one run):", "", "| phase | seconds |", "|---|---:|"]
    return lines + [f"| {name} | {value:.2f} |" for name, value in phases.items()]
