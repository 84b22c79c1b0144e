"""Parsing Markdown guides written in different styles into note specs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srs.errors import GuideError
from srs.guide import is_question, normalise, parse_guide, strip_question

# Shaped like the reference guide: emoji headings, bold quoted questions in a
# numbered list, **Term**: definition items under framework headings.
REFERENCE_STYLE = """\
# Prep notes for ML interviews

## 🎯 What they look for
- Signals that matter:
  - **Ownership**: You drove the work yourself.
  - **Clarity**: You explain models plainly.

## 🏗 Answer structure
### 🔹 STAR Method
- **Situation**: Set the scene.
- **Task**: Name the goal.
- **Action**: Say what you did.
- **Result**: Give the outcome.

### 🔹 CARL Method (Alternative)
- **Context**: Scene and goal together.
- **Learning**: The lesson.

## 🎤 Questions
### 🔹 Key Behavioral Questions to Prepare For
1. **"Tell me about yourself."**
2. **"Describe your favorite ML project."**
3. **"Tell me about a conflict you resolved."**

### 🔹 Prepare Questions for the Interviewer
- Avoid **generic questions** like "Tell me about a day in the life".
- Instead, ask about:
  - **Roadmap and risks**.
  - **Tooling and culture**.
"""

# Someone else's guide: plain bullets, no quotes, question marks, headings
# naming competencies, a question given as a heading, a "Q1:" label.
PLAIN_STYLE = """\
Interview question bank
=======================

Conflict
--------

* How did you handle a disagreement with a teammate?
* Describe a time you pushed back on a product decision

Failure
-------

+ Q1: What is a mistake you learned from?
+ Tell us about a project that failed.

## Why did you leave your last job?

Some closing words that are not a question.
"""

# Bold questions without quotes, numbered with parentheses, and
# "**Term** — definition" with a dash instead of a colon.
MIXED_STYLE = """\
## Leadership questions
1) **Give an example of mentoring a junior engineer**
2) _Walk me through how you led a launch._

