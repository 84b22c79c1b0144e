"""What each kind of card asks and answers: the one place that decides a card's content.

The terminal shows ``sides_of`` (plain text); the Anki exporter fills its note
types' fields from the same functions (``question_competency``, ``beats``,
``numbers``, ``story_card_content``, ``list_items``), so a card reads the
same in srs and in Anki. Rendering for the terminal (colour, panels) happens
in ``terminal.py``.

A story is reviewed as three small recall targets, each a card only when the
story has the content: its *beats* (ord 0: the first sentence of each part),
its *numbers* (ord 1: the result's sentences that carry a figure) and its
*learning* (ord 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from srs.competencies import BY_SLUG, GENERAL, Competency
from srs.domain import NoteKind
from srs.models import Note

TODO = "TODO"  # a story section kept for later
BEATS, NUMBERS, LEARNING = 0, 1, 2  # the ords of a story's cards

_FIGURE = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twenty|hundred|thousand|million|billion|"
    r"half|twice|double[ds]?|tripled?|quadrupled?)\b|%|\$|€|£",
    re.IGNORECASE,
)


def first_sentence(text: str, max_words: int = 14) -> str:
    """The first sentence of *text*, on one line, cut at *max_words*."""
    text = " ".join(text.replace("\n", " ").split())
    sentence = re.split(r"(?<=[.!?;])\s", text, maxsplit=1)[0].rstrip(".;")
    words = sentence.split()
    return " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")


def beats(fields: dict[str, str]) -> str:
    """A story's outline on one line: the first sentence of each part."""
    parts = ("Context",) if fields.get("Context") else ("Situation", "Task")
    out = []
    for name in (*parts, "Action", "Result"):
        text = fields.get(name, "").strip()
        if text and text != TODO:
            out.append(f"{name[0]}: {first_sentence(text)}")
    return " → ".join(out)


def numbers(fields: dict[str, str]) -> str:
    """The sentences of a story's Result that carry a number, unit or comparison."""
    result = fields.get("Result", "").strip()
    if not result or result == TODO:
        return ""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(result.split()))
    return " ".join(s for s in sentences if _FIGURE.search(s))


def story_card_content(fields: dict[str, str]) -> dict[int, str]:
    """The answer of each story card that has content, by ord."""
    out = {}
    line = beats(fields)
    if fields.get("Action", "").strip() not in ("", TODO) and line:
        out[BEATS] = line
    figure = numbers(fields)
    if figure:
        out[NUMBERS] = figure
    learning = fields.get("Learning", "").strip()
    if learning and learning != TODO:
        out[LEARNING] = learning
    return out


def question_competency(tags: list[str]) -> Competency:
    """The competency a question probes, from its tags."""
    return next((BY_SLUG[t] for t in tags if t in BY_SLUG), GENERAL)


def list_items(fields: dict[str, str]) -> list[str]:
    """The items a list card asks for."""
    return [item for item in fields.get("Items", "").split("\n") if item]


ASK_HINT = (
    "A question for the interviewer ({topic}). Ask it aloud in your own words, "
    "and say what the answer would tell you about the role."
)


@dataclass(frozen=True)
class Sides:
    front: str
    back: str
    label: str = ""  # a one-line name for listings, when the front's first line is not one

    @property
    def summary(self) -> str:
        """One line that tells the card apart from its neighbours in a listing."""
        return self.label or self.front.split("\n", 1)[0]


@dataclass(frozen=True)
class Linked:
    """What a question's answer side shows from the user's own material."""

    stories: tuple[tuple[str, str], ...] = ()  # (title, beats) of linked stories
    pitch: str = ""  # the pitch outline, for "tell me about yourself" questions


def card_sides(note: Note, ord_: int = 0, linked: Linked | None = None) -> Sides:
    """The front and back of card *ord_* of *note*."""
    return sides_of(note.kind, note.fields, note.tags, ord_, linked)


def pitch_outline(f: dict[str, str]) -> str:
    return f"Who: {f.get('Who', '')}\nHighlights: {f.get('Accomplishments', '')}\nNext: {f.get('Next', '')}"


def sides_of(kind: str, f: dict[str, str], tags: list[str], ord_: int = 0, linked: Linked | None = None) -> Sides:
    """The two sides from a note's parts (for callers that load columns, not notes)."""
    if kind == NoteKind.QUESTION:
        competency = question_competency(tags)
        label = f.get("Competency") or competency.label
        lines = [f"Probes: {label}"]
        if linked and linked.pitch:
            lines += ["Your pitch:", linked.pitch]
        if linked and linked.stories:
            for title, outline in linked.stories:
                lines += [f"Your story — {title}:", outline]
        elif not (linked and linked.pitch):
            lines += [competency.hint, "No story linked yet: `srs story link STORY QUESTION` once you have one."]
        return Sides(f.get("Question", ""), "\n".join(lines))
    if kind == NoteKind.STORY:
        title = f.get("Title", "")
        content = story_card_content(f)
        if ord_ == BEATS:
            return Sides(f"Story: {title}\nOutline its beats ({f.get('Framework', 'STAR')}).", content.get(ord_, ""), f"Story: {title} · beats")
        if ord_ == NUMBERS:
            return Sides(f"Story: {title}\nWhat was the measurable result?", content.get(ord_, ""), f"Story: {title} · numbers")
        return Sides(f"Story: {title}\nWhat did you take away from it?", content.get(ord_, ""), f"Story: {title} · learning")
    if kind == NoteKind.PITCH:
        return Sides("Tell me about yourself.\nGive your pitch aloud: who you are, highlights, what you want next.", pitch_outline(f))
    if kind == NoteKind.CONCEPT:
        return Sides(f"{f.get('Context', '')} — {f.get('Term', '')}?", f.get("Definition", ""))
    if kind == NoteKind.ASK:
        goal = f.get("Goal", "")
        topic = f.get("Topic", "")
        if goal:  # recall a question that would reveal what you want to learn
            return Sides(
                f"A question for the interviewer ({topic})\nYou want to learn: {goal}", f.get("Question", ""), f"Ask to learn: {goal}"
            )
        # a plain question to ask: the question is the card, and the answer is why you would ask it
        return Sides(f.get("Question", ""), ASK_HINT.format(topic=topic))
    if kind == NoteKind.LIST:
        items = list_items(f)
        return Sides(f"{f.get('Context', '')} — name all {len(items)}", "\n".join(f"• {i}" for i in items))
    if kind == NoteKind.ANKI:  # imported from a foreign Anki note type: text rendered at import
        return Sides(f.get(f"Front {ord_}", ""), f.get(f"Back {ord_}", ""))
    # Kinds added later render their fields in order.
    values = [v for v in f.values() if v]
    return Sides(values[0] if values else "", "\n".join(values[1:]))


