"""How a note's fields become the two sides of its cards, as plain text.

Rendering for the terminal (colour, panels) happens in ``terminal.py``; this
module only decides what each side says, so the CLI, the exporters and the
tests share one answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from srs.competencies import BY_SLUG, GENERAL
from srs.models import Note, NoteKind


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
        competency = next((BY_SLUG[t] for t in tags if t in BY_SLUG), GENERAL)
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
        from srs.stories import BEATS, NUMBERS, story_card_content

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
        items = [i for i in f.get("Items", "").split("\n") if i]
        return Sides(f"{f.get('Context', '')} — name all {len(items)}", "\n".join(f"• {i}" for i in items))
    if kind == "anki":  # imported from a foreign Anki note type: text rendered at import
        return Sides(f.get(f"Front {ord_}", ""), f.get(f"Back {ord_}", ""))
    # Kinds added later render their fields in order.
    values = [v for v in f.values() if v]
    return Sides(values[0] if values else "", "\n".join(values[1:]))


