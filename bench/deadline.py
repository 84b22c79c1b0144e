"""Simulation: the interview plan against plain FSRS, for a user who is not the model, at equal minutes.

240 new cards, 28 days to the interview, a daily budget of 15 or 30 minutes
(30 s per answer), and a user who skips about 15% of days. The simulated
user is separate code from the scheduler: its recall follows its own
forgetting curve with a *true* stability 0.7× or 1.3× what FSRS believes
(so FSRS is always somewhat wrong about it); an answer is Good when the
user recalls, Again when not, and FSRS learns only from those answers.

Policies, each within the same daily budget, new cards introduced at the
same even pace over all but the last three days (which the plan alone
continues in those days for the cards still waiting):

* **plan** — srs's plan: intervals capped at the interview
  (``Scheduler(deadline_day=...)``), when the budget binds the reviews that
  raise recall on the interview morning most (the rule of
  ``srs.plan.simulate_plan``), and in the last three days first the new
  cards still waiting (skipped days and a tight budget leave some; as many
  as the budget allows, ``srs.plan.planned_new_today``), then the unused
  budget on the cards least likely to be recalled then (``ReviewSession``'s
  catch-up);
* **FSRS 0.90** — plain FSRS at 0.90 desired retention, due cards oldest first;
* **FSRS, retention raised** — plain FSRS with the highest desired retention
  (of 0.90-0.99) that spends no more minutes than the plan;
* **FSRS 0.90 + advance** — plain FSRS, and in the last three days the
  unused budget reviews the cards FSRS believes weakest on the day.

Reported per setting, medians over seeds: mean *true* recall on the
interview morning, share of cards at 0.9 or more, mean true recall 14 days
later (no study after the interview), minutes spent.
"""

from __future__ import annotations

import math
import random
import statistics
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

CARDS, DAYS, SECONDS_PER_ANSWER, SKIP, CONSOLIDATION = 240, 28, 30, 0.15, 3
SEEDS = 5
BUDGETS = (15, 30)  # minutes a day
TRUE_SCALES = (0.7, 1.3)  # the user's true stability / FSRS's belief
RETENTIONS = (0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)
START = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)  # 18:00 in Berlin
ZONE = "Europe/Berlin"


class TrueUser:
    """The simulated person: their own forgetting curve, with stability *scale* times what FSRS believes.

    Deliberately not the scheduler's code: a power curve R = (1 + t / (9 S'))^-1
    in the spirit of FSRS-4.5, with S' = scale × the stability FSRS holds
    after each answer. FSRS-6's curve has a different shape, so even at
    scale 1 the model would be wrong about this user in the details.
    """

    def __init__(self, scale: float, rng: random.Random) -> None:
        self.scale = scale
        self.rng = rng

    def recall(self, believed_stability: float | None, days: float) -> float:
        if believed_stability is None:
            return 0.0
        return 1.0 / (1.0 + max(0.0, days) / (9.0 * self.scale * believed_stability))

    def answers(self, believed_stability: float | None, days: float) -> bool:
        return self.rng.random() < self.recall(believed_stability, days)


