"""Run every benchmark and rewrite BENCHMARKS.md from the results.

Usage: python -m bench [NAME ...]   (names: spine, export, anki_import, plan, deadline, optimize, sync; default: all)
       python -m bench --report       (rewrite BENCHMARKS.md from the last results, running nothing)
Figures are never edited by hand: this command writes the whole file.
"""

from __future__ import annotations

import importlib
import json
import sys
from datetime import datetime, timezone

from bench.common import OUT, ROOT, compile_srs, machine

BENCHMARKS = ["spine", "export", "anki_import", "plan", "deadline", "optimize", "sync"]


def main(argv: list[str]) -> int:
    report_only = "--report" in argv
    argv = [a for a in argv if a != "--report"]
    names = [] if report_only else (argv or BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    if names:
        compile_srs()  # srs's processes load bytecode, as an installed srs does (see compile_srs)
    results_file = OUT / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", file=sys.stderr)
        results[name] = {"result": module.run(), "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
        results_file.write_text(json.dumps(results, indent=2))
    sections = []
    for name in BENCHMARKS:
        if name not in results:
            continue
        module = importlib.import_module(f"bench.{name}")
        entry = results[name]
        sections.append(module.report(entry["result"]) + f"\n\nMeasured {entry['when']} on: {entry['machine']}.")
    text = (
        "# Benchmarks\n\n"
        "Written by `python -m bench` (do not edit by hand). The machine is shared and noisy, so each\n"
        "figure is a median of several runs and is set beside a baseline measured in the same run.\n"
        "srs's modules are byte-compiled first, as `pip install` leaves them.\n\n"
        + "\n\n".join(sections)
        + "\n"
    )
    (ROOT / "BENCHMARKS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
