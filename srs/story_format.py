"""A story as the user writes it: the Markdown-with-front-matter format, parsed and rendered.

A story is YAML front matter (title, date, competencies, impact / scope /
involvement scores, tags, favorite) and one ``## Section`` per part of its
framework: Situation, Task, Action, Result (STAR) or one Context instead of
Situation and Task (CARL), then optional Learning and Notes. This module
holds only the text format and the brag-document reader: no database, so it
can be tested on strings and reused by any command.

Everything here reads untrusted text within bounds: the front matter is
checked event by event before it is built (no aliases, shallow nesting, a few
KB), headings and comments are found without backtracking patterns, and a
terminal control character is an error naming its line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from srs.competencies import BY_SLUG, COMPETENCIES
from srs.errors import StoryError
from srs.guide import MAX_GUIDE_LINES, _analyse_inline
from srs.sanitize import first_control, printable
from srs.templates import TODO, first_sentence

MAX_STORY_BYTES = 256 * 1024  # a story or pitch file: a hundred times two minutes aloud
MAX_BRAG_BYTES = 512 * 1024  # a brag document or journal: a guide's limits (guide.py)
MAX_FRONT_MATTER_BYTES = 16 * 1024
MAX_FRONT_MATTER_DEPTH = 3  # a mapping of scalars and lists: deeper is not a story's front matter
STAR_SECTIONS = ("Situation", "Task", "Action", "Result")
CARL_SECTIONS = ("Context", "Action", "Result")
OPTIONAL_SECTIONS = ("Learning", "Notes")
ALL_SECTIONS = ("Context", "Situation", "Task", "Action", "Result", "Learning", "Notes")
SCORES = ("impact", "scope", "involvement")
KNOWN_KEYS = {"title", "date", "competencies", "tags", "favorite", *SCORES}


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



def story_fields(spec: StorySpec) -> dict[str, str]:
    fields = {name: spec.sections.get(name, "") for name in ALL_SECTIONS}
    fields["Title"] = spec.title
    fields["Framework"] = spec.framework
    fields["Competencies"] = ", ".join(BY_SLUG[c].label for c in spec.competencies)
    fields["Date"] = spec.date
    return fields



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


