"""The story bank: the user's own STAR/CARL answers as notes with cards.

A story is written as Markdown with YAML front matter (title, date,
competencies, impact / scope / involvement scores, tags) and one section per
part of its framework. It is stored as a note of kind ``story`` (its text in
the note's fields, so export carries it) plus a ``stories`` row for the
numbers and flags. What gets reviewed is not the script but three small
recall targets, each a card only when the story has the content:

* the *beats* (ord 0): a one-line outline of the story's parts;
* the *numbers* (ord 1): the measurable result;
* the *learning* (ord 2): what the user took away.

Editing a story rewrites its fields in place; its cards keep their id and
progress, and a card whose content disappears is suspended, not deleted.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from srs.competencies import BY_SLUG, COMPETENCIES
from srs.errors import NotFoundError, StoryError
from srs.models import Card, Note, NoteKind, Story, StoryLink

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STORIES_DECK = "Interview::Stories"
MAX_STORY_BYTES = 256 * 1024  # a story or pitch file: a hundred times two minutes aloud
MAX_BRAG_BYTES = 512 * 1024  # a brag document or journal: a guide's limits (guide.py)
MAX_FRONT_MATTER_BYTES = 16 * 1024
MAX_FRONT_MATTER_DEPTH = 3  # a mapping of scalars and lists: deeper is not a story's front matter
TODO = "TODO"
STAR_SECTIONS = ("Situation", "Task", "Action", "Result")
CARL_SECTIONS = ("Context", "Action", "Result")
OPTIONAL_SECTIONS = ("Learning", "Notes")
ALL_SECTIONS = ("Context", "Situation", "Task", "Action", "Result", "Learning", "Notes")
SCORES = ("impact", "scope", "involvement")
KNOWN_KEYS = {"title", "date", "competencies", "tags", "favorite", *SCORES}

BEATS, NUMBERS, LEARNING = 0, 1, 2

_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twenty|hundred|thousand|million|billion|"
    r"half|twice|double[ds]?|tripled?|quadrupled?)\b|%|\$|€|£",
    re.IGNORECASE,
)


@dataclass
class StorySpec:
    """A story as the user writes it."""

    title: str
    sections: dict[str, str]
    competencies: list[str] = field(default_factory=list)  # slugs
    date: str = ""
    impact: int | None = None
    scope: int | None = None
    involvement: int | None = None
    tags: list[str] = field(default_factory=list)
    favorite: bool = False

    @property
    def framework(self) -> str:
        return "CARL" if self.sections.get("Context") else "STAR"

    def section(self, name: str) -> str:
        text = self.sections.get(name, "").strip()
        return "" if text == TODO else text

    @property
    def is_draft(self) -> bool:
        return any(v.strip() == TODO for v in self.sections.values())


TEMPLATE = """\
---
title: {title}
date: {date}
# Competencies this story shows, comma-separated. Known: {known}
competencies: {competencies}
# How big was it, 1 (small) to 5 (large)? How central was your part?
impact: {impact}
scope: {scope}
involvement: {involvement}
tags: {tags}
favorite: {favorite}
---
<!-- STAR: fill Situation, Task, Action, Result. For CARL, replace Situation
and Task with one "## Context" section. Learning is optional for STAR.
Write TODO in a section to keep it for later. Lines inside these comment
markers are ignored. -->

