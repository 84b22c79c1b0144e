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


def anki_export(col, out: Path, legacy: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Anki's exporter, with scheduling and deck options, no media."""
    from anki.collection import ExportAnkiPackageOptions

    col.export_anki_package(
        out_path=str(out),
        options=ExportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True, with_media=False, legacy=legacy),
        limit=None,
    )


def phase_table(phases: dict[str, float]) -> list[str]:
    """Report lines for where one run's time went."""
    lines = ["", "Where srs's time goes (one run):", "", "| phase | seconds |", "|---|---:|"]
    return lines + [f"| {name} | {value:.2f} |" for name, value in phases.items()]