def _simulate(policy: str, retention: float, scale: float, budget_minutes: int, seed: int) -> dict[str, float]:
    from srs.clock import Clock
    from srs.domain import CardState
    from srs.scheduler import NEW, Memory, Scheduler

    clock = Clock(ZoneInfo(ZONE), 4)
    today = clock.day_of(START)
    interview = today + DAYS
    planned = policy == "plan"
    scheduler = Scheduler(clock, desired_retention=retention, fuzz=False, deadline_day=interview if planned else None)
    rng = random.Random(seed * 7919 + int(scale * 100) * 31 + budget_minutes)
    user = TrueUser(scale, random.Random(rng.random()))
    skips = [rng.random() < SKIP for _ in range(DAYS)]
    room_per_day = budget_minutes * 60 // SECONDS_PER_ANSWER
    memories: list[Memory] = [NEW] * CARDS
    introduced = 0
    answers = 0
    morning = clock.day_start(interview) + timedelta(hours=8)

    def believed_day_recall(m: Memory) -> float:
        if m.stability is None or m.last_review is None:
            return 0.0
        return scheduler.recall(m.stability, max(0.0, (morning - m.last_review).total_seconds() / 86_400))

    def gain(m: Memory, at: datetime, index: int) -> float:
        after = scheduler.review(m, 3, at, index)
        assert after.stability is not None
        return scheduler.recall(after.stability, max(0.0, (morning - at).total_seconds() / 86_400)) - believed_day_recall(m)

    def answer(index: int, at: datetime) -> int:
        """One card answered at *at* (following learning steps within the evening); how many answers."""
        spent = 0
        when = at
        while True:
            m = memories[index]
            days = 0.0 if m.last_review is None else (when - m.last_review).total_seconds() / 86_400
            recalled = m.state != CardState.NEW and user.answers(m.stability, days)
            if m.state == CardState.NEW:
                recalled = user.rng.random() < 0.75  # a first exposure: most are got right after seeing the answer once
            memories[index] = scheduler.review(m, 3 if recalled else 1, when, index)
            spent += 1
            m = memories[index]
            if m.state == CardState.REVIEW or m.due is None or clock.day_of(m.due) > clock.day_of(at) or spent > 8:
                return spent
            when = m.due

    for offset in range(DAYS):
        if skips[offset]:
            continue
        day = today + offset
        at = START + timedelta(days=offset)
        room = room_per_day
        due = [i for i in range(introduced) if memories[i].due is not None and clock.day_of(memories[i].due) <= day]  # type: ignore[arg-type]
        if planned and len(due) > room:  # srs.plan's rule: the least likely recalled on the day, ranked by the exact gain
            due.sort(key=lambda i: believed_day_recall(memories[i]))
            shortlist = due[: 3 * room]
            shortlist.sort(key=lambda i: -gain(memories[i], at, i))
            due = shortlist
        else:
            due.sort(key=lambda i: (memories[i].due, i))
        for i in due:
            if room <= 0:
                break
            spent = answer(i, at)
            room -= spent
            answers += spent
        intro_days = DAYS - CONSOLIDATION
        if offset < intro_days:  # the even pace
            pace = math.ceil((CARDS - introduced) / (intro_days - offset))
        else:  # srs.plan: in the last days, the new cards still waiting, as the budget allows; the others stop
            pace = CARDS if planned else 0
        count = 0
        while introduced < CARDS and count < pace and room >= 2:
            spent = answer(introduced, at)
            room -= spent
            answers += spent
            introduced += 1
            count += 1
        if policy in ("advance", "plan") and offset >= DAYS - CONSOLIDATION:
            extra = sorted((i for i in range(introduced) if i not in set(due)), key=lambda i: believed_day_recall(memories[i]))
            if planned:  # as srs review's catch-up: only the cards it believes below 97% on the day
                extra = [i for i in extra if believed_day_recall(memories[i]) < 0.97]
            for i in extra:
                if room <= 0:
                    break
                spent = answer(i, at)
                room -= spent
                answers += spent

    def true_recall(index: int, when: datetime) -> float:
        m = memories[index]
        if m.last_review is None:
            return 0.0
        return user.recall(m.stability, (when - m.last_review).total_seconds() / 86_400)

    on_day = [true_recall(i, morning) for i in range(CARDS)]
    later = [true_recall(i, morning + timedelta(days=14)) for i in range(CARDS)]
    return {
        "recall": statistics.fmean(on_day),
        "share_90": sum(r >= 0.9 for r in on_day) / CARDS,
        "recall_14_days_later": statistics.fmean(later),
        "minutes": answers * SECONDS_PER_ANSWER / 60,
    }