{body}"""


def known_competencies() -> str:
    return ", ".join(c.slug for c in COMPETENCIES)


def render_story(spec: StorySpec) -> str:
    """The Markdown text of a story, as the editor shows it (without control characters an import may have brought)."""
    from srs.sanitize import printable

    spec = StorySpec(
        title=printable(spec.title), sections={k: printable(v) for k, v in spec.sections.items()},
        competencies=spec.competencies, date=printable(spec.date), impact=spec.impact, scope=spec.scope,
        involvement=spec.involvement, tags=[printable(t) for t in spec.tags], favorite=spec.favorite,
    )
    order = ("Context",) if spec.sections.get("Context") else ("Situation", "Task")
    names = [*order, "Action", "Result", "Learning"]
    if spec.sections.get("Notes"):
        names.append("Notes")
    body = "\n".join(f"## {name}\n{spec.sections.get(name, '').strip()}\n" for name in names)

    def score(value: int | None) -> str:
        return "" if value is None else str(value)

    return TEMPLATE.format(
        title=_yaml_scalar(spec.title),
        date=_yaml_scalar(spec.date),
        known=known_competencies(),
        competencies=", ".join(spec.competencies),
        impact=score(spec.impact),
        scope=score(spec.scope),
        involvement=score(spec.involvement),
        tags=", ".join(spec.tags),
        favorite="true" if spec.favorite else "false",
        body=body,
    )


def blank_story() -> StorySpec:
    return StorySpec(title="", sections={name: "" for name in STAR_SECTIONS})


def new_guid() -> str:
    """A random 10-character guid for a note the user writes (fixed from then on)."""
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10))


def _yaml_scalar(text: str) -> str:
    """*text* as a YAML value: plain when YAML reads it back unchanged, else quoted."""
    import json

    import yaml

    if text == "":
        return ""
    try:
        if yaml.safe_load(f"k: {text}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def resolve_competency(name: str) -> str:
    """A competency slug from a slug or label; StoryError naming the closest if unknown."""
    wanted = name.strip().lower()
    for c in COMPETENCIES:
        if wanted in (c.slug, c.label.lower()):
            return c.slug
    candidates = [c.slug for c in COMPETENCIES] + [c.label.lower() for c in COMPETENCIES]
    close = difflib.get_close_matches(wanted, candidates, n=1, cutoff=0.5)
    hint = ""
    if close:
        match = next(c for c in COMPETENCIES if close[0] in (c.slug, c.label.lower()))
        hint = f"; did you mean {match.slug!r}?"
    raise StoryError(f"unknown competency {name.strip()!r}{hint} (known: {known_competencies()})")


def _list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    raise StoryError(f"front matter: {key} must be a comma-separated list")


def _score(value: Any, key: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise StoryError(f"front matter: {key} must be a whole number from 1 to 5, got {value!r}")
    return value


def reject_controls(text: str, what: str) -> None:
    """StoryError naming the line of the first terminal control character in *text* (the user's own writing has none)."""
    from srs.sanitize import first_control

    found = first_control(text)
    if found is not None:
        line, char = found
        raise StoryError(f"line {line}: a control character (U+{ord(char):04X}) is not allowed in {what}; remove it")


def strip_comments(text: str) -> str:
    """*text* without ``<!-- ... -->`` comments, in one pass (an unclosed one runs to the end)."""
    out, start = [], 0
    while True:
        open_ = text.find("<!--", start)
        if open_ < 0:
            out.append(text[start:])
            return "".join(out)
        out.append(text[start:open_])
        close = text.find("-->", open_ + 4)
        if close < 0:
            return "".join(out)
        start = close + 3


def heading(line: str) -> str | None:
    """The text of a Markdown ATX heading line (``## Action ##`` -> ``Action``), else None.

    Written out rather than as a regular expression: a heading line padded
    with thousands of spaces made the pattern's backtracking cubic.
    """
    hashes = len(line) - len(line.lstrip("#"))
    if not 1 <= hashes <= 6 or len(line) == hashes or not line[hashes].isspace():
        return None
    text = line[hashes:].strip()
    closing = text.rstrip("#")
    if closing != text and (not closing or closing[-1].isspace()):  # a closing run of #s
        text = closing.strip()
    return text


def safe_yaml(text: str, where: str = "front matter") -> Any:
    """YAML front matter, read without aliases, deep nesting or more than a few KB.

    A 533-byte "billion laughs" document expands to gigabytes through its
    aliases, and ten thousand nested brackets exhaust the recursion of
    PyYAML's composer; the events are checked (a flat stream) before anything
    is built.
    """
    import yaml

    if len(text.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
        raise StoryError(f"{where} is longer than {MAX_FRONT_MATTER_BYTES // 1024} KB")
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise StoryError(f"{where}: YAML anchors and aliases (&name, *name) are not allowed")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_FRONT_MATTER_DEPTH:
                    raise StoryError(f"{where}: nested too deeply (use 'key: value' lines and comma-separated lists)")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise StoryError(f"{where}{line}: {problem}") from None


def parse_story(text: str) -> StorySpec:
    """Parse a story file; StoryError says what is wrong and where."""
    reject_controls(text, "a story")
    text = strip_comments(text.replace("\r\n", "\n")).lstrip("\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise StoryError("a story starts with front matter: a line '---', 'key: value' lines, and '---'")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise StoryError("front matter is not closed: add a line '---' after it") from None
    meta = safe_yaml("\n".join(lines[1:end])) or {}
    if not isinstance(meta, dict):
        raise StoryError("front matter must be 'key: value' lines")
    unknown = sorted(set(map(str, meta)) - KNOWN_KEYS)
    if unknown:
        raise StoryError(f"front matter: unknown key {unknown[0]!r} (known: {', '.join(sorted(KNOWN_KEYS))})")
    title = meta.get("title")
    if title is None or not str(title).strip():
        raise StoryError("front matter: title is missing")
    when = meta.get("date")
    favorite = meta.get("favorite", False)
    if not isinstance(favorite, bool):
        raise StoryError(f"front matter: favorite must be true or false, got {favorite!r}")
    # Front matter first, so its errors come before those of the sections.
    competencies = list(dict.fromkeys(resolve_competency(c) for c in _list(meta.get("competencies"), "competencies")))
    scores = {key: _score(meta.get(key), key) for key in SCORES}
    tags = _list(meta.get("tags"), "tags")
    spec = StorySpec(
        title=" ".join(str(title).split()),
        sections=_sections("\n".join(lines[end + 1 :]), end + 2),
        competencies=competencies,
        date=when.isoformat() if isinstance(when, (date, datetime)) else ("" if when is None else str(when)),
        tags=tags,
        favorite=favorite,
        **scores,
    )
    if spec.favorite and "favorite-project" not in spec.competencies:
        spec.competencies.append("favorite-project")
    return spec


def _sections(body: str, first_line: int) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current: str | None = None
    for offset, line in enumerate(body.split("\n")):
        title = heading(line)
        if title is not None:
            name = title.strip("*_").strip().rstrip(":").title()
            if name not in ALL_SECTIONS:
                shown = title if len(title) <= 60 else title[:60] + "…"
                raise StoryError(
                    f"line {first_line + offset}: unknown section {shown!r} (sections: {', '.join(ALL_SECTIONS)})"
                )
            if name in found:
                raise StoryError(f"line {first_line + offset}: section {name} appears twice")
            found[name] = []
            current = name
        elif current is not None:
            found[current].append(line)
        elif line.strip():
            raise StoryError(f"line {first_line + offset}: text before the first section heading")
    sections = {name: "\n".join(text).strip() for name, text in found.items()}
    carl = "Context" in sections
    if carl and ("Situation" in sections or "Task" in sections):
        raise StoryError("use either Context (CARL) or Situation and Task (STAR), not both")
    required = CARL_SECTIONS if carl else STAR_SECTIONS
    for name in required:
        if name not in sections:
            raise StoryError(f"section {name} is missing (write TODO in it to fill it later)")
    for name, text in sections.items():
        if not text and name in required:
            raise StoryError(f"section {name} is empty: write it, write TODO to keep it for later, or remove it")
    return {name: text for name, text in sections.items() if text}


# --- what each card asks ----------------------------------------------------


def first_sentence(text: str, max_words: int = 14) -> str:
    text = " ".join(text.replace("\n", " ").split())
    sentence = re.split(r"(?<=[.!?;])\s", text, maxsplit=1)[0].rstrip(".;")
    words = sentence.split()
    return " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")


def beats(fields: dict[str, str]) -> str:
    """One line: the first sentence of each part."""
    parts = ("Context",) if fields.get("Context") else ("Situation", "Task")
    names = [*parts, "Action", "Result"]
    out = []
    for name in names:
        text = fields.get(name, "").strip()
        if text and text != TODO:
            out.append(f"{name[0]}: {first_sentence(text)}")
    return " → ".join(out)


def numbers(fields: dict[str, str]) -> str:
    """The sentences of the Result that carry a number, unit or comparison."""
    result = fields.get("Result", "").strip()
    if not result or result == TODO:
        return ""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(result.split()))
    return " ".join(s for s in sentences if _NUMBER.search(s))


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


def story_fields(spec: StorySpec) -> dict[str, str]:
    fields = {name: spec.sections.get(name, "") for name in ALL_SECTIONS}
    fields["Title"] = spec.title
    fields["Framework"] = spec.framework
    fields["Competencies"] = ", ".join(BY_SLUG[c].label for c in spec.competencies)
    fields["Date"] = spec.date
    return fields


def spec_of(note: Note, story: Story) -> StorySpec:
    f = note.fields
    return StorySpec(
        title=f.get("Title", ""),
        sections={n: f[n] for n in ALL_SECTIONS if f.get(n)},
        competencies=list(story.competencies),
        date=f.get("Date", ""),
        impact=story.impact,
        scope=story.scope,
        involvement=story.involvement,
        tags=list(note.tags),
        favorite=story.favorite,
    )


# --- storage ------------------------------------------------------------------


def save_story(session: Session, spec: StorySpec, now: datetime, story_id: int | None = None) -> Note:
    """Create a story, or update story *story_id* in place; the caller commits."""
    from sqlalchemy import select, update

    from srs.decks import get_or_create_deck

    if story_id is None:
        note = Note(
            guid=new_guid(),
            kind=NoteKind.STORY,
            fields={},
            tags=[],
            source="stories",
            orphaned=False,
            created=now,
            modified=now,
        )
        session.add(note)
        session.flush()
        story = Story(note_id=note.id, competencies=[], favorite=False)
        session.add(story)
    else:
        note, story = get_story(session, story_id)
    fields = story_fields(spec)
    if note.fields != fields or note.tags != spec.tags:
        note.fields = fields
        note.tags = list(spec.tags)
        note.modified = now
    story.competencies = list(spec.competencies)
    story.impact, story.scope, story.involvement = spec.impact, spec.scope, spec.involvement
    if spec.favorite and not story.favorite:
        session.execute(update(Story).where(Story.note_id != note.id).values(favorite=False))
    story.favorite = spec.favorite
    session.flush()

    content = story_card_content(fields)
    existing = {c.ord: c for c in session.scalars(select(Card).where(Card.note_id == note.id))}
    deck = get_or_create_deck(session, STORIES_DECK, now)
    position = (session.scalar(select(Card.position).order_by(Card.position.desc()).limit(1)) or 0) + 1
    for ord_ in (BEATS, NUMBERS, LEARNING):
        card = existing.get(ord_)
        if ord_ in content and card is None:
            session.add(Card(note_id=note.id, ord=ord_, deck_id=deck.id, position=position, created=now, modified=now))
        elif card is not None and card.suspended == (ord_ in content):
            card.suspended = ord_ not in content  # content gone: suspend; back: resume
            card.modified = now
    session.flush()
    return note


def get_story(session: Session, story_id: int) -> tuple[Note, Story]:
    note = session.get(Note, story_id)
    story = session.get(Story, story_id)
    if note is None or story is None or note.kind != NoteKind.STORY or note.orphaned:
        raise NotFoundError(f"no story with id {story_id} (see `srs story list`)")
    return note, story


def remove_story(session: Session, story_id: int, now: datetime, purge: bool = False) -> None:
    """Remove a story: keep its review history (suspended), or purge everything."""
    from sqlalchemy import delete, select

    from srs.models import Review

    note, story = get_story(session, story_id)
    if purge:
        card_ids = list(session.scalars(select(Card.id).where(Card.note_id == note.id)))
        session.execute(delete(Review).where(Review.card_id.in_(card_ids)))
        session.execute(delete(Card).where(Card.id.in_(card_ids)))
        session.execute(delete(StoryLink).where(StoryLink.story_id == note.id))
        session.delete(story)
        session.flush()
        session.delete(note)
    else:
        note.orphaned = True
        note.modified = now
        for card in session.scalars(select(Card).where(Card.note_id == note.id)):
            card.suspended = True
            card.modified = now
    session.flush()


def all_stories(session: Session) -> list[tuple[Note, Story]]:
    from sqlalchemy import select

    rows = session.execute(
        select(Note, Story).join(Story, Story.note_id == Note.id).where(Note.orphaned.is_(False)).order_by(Note.id)
    ).all()
    return [(n, s) for n, s in rows]


def rank_score(story: Story) -> float:
    """Business impact, scope and personal involvement, equally weighted (missing = 0)."""
    return float(sum(getattr(story, k) or 0 for k in SCORES))


def story_recall(session: Session, note_id: int, now: datetime) -> float | None:
    """Mean current recall probability of a story's reviewed cards."""
    from sqlalchemy import select

    from srs.review import Schedulers
    from srs.scheduler import memory_of
    from srs.settings import clock_for

    schedulers = Schedulers(session, clock_for(session))
    values = []
    for card in session.scalars(select(Card).where(Card.note_id == note_id, Card.suspended.is_(False))):
        r = schedulers.for_card(card).retrievability(memory_of(card), now)
        if r is not None:
            values.append(r)
    return sum(values) / len(values) if values else None


def list_stories(session: Session, now: datetime, rank: bool = False) -> list[dict[str, Any]]:
    """The ``srs story list --json`` rows."""
    from sqlalchemy import func, select

    links = dict(
        session.execute(select(StoryLink.story_id, func.count()).group_by(StoryLink.story_id)).all()
    )
    rows = []
    for note, story in all_stories(session):
        recall = story_recall(session, note.id, now)
        rows.append(
            {
                "id": note.id,
                "guid": note.guid,
                "title": note.fields.get("Title", ""),
                "framework": note.fields.get("Framework", "STAR"),
                "date": note.fields.get("Date", ""),
                "competencies": list(story.competencies),
                "impact": story.impact,
                "scope": story.scope,
                "involvement": story.involvement,
                "score": rank_score(story),
                "favorite": story.favorite,
                "draft": any(v.strip() == TODO for v in note.fields.values()),
                "linked_questions": links.get(note.id, 0),
                "recall": round(recall, 4) if recall is not None else None,
                "tags": list(note.tags),
            }
        )
    if rank:
        rows.sort(key=lambda r: (-r["score"], -(r["involvement"] or 0), -(r["impact"] or 0), r["id"]))
    return rows


# --- links ----------------------------------------------------------------------


def find_question(session: Session, ref: str) -> Note:
    """A question note by id, or by a unique text match."""
    from sqlalchemy import select

    if ref.strip().isdigit():
        note = session.get(Note, int(ref))
        if note is None or note.kind != NoteKind.QUESTION:
            raise NotFoundError(f"no question with id {ref}")
        return note
    from srs.guide import normalise

    wanted = normalise(ref)
    if not wanted:
        raise NotFoundError("give a question id or some words of the question")
    questions = list(
        session.scalars(select(Note).where(Note.kind == NoteKind.QUESTION, Note.orphaned.is_(False)).order_by(Note.id))
    )
    hits = [q for q in questions if wanted in normalise(q.fields.get("Question", ""))]
    if not hits:
        texts = {normalise(q.fields.get("Question", "")): q for q in questions}
        close = difflib.get_close_matches(wanted, list(texts), n=3, cutoff=0.6)
        hits = [texts[c] for c in close]
    if not hits:
        raise NotFoundError(f"no question matches {ref!r}")
    if len(hits) > 1:
        shown = "; ".join(f"{q.id}: {q.fields.get('Question', '')}" for q in hits[:5])
        raise NotFoundError(f"{len(hits)} questions match {ref!r}, give an id: {shown}")
    return hits[0]


def link_story(session: Session, story_id: int, question_ref: str, now: datetime) -> Note:
    note, _ = get_story(session, story_id)
    question = find_question(session, question_ref)
    if session.get(StoryLink, (note.id, question.id)) is None:
        session.add(StoryLink(story_id=note.id, question_id=question.id, created=now))
        session.flush()
    return question


def unlink_story(session: Session, story_id: int, question_ref: str) -> Note:
    note, _ = get_story(session, story_id)
    question = find_question(session, question_ref)
    link = session.get(StoryLink, (note.id, question.id))
    if link is None:
        raise NotFoundError(f"story {story_id} is not linked to question {question.id}")
    session.delete(link)
    session.flush()
    return question


class StoryIndex:
    """All links and the favorite story, loaded once (for exporting many questions)."""

    def __init__(self, session: Session) -> None:
        from sqlalchemy import select

        stories = {n.id: (n, s) for n, s in all_stories(session)}
        self.links: dict[int, list[tuple[Note, Story]]] = {}
        for story_id, question_id in session.execute(
            select(StoryLink.story_id, StoryLink.question_id).order_by(StoryLink.story_id)
        ):
            if story_id in stories:
                self.links.setdefault(question_id, []).append(stories[story_id])
        self.favorite = next(((n, s) for n, s in stories.values() if s.favorite), None)

    def for_question(self, question: Note) -> list[tuple[Note, Story]]:
        found = list(self.links.get(question.id, []))
        if "favorite-project" in question.tags and self.favorite is not None:
            if all(n.id != self.favorite[0].id for n, _ in found):
                found.insert(0, self.favorite)
        return found


def stories_for_question(session: Session, question: Note) -> list[tuple[Note, Story]]:
    """Stories linked to a question; the favorite story answers favorite-project questions."""
    from sqlalchemy import select

    rows = session.execute(
        select(Note, Story)
        .join(Story, Story.note_id == Note.id)
        .join(StoryLink, StoryLink.story_id == Note.id)
        .where(StoryLink.question_id == question.id, Note.orphaned.is_(False))
        .order_by(Note.id)
    ).all()
    found = [(n, s) for n, s in rows]
    if "favorite-project" in question.tags:
        favorite = session.execute(
            select(Note, Story).join(Story, Story.note_id == Note.id).where(Story.favorite.is_(True), Note.orphaned.is_(False))
        ).first()
        if favorite is not None and all(n.id != favorite[0].id for n, _ in found):
            found.insert(0, (favorite[0], favorite[1]))
    return found


# --- coverage ---------------------------------------------------------------------


def coverage(session: Session, now: datetime) -> dict[str, Any]:
    """Competencies x stories with recall, and the gaps (``srs coverage --json``)."""
    from sqlalchemy import select

    stories = all_stories(session)
    recall = {note.id: story_recall(session, note.id, now) for note, _ in stories}
    rows = []
    for c in COMPETENCIES:
        having = [(n, s) for n, s in stories if c.slug in s.competencies]
        rows.append(
            {
                "competency": c.slug,
                "label": c.label,
                "stories": [
                    {
                        "id": n.id,
                        "title": n.fields.get("Title", ""),
                        "recall": round(recall[n.id], 4) if recall[n.id] is not None else None,
                    }
                    for n, _ in having
                ],
                "too_few": len(having) < 2,
            }
        )
    from srs.pitch import get_pitch

    linked = set(session.scalars(select(StoryLink.question_id)))
    has_favorite = any(s.favorite for _, s in stories)
    has_pitch = get_pitch(session) is not None
    missing = []
    for q in session.scalars(select(Note).where(Note.kind == NoteKind.QUESTION, Note.orphaned.is_(False)).order_by(Note.id)):
        if q.id in linked or (has_favorite and "favorite-project" in q.tags) or (has_pitch and "about-you" in q.tags):
            continue  # answered by a linked story, the favorite project or the pitch
        missing.append({"id": q.id, "question": q.fields.get("Question", ""), "competency": (q.tags or ["general"])[0]})
    return {
        "stories": [{"id": n.id, "title": n.fields.get("Title", "")} for n, _ in stories],
        "competencies": rows,
        "questions_without_story": missing,
    }


# --- brag document import ---------------------------------------------------------


@dataclass
class BragEntry:
    title: str
    notes: list[str]
    when: str  # the period heading it sat under, if any


def parse_brag(text: str) -> list[BragEntry]:
    """(title, notes) for each accomplishment in a brag document or journal.

    A top-level bullet is an accomplishment (its nested bullets and
    paragraphs are its notes). A heading is one too when no bullets sit
    under it; a heading over bullets is only a period or theme, and the
    bullets under it are the accomplishments.
    """
    from markdown_it import MarkdownIt

    from srs.guide import MAX_GUIDE_LINES, _analyse_inline

    if text.count("\n") >= MAX_GUIDE_LINES:
        raise StoryError(f"the brag document has more than {MAX_GUIDE_LINES:,} lines; split it")
    tokens = MarkdownIt("commonmark").parse(text)
    # Blocks: ("heading", text) / ("bullet", text) / ("text", text), in order.
    blocks: list[tuple[str, str]] = []
    depth = 0
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            blocks.append(("heading", _analyse_inline(tokens[index + 1].children or []).plain.strip()))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            plain = _analyse_inline(token.children or []).plain.strip()
            top_item = depth == 1 and index >= 2 and tokens[index - 2].type == "list_item_open"
            if plain:
                blocks.append(("bullet" if top_item else "text", plain))
    if blocks and blocks[0][0] == "heading" and sum(kind == "heading" for kind, _ in blocks) > 1:
        first_level_title = tokens[0].tag == "h1" if tokens else False
        if first_level_title:
            blocks = blocks[1:]  # the document's own title
    entries: list[BragEntry] = []
    period = ""
    for index, (kind, value) in enumerate(blocks):
        if kind == "heading":
            following = []
            for later_kind, _ in blocks[index + 1 :]:
                if later_kind == "heading":
                    break
                following.append(later_kind)
            if "bullet" in following:
                period = value  # a period or theme: it dates the bullets under it
                entries.append(BragEntry("", [], ""))  # text under it is no one's note
            else:
                entries.append(BragEntry(value, [], period))
        elif kind == "bullet":
            entries.append(BragEntry(value, [], period))
        elif entries:
            entries[-1].notes.append(value)
    out = []
    for entry in entries:
        if not entry.title:
            continue
        short = first_sentence(entry.title, 12)
        if short != entry.title.rstrip("."):
            entry.notes.insert(0, entry.title)  # keep the whole line
        out.append(BragEntry(short, entry.notes, entry.when))
    return out


def import_brag(session: Session, text: str, now: datetime) -> tuple[list[Note], int]:
    """Draft stories from a brag document; returns (new drafts, entries already present)."""
    from srs.guide import normalise

    entries = parse_brag(text)
    if not entries:
        raise StoryError("no accomplishments found: use one heading or top-level bullet per accomplishment")
    existing = {normalise(n.fields.get("Title", "")) for n, _ in all_stories(session)}
    created, skipped = [], 0
    for entry in entries:
        if normalise(entry.title) in existing:
            skipped += 1
            continue
        existing.add(normalise(entry.title))
        sections = {name: TODO for name in STAR_SECTIONS}
        sections["Learning"] = TODO
        if entry.notes:
            sections["Notes"] = "\n".join(entry.notes)
        spec = StorySpec(title=entry.title, sections=sections, date=entry.when)
        created.append(save_story(session, spec, now))
    return created, skipped


# --- what the review session shows and edits ----------------------------------------


def linked_for(session: Session, note: Note) -> Any:
    """The user's material shown on a question's answer side."""
    from srs.pitch import get_pitch
    from srs.templates import Linked, pitch_outline

    if note.kind != NoteKind.QUESTION:
        return None
    stories = tuple((n.fields.get("Title", ""), beats(n.fields)) for n, _ in stories_for_question(session, note))
    pitch = ""
    if "about-you" in note.tags:
        pitch_note = get_pitch(session)
        if pitch_note is not None:
            pitch = pitch_outline(pitch_note.fields)
    return Linked(stories=stories, pitch=pitch)


def editable_behind(session: Session, note: Note) -> tuple[str, int | None] | None:
    """What `e` opens for a card of *note*: ('story', id), ('pitch', None) or None."""
    if note.kind == NoteKind.STORY:
        return ("story", note.id)
    if note.kind == NoteKind.PITCH:
        return ("pitch", None)
    if note.kind == NoteKind.QUESTION:
        linked = stories_for_question(session, note)
        if linked:
            return ("story", linked[0][0].id)
        if "about-you" in note.tags:
            return ("pitch", None)
    return None
