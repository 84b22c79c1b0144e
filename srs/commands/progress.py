"""Where you stand and where you are headed: `srs stats`, `srs plan` and `srs optimize`."""

from __future__ import annotations

from pathlib import Path

import click

from srs.commands.common import Context, confirm_replace, json_option, say, show
from srs.errors import ConfigError, SrsError
from srs.evaluation import evaluate_user
from srs.files import check_target
from srs.optimize import optimize as fit
from srs.optimize import reschedule as redo
from srs.plan import clear_plan, plan_report, set_plan
from srs.stats import collection_stats, write_png


@click.command(short_help="Activity, retention, forecast, recall.")
@json_option
@click.option("--png", "png", type=click.Path(path_type=Path), help="Also write the charts as a PNG image.")
@click.option("--force", is_flag=True, help="Replace the --png file if it exists.")
@click.pass_obj
def stats(obj: Context, as_json: bool, png: Path | None, force: bool) -> None:
    """Your activity, true retention, the due forecast and recall by deck and competency.

    Example: srs stats --png progress.png
    """
    if png is not None:
        if png.suffix.lower() != ".png" and not png.is_dir():  # (a folder gets check_target's own message)
            raise ConfigError(f"--png writes a PNG image: give a file name ending in .png, not {png.name!r}")
        force = confirm_replace(png, force)
        check_target(png, force, "chart", ConfigError)
    with obj.database().session() as session:
        data = collection_stats(session, obj.now())
    if png is not None:
        if not data["reviews"]:
            raise SrsError("nothing to chart yet: no reviews so far")
        write_png(data, png)
    show(data, as_json, "stats_view")
    if png is not None:  # (on standard error beside --json, whose output stays JSON alone)
        say(f"Wrote the charts to {png}", err=as_json)


@click.command(short_help="Aim the schedule at an interview date.")
@click.option("--interview", metavar="YYYY-MM-DD", help="The interview date to aim at.")
@click.option("--max-minutes", type=int, help="Minutes a day you can spend until then.")
@click.option("--clear", is_flag=True, help="Drop the plan: back to plain FSRS.")
@json_option
@click.pass_obj
def plan(obj: Context, interview: str | None, max_minutes: int | None, clear: bool, as_json: bool) -> None:
    """Aim the schedule at an interview date and show the work until then.

    Example: srs plan --interview 2026-12-15 --max-minutes 20
    """
    db = obj.database()
    if clear:
        with db.session(write=True) as session:
            clear_plan(session)
        say("Plan cleared: scheduling is plain FSRS again.")
        return
    if interview:
        with db.session(write=True) as session:
            set_plan(session, interview, max_minutes, obj.now())
    elif max_minutes is not None:
        raise SrsError("--max-minutes goes with --interview YYYY-MM-DD")
    with db.session() as session:
        report = plan_report(session, obj.now())
    show(report, as_json, "plan_view")


@click.command()
@click.option("--preset", help="Only this preset (default: every preset).")
@click.option("--reschedule", is_flag=True, help="Recompute due dates with the new parameters.")
@click.option("--dry-run", is_flag=True, help="Report only; keep the current parameters.")
@json_option
@click.pass_obj
def optimize(obj: Context, preset: str | None, reschedule: bool, dry_run: bool, as_json: bool) -> None:
    """Fit FSRS parameters to your own review history.

    New parameters are adopted only when they predict your answers better
    (lower log loss) than the current ones.

    Example: srs optimize --reschedule
    """
    with obj.database().session(write=True) as session:
        results = fit(session, preset, adopt=not dry_run)
        rescheduled = {r.preset: redo(session, r.preset, obj.now()) for r in results if r.adopted and reschedule}
    if as_json:
        show([{**r.as_dict(), "rescheduled": rescheduled.get(r.preset, 0)} for r in results], True, "")
        return
    for r in results:
        say(f"{r.preset}: {r.reviews} reviews of {r.cards} cards, {r.items} training items. {r.message}.")
        if r.current is not None and r.fitted is not None:
            say(
                f"  log loss {r.current.log_loss:.4f} -> {r.fitted.log_loss:.4f}; "
                f"RMSE(bins) {r.current.rmse_bins:.4f} -> {r.fitted.rmse_bins:.4f}"
            )
        if r.preset in rescheduled:
            say(f"  rescheduled {rescheduled[r.preset]} cards")


@click.command("eval", short_help="How well srs predicts your answers.")
@json_option
@click.pass_obj
def eval_(obj: Context, as_json: bool) -> None:
    """How well srs predicts your answers, in the FSRS benchmark's terms.

    Log loss, RMSE(bins) and AUC on a 5-fold time-series split of your own
    history, for FSRS with default parameters, with parameters fitted to you,
    and for a constant average, with 95% bootstrap intervals. Lower log loss
    and RMSE are better; higher AUC is better.

    Example: srs eval --json
    """
    with obj.database().session() as session:
        data = evaluate_user(session, obj.now())
    show(data, as_json, "eval_view")
