"""Fitting FSRS parameters to the user's history, compared with Anki's own optimizer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from srs.cli import cli
from srs.domain import CardState
from srs.models import Card, Note
from srs.optimize import MIN_ITEMS, evaluate, optimize, training_items
from srs.review import replay_card
from srs.scheduler import memory_of
from srs.settings import Schedulers, clock_for, default_preset

from .anki_helpers import daytime_zone, export_apkg, local_timezone
from .test_anki_import import build_anki_collection, fresh_db


def test_too_little_history_is_said_plainly(tmp_path: Path) -> None:
    """With no or few reviews, optimize explains how much more history it needs and changes nothing."""
    db = tmp_path / "o.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "--now", "2026-11-25T08:00:00", "optimize"])
    assert result.exit_code == 0
    assert result.output == "Default: 0 reviews of 0 cards, 0 training items. no reviews yet: study for a few weeks, then optimize.\n"
    CliRunner().invoke(cli, ["--db", str(db), "--now", "2026-11-24T08:00:00", "--keys-from-stdin", "review"], input=" 3 3 3 3q")
    out = json.loads(CliRunner().invoke(cli, ["--db", str(db), "--now", "2026-11-25T08:00:00", "optimize", "--json"]).output)
    assert out[0]["items"] < MIN_ITEMS and out[0]["adopted"] is False
    assert f"about {MIN_ITEMS} are needed" in out[0]["message"]


def test_items_count_answers_a_day_apart() -> None:
    """Training items end at answers that come a day or more after the previous one (Anki's rule)."""
    import tempfile

    from srs.db import open_database

    folder = Path(tempfile.mkdtemp())
    db = fresh_db(folder / "i.db", "UTC")
    from .test_review import add_notes

    (card_id,) = add_notes(db, 1)
    with db.session(write=True) as session:
        from srs.domain import Rating
        from srs.review import Limits, ReviewSession

        review = ReviewSession(session, Limits(10, 10))
        card = session.get(Card, card_id)
        t0 = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
        for rating, at in [(3, t0), (3, t0 + timedelta(minutes=10)), (3, t0 + timedelta(days=2)), (1, t0 + timedelta(days=9)), (3, t0 + timedelta(days=9, minutes=10))]:
            review.answer(card, Rating(rating), at, 1000)  # type: ignore[arg-type]
        session.commit()
        items, cards, reviews = training_items(session, default_preset(session).id)
    db.close()
    _ = open_database
    assert (cards, reviews) == (1, 5)
    assert items == [[(3, 0), (3, 0), (3, 2)], [(3, 0), (3, 0), (3, 2), (1, 7)]]


@pytest.fixture(scope="module")
def anki_history(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    zone = daytime_zone(now, dst=False)
    folder = tmp_path_factory.mktemp("opt")
    with local_timezone(zone):
        col, _ = build_anki_collection(folder, zone, now, cards=600)
        anki_params = list(
            col._backend.compute_fsrs_params(
                search="", current_params=[], ignore_revlogs_before_ms=0, num_of_relearning_steps=1, health_check=False
            ).params
        )

        package = folder / "p.apkg"
        export_apkg(col, package)
        col.close()
        yield {"zone": zone, "now": now, "package": package, "anki_params": anki_params}  # (the zone stays set for the tests)


def test_fit_matches_ankis_optimizer(anki_history, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """On a history written by the anki library, our fitted parameters' log loss is within 1% of Anki's."""
    from srs.anki.import_ import import_package

    with local_timezone(anki_history["zone"]):
        db = fresh_db(tmp_path / "srs.db", anki_history["zone"])
        with db.session(write=True) as session:
            import_package(session, anki_history["package"], anki_history["now"])
            session.commit()
        with db.session(write=True) as session:
            results = optimize(session, "Anki · Default")
            session.commit()
            (result,) = results
            assert result.items >= MIN_ITEMS and result.fitted is not None and result.current is not None
            anki_card = session.scalars(select(Card).join(Note).where(Note.kind == "anki")).first()
            items, _, _ = training_items(session, anki_card.deck.preset_id)  # type: ignore[union-attr]
            ours = evaluate(result.parameters, items)
            anki = evaluate(anki_history["anki_params"], items)
        db.close()
    assert ours.log_loss <= anki.log_loss * 1.01, (ours, anki)
    assert result.adopted == (result.fitted.log_loss < result.current.log_loss)


def test_reschedule_uses_the_new_parameters(anki_history, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--reschedule recomputes every reviewed card from its history with the adopted parameters."""
    with local_timezone(anki_history["zone"]):
        db_path = tmp_path / "srs.db"
        fresh_db(db_path, anki_history["zone"]).close()
        runner = CliRunner()
        now = anki_history["now"].isoformat()
        assert runner.invoke(cli, ["--db", str(db_path), "--now", now, "import", str(anki_history["package"])]).exit_code == 0
        out = runner.invoke(cli, ["--db", str(db_path), "--now", now, "optimize", "--preset", "Anki · Default", "--reschedule", "--json"])
        assert out.exit_code == 0, out.output
        (report,) = json.loads(out.output)
        from srs.db import open_database

        db = open_database(db_path)
        with db.session() as session:
            preset = session.scalars(select(Card).join(Note).where(Note.kind == "anki")).first().deck.preset  # type: ignore[union-attr]
            assert report["adopted"] is True  # the history was made with other parameters than the defaults
            assert report["rescheduled"] > 0
            assert preset.parameters == pytest.approx(report["parameters"], abs=1e-5)
            schedulers = Schedulers(session, clock_for(session))
            for card in session.scalars(select(Card).where(Card.state != CardState.NEW)).all()[:40]:
                assert memory_of(card) == replay_card(session, card, schedulers)
        db.close()