## Glossary
- **Offline metric** — a score computed on held-out data.
- **Online metric:** a score measured on live traffic.
"""


def kinds(text: str) -> list[tuple[str, dict[str, str]]]:
    return [(n.kind, n.fields) for n in parse_guide(text).notes]


def test_reference_style_guide() -> None:
    """Questions, framework concepts and bold-only lists come out of a reference-style guide."""
    guide = parse_guide(REFERENCE_STYLE)
    assert guide.title == "Prep notes for ML interviews"
    questions = [n.fields["Question"] for n in guide.notes if n.kind == "question"]
    assert questions == ["Tell me about yourself.", "Describe your favorite ML project.", "Tell me about a conflict you resolved."]
    tags = {n.fields["Question"]: n.tags for n in guide.notes if n.kind == "question"}
    assert tags == {
        "Tell me about yourself.": ["about-you"],
        "Describe your favorite ML project.": ["favorite-project"],
        "Tell me about a conflict you resolved.": ["conflict"],
    }
    concepts = {(n.fields["Context"], n.fields["Term"]): n.fields["Definition"] for n in guide.notes if n.kind == "concept"}
    assert concepts[("STAR", "Situation")] == "Set the scene."
    assert concepts[("CARL", "Learning")] == "The lesson."
    assert concepts[("Signals that matter", "Ownership")] == "You drove the work yourself."
    lists = [n.fields for n in guide.notes if n.kind == "list"]
    assert lists == [
        {"Context": "Prepare Questions for the Interviewer: Instead, ask about", "Items": "Roadmap and risks\nTooling and culture"}
    ]
    # "Avoid ... like 'Tell me about a day in the life'" is advice, not a question to drill.
    assert not any("day in the life" in str(n.fields) for n in guide.notes)


def test_plain_style_guide() -> None:
    """Setext headings, other bullet markers, missing question marks and labels are handled."""
    notes = kinds(PLAIN_STYLE)
    assert notes == [
        ("question", {"Question": "How did you handle a disagreement with a teammate?", "Competency": "Conflict"}),
        ("question", {"Question": "Describe a time you pushed back on a product decision", "Competency": "Conflict"}),
        ("question", {"Question": "What is a mistake you learned from?", "Competency": "Failure"}),
        ("question", {"Question": "Tell us about a project that failed.", "Competency": "Failure"}),
        ("question", {"Question": "Why did you leave your last job?", "Competency": "General"}),
    ]


def test_mixed_style_guide() -> None:
    """Bold or italic questions without quotes and dash-separated definitions are read."""
    notes = kinds(MIXED_STYLE)
    assert notes == [
        ("question", {"Question": "Give an example of mentoring a junior engineer", "Competency": "Collaboration & leadership"}),
        ("question", {"Question": "Walk me through how you led a launch.", "Competency": "Collaboration & leadership"}),
        ("concept", {"Context": "Glossary", "Term": "Offline metric", "Definition": "a score computed on held-out data."}),
        ("concept", {"Context": "Glossary", "Term": "Online metric", "Definition": "a score measured on live traffic."}),
    ]


def test_questions_for_the_interviewer_become_ask_notes() -> None:
    """Under a 'questions to ask' heading, questions are ask notes with their goal."""
    text = "## Questions to ask\n\n- **Team health**: How often do plans change mid-quarter?\n- What does on-call look like?\n"
    notes = kinds(text)
    assert notes == [
        ("ask", {"Topic": "Questions to ask", "Goal": "Team health", "Question": "How often do plans change mid-quarter?"}),
        ("ask", {"Topic": "Questions to ask", "Goal": "", "Question": "What does on-call look like?"}),
    ]


def test_a_plain_question_to_ask_is_the_front_of_its_card() -> None:
    """A plain bullet under 'Questions to ask' shows the question itself; a goal-first item asks for the question."""
    from srs.templates import sides_of

    text = "## Questions to ask\n\n- **Team health**: How often do plans change mid-quarter?\n- What does on-call look like?\n"
    (_, with_goal), (_, plain) = kinds(text)
    goal_sides = sides_of("ask", with_goal, [])
    assert goal_sides.front == "A question for the interviewer (Questions to ask)\nYou want to learn: Team health"
    assert goal_sides.back == "How often do plans change mid-quarter?"
    plain_sides = sides_of("ask", plain, [])
    assert plain_sides.front == "What does on-call look like?"
    assert "Questions to ask" in plain_sides.back and "What does on-call" not in plain_sides.back


def test_repeated_item_is_one_note() -> None:
    """The same question twice in a guide gives one note."""
    assert len(parse_guide("- Tell me about yourself.\n- tell me about yourself\n").notes) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"# Title\n\nJust prose, nothing to drill.\n", "no questions"),
        (b"a\x00b", "NUL"),
    ],
)
def test_bad_guides_are_rejected(data: bytes, message: str) -> None:
    """Empty, binary, non-UTF-8 and question-less guides raise GuideError."""
    with pytest.raises(GuideError, match=message):
        parse_guide(data, "g.md")


def test_question_detection() -> None:
    """Whole questions and interview prompts count; advice and fragments do not."""
    assert is_question("Tell me about a time you failed")
    assert is_question("What motivates you?")
    assert not is_question("What you took away from the experience.")
    assert not is_question("Avoid generic questions like this one.")
    assert strip_question('**"Tell me about yourself."**') == "Tell me about yourself."
    assert strip_question("Q3) Why ML?") == "Why ML?"


@given(st.text(max_size=400))
@settings(max_examples=200)
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    """Arbitrary text either yields notes with non-empty keys or raises GuideError."""
    try:
        guide = parse_guide(text)
    except GuideError:
        return
    assert guide.notes
    assert all(n.key and n.key == normalise(n.key) for n in guide.notes)
