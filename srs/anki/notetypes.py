"""The note types srs writes to Anki, with fixed ids so re-exports update them.

Field values are HTML-escaped by the exporter, so the templates only place
them; they use CSS and no scripts, and read on Anki desktop and AnkiDroid
alike. A story has three templates — beats, numbers, learning — and each
card's front is wrapped in a conditional on the field it asks about, so Anki
creates only the cards the story has content for, as srs does.
"""

from __future__ import annotations

from dataclasses import dataclass

from srs.domain import NoteKind

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  font-size: 20px; line-height: 1.45; text-align: left; color: #1d1d1f; background: #fff;
  max-width: 42em; margin: 0 auto; padding: 0 0.6em; }
.nightMode.card, .night_mode .card { color: #e8e8ea; background: #1e1e20; }
.kind { font-size: 0.7em; letter-spacing: 0.06em; text-transform: uppercase; color: #6e6e73; }
.prompt { font-size: 1.15em; font-weight: 600; margin: 0.3em 0 0.2em; }
.hint { font-size: 0.85em; color: #6e6e73; }
.label { font-weight: 600; }
.section { margin: 0.5em 0; }
hr#answer { border: none; border-top: 1px solid #c7c7cc; margin: 0.8em 0; }
"""


@dataclass(frozen=True)
class NoteType:
    kind: str
    model_id: int  # fixed forever: Anki matches note types by id
    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, front, back)


def _back(front: str, body: str) -> str:
    return front + '\n<hr id="answer">\n' + body


_Q_FRONT = '<div class="kind">Behavioral question · {{Competency}}</div>\n<div class="prompt">{{Question}}</div>'
_C_FRONT = '<div class="kind">{{Context}}</div>\n<div class="prompt">{{Term}}?</div>'
_A_FRONT = (
    '<div class="kind">Question for the interviewer · {{Topic}}</div>\n'
    '{{#Goal}}<div class="prompt">You want to learn: {{Goal}}</div>{{/Goal}}'
    '{{^Goal}}<div class="prompt">{{Question}}</div>{{/Goal}}'
)
_L_FRONT = '<div class="kind">List</div>\n<div class="prompt">{{Context}}</div>'
_S_KIND = '<div class="kind">Your story · {{Framework}}</div>\n'
_P_FRONT = '<div class="kind">Your pitch</div>\n<div class="prompt">Tell me about yourself.</div>'

NOTE_TYPES: dict[str, NoteType] = {
    NoteKind.QUESTION: NoteType(
        NoteKind.QUESTION,
        1_733_100_000_001,
        "srs Question",
        ("Question", "Competency", "Hint", "Stories"),
        (
            (
                "Answer aloud",
                _Q_FRONT,
                _back(
                    _Q_FRONT,
                    '{{#Stories}}<div class="section">{{Stories}}</div>{{/Stories}}'
                    '{{^Stories}}<div class="hint">{{Hint}}</div>{{/Stories}}',
                ),
            ),
        ),
    ),
    NoteKind.CONCEPT: NoteType(
        NoteKind.CONCEPT,
        1_733_100_000_002,
        "srs Concept",
        ("Context", "Term", "Definition"),
        (("Recall", _C_FRONT, _back(_C_FRONT, '<div class="section">{{Definition}}</div>')),),
    ),
    NoteKind.ASK: NoteType(
        NoteKind.ASK,
        1_733_100_000_003,
        "srs Ask",
        ("Question", "Topic", "Goal"),
        (
            (
                "Recall",
                _A_FRONT,
                _back(
                    _A_FRONT,
                    '{{#Goal}}<div class="section">{{Question}}</div>{{/Goal}}'
                    '{{^Goal}}<div class="hint">Ask it aloud in your own words, and say what the answer '
                    "would tell you about the role.</div>{{/Goal}}",
                ),
            ),
        ),
    ),
    NoteKind.LIST: NoteType(
        NoteKind.LIST,
        1_733_100_000_004,
        "srs List",
        ("Context", "Items"),
        (("Recall", _L_FRONT, _back(_L_FRONT, '<div class="section">{{Items}}</div>')),),
    ),
    NoteKind.STORY: NoteType(
        NoteKind.STORY,
        1_733_100_000_005,
        "srs Story",
        (
            "Title", "Framework", "Competencies", "Date", "Context", "Situation", "Task", "Action",
            "Result", "Learning", "Beats", "Numbers",
        ),
        (
            (
                "Beats",
                "{{#Beats}}" + _S_KIND + '<div class="prompt">{{Title}}</div><div class="hint">Outline its beats.</div>{{/Beats}}',
                _back(_S_KIND + '<div class="prompt">{{Title}}</div>', '<div class="section">{{Beats}}</div>'),
            ),
            (
                "Numbers",
                "{{#Numbers}}" + _S_KIND + '<div class="prompt">{{Title}}</div><div class="hint">What was the measurable result?</div>{{/Numbers}}',
                _back(_S_KIND + '<div class="prompt">{{Title}}</div>', '<div class="section">{{Numbers}}</div>'),
            ),
            (
                "Learning",
                "{{#Learning}}" + _S_KIND + '<div class="prompt">{{Title}}</div><div class="hint">What did you take away?</div>{{/Learning}}',
                _back(_S_KIND + '<div class="prompt">{{Title}}</div>', '<div class="section">{{Learning}}</div>'),
            ),
        ),
    ),
    NoteKind.PITCH: NoteType(
        NoteKind.PITCH,
        1_733_100_000_006,
        "srs Pitch",
        ("Who", "Accomplishments", "Next"),
        (
            (
                "Pitch",
                _P_FRONT,
                _back(
                    _P_FRONT,
                    '<div class="section"><span class="label">Who:</span> {{Who}}</div>'
                    '<div class="section"><span class="label">Highlights:</span> {{Accomplishments}}</div>'
                    '<div class="section"><span class="label">Next:</span> {{Next}}</div>',
                ),
            ),
        ),
    ),
}

BY_MODEL_ID = {t.model_id: t for t in NOTE_TYPES.values()}
