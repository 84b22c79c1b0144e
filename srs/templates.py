"""How a note's fields become the two sides of its cards, as plain text.

Rendering for the terminal (colour, panels) happens in ``terminal.py``; this
module only decides what each side says, so the CLI, the exporters and the
tests share one answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from srs.competencies import BY_SLUG, GENERAL
from srs.models import Note, NoteKind


@dataclass(frozen=True)
class Sides:
    front: str
    back: str


def card_sides(note: Note, ord_: int = 0) -> Sides:
    """The front and back of card *ord_* of *note*."""
    return sides_of(note.kind, note.fields, note.tags, ord_)


def sides_of(kind: str, f: dict[str, str], tags: list[str], ord_: int = 0) -> Sides:
    """The two sides from a note's parts (for callers that load columns, not notes)."""
    if kind == NoteKind.QUESTION:
        competency = next((BY_SLUG[t] for t in tags if t in BY_SLUG), GENERAL)
        label = f.get("Competency") or competency.label
        back = f"Probes: {label}\n{competency.hint}\nAnswer aloud: situation, your actions, the measured result."
        return Sides(f.get("Question", ""), back)
    if kind == NoteKind.CONCEPT:
        return Sides(f"{f.get('Context', '')} — {f.get('Term', '')}?", f.get("Definition", ""))
    if kind == NoteKind.ASK:
        goal = f.get("Goal", "")
        topic = f.get("Topic", "")
        if goal:
            front = f"A question for the interviewer ({topic})\nYou want to learn: {goal}"
        else:
            front = f"A question for the interviewer about {topic}"
        return Sides(front, f.get("Question", ""))
    if kind == NoteKind.LIST:
        items = [i for i in f.get("Items", "").split("\n") if i]
        return Sides(f"{f.get('Context', '')} — name all {len(items)}", "\n".join(f"• {i}" for i in items))
    # Kinds added later render their fields in order.
    values = [v for v in f.values() if v]
    return Sides(values[0] if values else "", "\n".join(values[1:]))


