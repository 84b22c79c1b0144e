"""Replay a fixed set of histories and print every state as JSON (run as a script).

``test_scheduler`` runs this in two processes, one with NumPy's AVX-512
kernels disabled through ``NPY_DISABLE_CPU_FEATURES``, and compares what the
user would see (states, due days, intervals) exactly and the memory (stability,
difficulty) within ``FLOAT_TOLERANCE``. The same histories serve the
in-process test that nudges the kernel's powers by one ulp.
"""

from __future__ import annotations

import json
import random
from typing import Any
from zoneinfo import ZoneInfo

from srs.clock import Clock
from srs.scheduler import Scheduler

# (zone, rollover hour, learning steps, deadline day): each configuration replays every history
CONFIGURATIONS = [
    ("Europe/Berlin", 4, (60, 600), None),
    ("America/New_York", 0, (600,), 20_700),
    ("UTC", 4, (), None),
    ("Australia/Lord_Howe", 23, (60, 600, 3600), 20_660),
]


def histories(cards: int = 400, seed: int = 11) -> list[tuple[int, list[tuple[int, int]]]]:
    """(card id, [(rating, Unix ms), ...]) for *cards* cards of up to 40 answers over months."""
    rng = random.Random(seed)
    out = []
    for _ in range(cards):
        at = 1_760_000_000_000 + rng.randrange(0, 30 * 86_400_000)
        answers = []
        for _ in range(rng.randrange(1, 40)):
            answers.append((rng.choices([1, 2, 3, 4], weights=[12, 10, 65, 13])[0], at))
            at += rng.choice([rng.randrange(60_000, 3_600_000), rng.randrange(1, 40) * 86_400_000 + rng.randrange(0, 86_400_000)])
        out.append((rng.randrange(1, 2**62), answers))
    return out


def replay_all(cards: int = 400) -> list[dict[str, Any]]:
    """Every configuration's replay of the histories, as plain lists."""
    import numpy as np

    data = histories(cards)
    ids = np.array([card_id for card_id, _ in data], dtype=np.int64)
    bounds = np.cumsum([0] + [len(answers) for _, answers in data])
    ratings = np.array([r for _, answers in data for r, _ in answers], dtype=np.int64)
    times = np.array([t for _, answers in data for _, t in answers], dtype=np.int64)
    results = []
    for zone, rollover, steps, deadline in CONFIGURATIONS:
        clock = Clock(ZoneInfo(zone), rollover)
        scheduler = Scheduler(clock, learning_steps=steps, relearning_steps=steps[-1:], fuzz=True, deadline_day=deadline)
        out = scheduler.replay_batch(ids, bounds, ratings, times)
        results.append(
            {
                "state": out.state.tolist(),
                "step": out.step.tolist(),
                "due_day": clock.days_of_ms(out.due).tolist(),
                "due": out.due.tolist(),
                "interval": out.interval.tolist(),
                "stability": out.stability.tolist(),
                "difficulty": out.difficulty.tolist(),
                "lapses": [final[7] for final in out.final_states(bounds, ratings, times)],
            }
        )
    return results


def main() -> None:
    try:
        from numpy._core._multiarray_umath import __cpu_features__  # NumPy 2
    except ImportError:  # NumPy 1.26
        from numpy.core._multiarray_umath import __cpu_features__

    features = sorted(name for name, on in __cpu_features__.items() if on and name.startswith(("AVX512", "X86_V4")))
    print(json.dumps({"avx512": features, "replays": replay_all()}))


if __name__ == "__main__":
    main()