def run() -> dict[str, object]:
    settings: list[dict[str, Any]] = []
    for scale in TRUE_SCALES:
        for budget in BUDGETS:
            per_seed = []
            for seed in range(SEEDS):
                plan = _simulate("plan", 0.90, scale, budget, seed)
                plain = _simulate("plain", 0.90, scale, budget, seed)
                advance = _simulate("advance", 0.90, scale, budget, seed)
                raised = plain
                raised_retention = 0.90
                for retention in RETENTIONS[1:]:
                    candidate = _simulate("plain", retention, scale, budget, seed)
                    if candidate["minutes"] > plan["minutes"]:
                        break
                    raised, raised_retention = candidate, retention
                per_seed.append({"plan": plan, "FSRS 0.90": plain, "FSRS, retention raised": {**raised, "retention": raised_retention},
                                 "FSRS 0.90 + advance": advance})
            settings.append({"scale": scale, "budget": budget, "seeds": per_seed})
    return {"settings": settings, "cards": CARDS, "days": DAYS, "skip": SKIP, "seeds": SEEDS}


POLICIES = ("plan", "FSRS 0.90", "FSRS, retention raised", "FSRS 0.90 + advance")


def report(result: dict[str, object]) -> str:
    settings = result["settings"]
    assert isinstance(settings, list)
    lines = [
        "## The interview plan against a user who is not the model (`bench/deadline.py`)",
        "",
        f"{result['cards']} new cards, {result['days']} days to the interview, about {result['skip']:.0%} of days skipped, "
        f"{SECONDS_PER_ANSWER} s per answer. The simulated user's true stability is 0.7x or 1.3x what FSRS believes (its own "
        f"forgetting curve, separate code). Medians over {result['seeds']} seeds; *true* recall.",
        "",
        "| true / believed | budget | policy | recall on the day | share >= 0.9 | recall 14 days later | minutes |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    wins = floor = 0
    for setting in settings:
        medians = {}
        for policy in POLICIES:
            rows = [seed[policy] for seed in setting["seeds"]]
            medians[policy] = {k: statistics.median(r[k] for r in rows) for k in ("recall", "share_90", "recall_14_days_later", "minutes")}
            m = medians[policy]
            label = policy
            if policy == "FSRS, retention raised":
                label += f" ({statistics.median(r['retention'] for r in rows):.2f})"
            lines.append(
                f"| {setting['scale']} | {setting['budget']} min | {label} | {m['recall']:.3f} | {m['share_90']:.2f} | "
                f"{m['recall_14_days_later']:.3f} | {m['minutes']:.0f} |"
            )
        best_other = max(medians[p]["recall"] for p in POLICIES[1:])
        wins += medians["plan"]["recall"] > best_other
        floor += medians["plan"]["recall_14_days_later"] >= medians["FSRS 0.90"]["recall_14_days_later"] - 0.02
    lines.append("")
    lines.append(f"The plan has the highest median true recall on the day in {wins} of {len(settings)} settings (target: all), and its "
                 f"recall 14 days later is no more than 2 points below plain FSRS 0.90's in {floor} of {len(settings)} (target: all).")
    lines += ["", "Per seed (seeds 0 to {}), in the same order in each cell:".format(len(settings[0]["seeds"]) - 1), "",
              "| true / believed | budget | policy | recall on the day | share >= 0.9 | recall 14 days later | minutes |",
              "|---:|---:|---|---|---|---|---|"]
    for setting in settings:
        for policy in POLICIES:
            rows = [seed[policy] for seed in setting["seeds"]]
            cells = [" ".join(f"{r[k]:.3f}" if k != "minutes" else f"{r[k]:.0f}" for r in rows)
                     for k in ("recall", "share_90", "recall_14_days_later", "minutes")]
            lines.append(f"| {setting['scale']} | {setting['budget']} min | {policy} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Most of the plan's lead comes from its last days: skipped days and a tight budget leave new cards unseen under "
        "every policy's even pace, and the plan brings them in during the last three days, where a first sight two days "
        "before the interview raises recall on the morning (and two weeks later) far more than reviewing cards already "
        "likely recalled. Without that rule (this benchmark's earlier runs) the plan was 0 to 2 points ahead of plain FSRS 0.90 "
        "and behind FSRS with the advance catch-up in two of the four settings."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
