"""Benchmark: our optimizer against Anki's own on the same history.

The spine collection (20,000 cards, 200,000 reviews) is exported by srs and
imported into a fresh Anki collection with the official anki library. Anki
fits parameters with its `compute_fsrs_params`; srs fits with `srs optimize`
(fsrs-rs-python) on its own training items. Both parameter sets, and the
defaults, are then scored on srs's training items: log loss and RMSE(bins),
lower is better. Times are single runs (the fit is deterministic).

Also `--reschedule` on the same 20,000 cards: srs's batch replay against
replaying card by card (``Scheduler.replay`` per card, what it did before), medians of 3,
with the two results compared card for card.
"""

from __future__ import annotations

import shutil
import time

from bench.common import OUT, anki_collection, anki_import
from bench.spine import NOW, ensure_collection


def run() -> dict[str, object]:
    from srs.anki.export import export_package
    from srs.db import open_database
    from srs.optimize import evaluate, optimize, training_items
    from srs.settings import default_preset

    work = OUT / "optimize"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = open_database(ensure_collection())
    package = work / "history.apkg"
    with source.session() as session:
        export_package(session, package, NOW, force=True)
        defaults = list(default_preset(session).parameters)
    source.close()
    col = anki_collection(work / "anki" / "collection.anki2")
    anki_import(col, package)
    start = time.perf_counter()
    anki_params = list(
        col._backend.compute_fsrs_params(
            search="", current_params=[], ignore_revlogs_before_ms=0, num_of_relearning_steps=1, health_check=False
        ).params
    )
    anki_seconds = time.perf_counter() - start
    col.close()

    copy = work / "srs.db"
    shutil.copy(ensure_collection(), copy)
    db = open_database(copy)
    with db.session(write=True) as session:
        start = time.perf_counter()
        (result,) = optimize(session, "Default", adopt=False)
        srs_seconds = time.perf_counter() - start
        items, _, _ = training_items(session, default_preset(session).id)
    db.close()
    scores = {name: evaluate(params, items) for name, params in (("srs", result.parameters), ("anki", anki_params), ("defaults", defaults))}
    batch, single, differing = _reschedule(copy)
    return {
        "reschedule_batch_s": batch,
        "reschedule_single_s": single,
        "reschedule_differing": differing,
        "items": len(items),
        "srs_seconds": srs_seconds,
        "anki_seconds": anki_seconds,
        "scores": {k: {"log_loss": v.log_loss, "rmse_bins": v.rmse_bins} for k, v in scores.items()},
    }


def _reschedule(path) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Median seconds of `reschedule` (batch) and of a card-by-card replay; cards on which they differ."""
    import statistics

    from sqlalchemy import select

    from srs.db import open_database
    from srs.models import Card
    from srs.optimize import reschedule
    from srs.review import replay_card
    from srs.scheduler import apply_memory, memory_of
    from srs.settings import Schedulers, clock_for

    db = open_database(path)
    batch, single = [], []
    try:
        for _ in range(3):
            with db.session(write=True) as session:
                start = time.perf_counter()
                reschedule(session, "Default", NOW)
                session.flush()
                batch.append(time.perf_counter() - start)
                session.commit()
            with db.session(write=True) as session:
                start = time.perf_counter()
                schedulers = Schedulers(session, clock_for(session))
                for card in session.scalars(select(Card).where(Card.state != 0)):
                    apply_memory(card, replay_card(session, card, schedulers))
                session.flush()
                single.append(time.perf_counter() - start)
                session.rollback()
        with db.session() as session:
            schedulers = Schedulers(session, clock_for(session))
            differing = sum(
                memory_of(card) != replay_card(session, card, schedulers)
                for card in session.scalars(select(Card).where(Card.state != 0))
            )
    finally:
        db.close()
    return statistics.median(batch), statistics.median(single), differing


def report(r: dict[str, object]) -> str:
    scores = r["scores"]
    assert isinstance(scores, dict)
    ours, anki = scores["srs"]["log_loss"], scores["anki"]["log_loss"]
    lines = [
        "## Optimizer against Anki's (`bench/optimize.py`)",
        "",
        f"The spine history ({int(r['items']):,} training items from 200,000 reviews), scored on srs's training items.",
        "",
        "| parameters | log loss | RMSE(bins) | fit time (s) |",
        "|---|---:|---:|---:|",
        f"| fitted by `srs optimize` (fsrs-rs-python) | {ours:.4f} | {scores['srs']['rmse_bins']:.4f} | {float(r['srs_seconds']):.1f} |",  # type: ignore[arg-type]
        f"| fitted by Anki's `compute_fsrs_params` | {anki:.4f} | {scores['anki']['rmse_bins']:.4f} | {float(r['anki_seconds']):.1f} |",  # type: ignore[arg-type]
        f"| FSRS-6 defaults | {scores['defaults']['log_loss']:.4f} | {scores['defaults']['rmse_bins']:.4f} | |",
        "",
        f"Ratio of log losses, srs / Anki: {ours / anki:.4f} (target: within 1%).",
    ]
    if "reschedule_batch_s" in r:
        lines += [
            "",
            "`srs optimize --reschedule` on the 20,000 reviewed cards (median of 3, including the card updates):",
            "",
            "| replay | seconds |",
            "|---|---:|",
            f"| all cards at once (`Scheduler.replay_batch`) | {float(r['reschedule_batch_s']):.2f} |",  # type: ignore[arg-type]
            f"| card by card, `Scheduler.replay` (before) | {float(r['reschedule_single_s']):.2f} |",  # type: ignore[arg-type]
            "",
            f"Cards whose rescheduled state differs between the two: {r['reschedule_differing']}.",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
