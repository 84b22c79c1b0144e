"""The competencies behavioral interviews probe, and how to recognise them.

The labels follow the attributes interviewers evaluate in an ML engineer's
behavioral loop; ``hint`` is what srs shows on a question's answer side to
help the user find a fitting story of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Competency:
    slug: str
    label: str
    pattern: re.Pattern[str]  # matched against a question or heading, lower-cased
    hint: str


def _c(slug: str, label: str, words: str, hint: str) -> Competency:
    return Competency(slug, label, re.compile(words), hint)


# Order matters: the first match wins, most specific first.
COMPETENCIES: tuple[Competency, ...] = (
    _c(
        "about-you",
        "Tell me about yourself",
        r"\byourself\b|about you\b|your background|walk (me|us) through your (resume|cv|career)|introduce",
        "Your pitch: who you are with one memorable detail, two or three results with numbers, and what you want next.",
    ),
    _c(
        "favorite-project",
        "Favorite ML project",
        r"favou?rite|proudest|most (interesting|exciting|meaningful|complex) (ml |machine learning )?(project|model|system)",
        "One ML project you know end to end: the problem, your modelling and system choices, the trade-offs, the measured result.",
    ),
    _c(
        "conflict",
        "Conflict",
        r"conflict|disagree|push ?back|tension|difficult (co-?worker|colleague|person|stakeholder)|argument|clash",
        "A disagreement you helped resolve: both positions stated fairly, what you did, how it ended, and the relationship after.",
    ),
    _c(
        "failure",
        "Failure",
        r"fail|mistake|wrong|regret|setback|went badly|didn.t go|outage|missed (a )?deadline|criticism|negative feedback",
        "Something that went wrong where you owned part of it: what happened, what you changed, and what you do differently now.",
    ),
    _c(
        "communication",
        "Communication",
        r"communicat|explain|non-?technical|present|convinc|persua|document|write|simplif|jargon",
        "A time you made a technical idea land with a specific audience, and what changed because they understood it.",
    ),
    _c(
        "collaboration",
        "Collaboration & leadership",
        r"\bteam|collaborat|\blead|mentor|cross-?functional|influence|stakeholder|partner|delegat|onboard|hire",
        "Work you did with or through others: your role, how you aligned people, and what the group achieved.",
    ),
    _c(
        "impact",
        "Impact",
        r"impact|metric|revenue|business|cost|launch|ship|deliver|result|latency|engagement|customer|user",
        "A result you can put a number on (engagement, revenue, cost, latency) and the part of it that was yours.",
    ),
    _c(
        "initiative",
        "Initiative & problem-solving",
        r"initiative|problem|ambigu|proactive|challeng|obstacle|debug|root cause|improv|own(ed|ership)?\b|beyond|priorit|trade-?off|decision|deadline|pressure",
        "A problem you chose to take on: how you found it, how you broke it down, and what happened because you acted.",
    ),
)

GENERAL = Competency(
    "general",
    "General",
    re.compile(r"(?!)"),
    "Pick the story from your bank whose result best answers the question, and say your own part in it.",
)

BY_SLUG = {c.slug: c for c in (*COMPETENCIES, GENERAL)}


def classify(text: str) -> Competency:
    """The competency a question or heading is about, or GENERAL."""
    lowered = text.lower()
    for competency in COMPETENCIES:
        if competency.pattern.search(lowered):
            return competency
    return GENERAL


def heading_competency(heading: str) -> Competency | None:
    """The competency a section heading is about, if any."""
    competency = classify(heading)
    return None if competency is GENERAL else competency
