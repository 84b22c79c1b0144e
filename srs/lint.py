"""Offline checks of a story against the mistakes that weaken an answer.

No model, only counting: each rule looks at the story's sections and, when it
finds a problem, says which rule, where, and what to change. The thresholds
are deliberately simple so the user can predict them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from srs.story_format import StorySpec
from srs.templates import TODO

WORDS_PER_MINUTE = 150  # a typical conversational speaking rate
LONG_ANSWER_SECONDS = 120  # about two minutes: the longest answer most interviewers want (lint, mock, review)
MAX_CONTEXT_SHARE = 0.35  # setup (Situation + Task, or Context) as a share of the story

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’%$.-]*")
_I = re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'd|i'll)\b", re.IGNORECASE)
_WE = re.compile(r"\b(we|us|our|ours|ourselves|we're|we've|we'd|we'll)\b", re.IGNORECASE)
_EVIDENCE = re.compile(
    r"\d|%|\$|€|£|\b(one|two|three|four|five|six|seven|eight|nine|ten|twenty|hundred|thousand|million|billion|"
    r"half|halved|halving|twice|double[ds]?|tripled?|quadrupled?)\b|"
    r"\b(from .{1,40} to|compared (to|with)|than|faster|slower|more|less|fewer|higher|lower|"
    r"increased?|decreased?|reduced|cut|grew|improved|dropped|saved)\b",
    re.IGNORECASE,
)
HEDGES = ("maybe", "perhaps", "probably", "kind of", "sort of", "i think", "i guess", "i believe",
          "somewhat", "a bit", "hopefully", "tried to", "might have", "more or less")
FILLERS = ("basically", "actually", "literally", "you know", "um", "uh", "like,", "so yeah",
           "stuff", "things like that", "very", "really", "just")


@dataclass(frozen=True)
class Finding:
    rule: str
    place: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def words(text: str) -> int:
    return len(_WORD.findall(text))


def _phrases(text: str, phrases: tuple[str, ...]) -> list[str]:
    lowered = " " + " ".join(text.lower().split()) + " "
    found = []
    for phrase in phrases:
        pattern = r"(?<![a-z'])" + re.escape(phrase.rstrip(",")) + (r"," if phrase.endswith(",") else r"(?![a-z'])")
        count = len(re.findall(pattern, lowered))
        if count:
            found.append(f"'{phrase.rstrip(',')}'" + (f" ×{count}" if count > 1 else ""))
    return found


def lint_story(spec: StorySpec, wpm: int = WORDS_PER_MINUTE) -> list[Finding]:
    """Every finding for one story, in a stable order."""
    findings: list[Finding] = []
    sections = {name: spec.section(name) for name in spec.sections}
    drafts = [name for name, text in spec.sections.items() if text.strip() == TODO and name != "Notes"]
    if drafts:
        findings.append(Finding("draft", ", ".join(drafts), "still TODO: write these sections before rehearsing"))

    action = sections.get("Action", "")
    if action:
        mine, ours = len(_I.findall(action)), len(_WE.findall(action))
        if mine == 0 or ours > mine:
            findings.append(
                Finding(
                    "ownership",
                    "Action",
                    f"'I' {mine} time(s) against 'we' {ours}: say what you did yourself, in the first person",
                )
            )

    setup_names = ("Context",) if spec.framework == "CARL" else ("Situation", "Task")
    setup = sum(words(sections.get(n, "")) for n in setup_names)
    told = ("Situation", "Task", "Context", "Action", "Result", "Learning")
    total = sum(words(sections.get(n, "")) for n in told)
    if total and setup / total > MAX_CONTEXT_SHARE and action:
        findings.append(
            Finding(
                "context-share",
                "+".join(setup_names),
                f"the setup is {setup / total:.0%} of the story ({setup} of {total} words); keep it under "
                f"{MAX_CONTEXT_SHARE:.0%} and spend the time on your actions",
            )
        )

    seconds = total / wpm * 60
    if seconds > LONG_ANSWER_SECONDS:
        findings.append(
            Finding(
                "length",
                "story",
                f"{total} words is about {seconds / 60:.1f} minutes at {wpm} words per minute; cut to "
                f"{LONG_ANSWER_SECONDS * wpm // 60} words (about two minutes)",
            )
        )

    result = sections.get("Result", "")
    if result and not _EVIDENCE.search(result):
        findings.append(
            Finding("result-evidence", "Result", "no number, unit or comparison: say how much changed, against what baseline")
        )

    if spec.framework == "CARL" and not sections.get("Learning") and "Learning" not in drafts:  # (a TODO one is a draft)
        findings.append(Finding("carl-learning", "Learning", "a CARL story ends with what you learned: add a Learning section"))

    for name in told:
        text = sections.get(name, "")
        if not text:
            continue
        hedges = _phrases(text, HEDGES)
        if hedges:
            findings.append(Finding("hedging", name, f"hedging {', '.join(hedges)}: state what happened plainly"))
        fillers = _phrases(text, FILLERS)
        if fillers:
            findings.append(Finding("filler", name, f"filler {', '.join(fillers)}: cut these words"))
    return findings


def speaking_seconds(spec: StorySpec, wpm: int = WORDS_PER_MINUTE) -> float:
    told = ("Situation", "Task", "Context", "Action", "Result", "Learning")
    return sum(words(spec.section(n)) for n in told) / wpm * 60
