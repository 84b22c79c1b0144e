"""Markdown interview guide -> note specs.

A guide is read with markdown-it-py and three shapes of content become notes:

* a *question* (a list item or heading that is a question as a whole: it ends
  with "?" or opens with an interview prompt such as "Tell me about" or
  "Describe"), tagged with the competency it probes;
* a *concept*: a ``**Term**: definition`` list item, asked as
  "<framework> — <term>?" where the framework is the enclosing heading (or
  the parent list item);
* a *list*: two or more bold-only items in one list, asked as one card.

Under a heading about questions *for* the interviewer, questions become
``ask`` notes instead. Building is pure: the result depends only on the text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from srs.competencies import classify, heading_competency
from srs.domain import NoteKind
from srs.errors import GuideError

# Markdown parsing costs up to about 10 µs a byte on pathological input (a
# line of "![" repeated) and a few hundred bytes of tokens a line: these
# limits keep any guide within seconds and well under a hundred MB. A real
# guide is a few hundred lines.
MAX_GUIDE_BYTES = 512 * 1024
MAX_GUIDE_LINES = 20_000

_PROMPT = re.compile(
    r"^(tell (me|us)|describe|give (me |us )?(an? )?(example|time|situation)|walk (me|us) through|"
    r"talk (me |us )?(about|through)|share (a|an|about|one)|explain (a|an|how|why|what|your)|"
    r"recall a time|think of a time)\b",
    re.IGNORECASE,
)
_ASK_SECTION = re.compile(
    r"questions? for (the |your |an? )?(interviewer|hiring|company|employer|panel)|questions? to ask|"
    r"ask(ing)? (the |your )?(interviewer|hiring)|reverse interview",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’«»"
_LEADING_SYMBOLS = re.compile(r"^[^\w\"“'(\[]+")
_FRAMEWORK_WORDS = re.compile(r"\b(method|framework|model|technique)\b", re.IGNORECASE)
_QUESTION_LABEL = re.compile(r"^(q\d*|question\s*\d*)\s*[:.)-]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class NoteSpec:
    """One note a guide asks for: its kind, identity key, fields and tags."""

    kind: str
    key: str
    fields: dict[str, str]
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Guide:
    title: str
    notes: list[NoteSpec]


def normalise(text: str) -> str:
    """Identity form of a text: case, punctuation, quotes and spacing ignored."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def slug(text: str) -> str:
    return "-".join(normalise(text).split())[:60] or "general"


def clean_heading(text: str) -> str:
    return _LEADING_SYMBOLS.sub("", text).strip()


def without_parentheses(text: str) -> str:
    """*text* with each "(...)" taken out, in one pass (a regex would rescan an unclosed "(" for every one)."""
    out, start = [], 0
    while True:
        open_ = text.find("(", start)
        close = text.find(")", open_ + 1) if open_ >= 0 else -1
        if close < 0:
            out.append(text[start:])
            return " ".join(out)
        out.append(text[start:open_])
        start = close + 1


def framework_name(text: str) -> str:
    """'STAR Method' -> 'STAR'; 'CARL Method (Alternative)' -> 'CARL'."""
    name = _FRAMEWORK_WORDS.sub(" ", without_parentheses(clean_heading(text)))
    return " ".join(name.split()).strip(" :-—") or clean_heading(text)


def strip_question(text: str) -> str:
    """The question's words without list labels, wrapping quotes or emphasis."""
    text = _QUESTION_LABEL.sub("", text.strip())
    text = text.strip().strip("*_").strip()
    if len(text) >= 2 and text[0] in _QUOTES:
        closing = max(text.rfind(q) for q in _QUOTES)
        if closing > 0:
            inner, tail = text[1:closing], text[closing + 1 :]
            if tail.strip(" .!?*_") == "":
                text = inner
    return text.strip().strip("*_").strip()


def is_question(text: str) -> bool:
    words = text.split()
    if not words or len(words) > 60:
        return False
    if text.rstrip(_QUOTES + "*_ ").endswith("?"):
        return True
    return bool(_PROMPT.match(text)) and len(words) <= 40


@dataclass
class _Inline:
    plain: str
    lead_bold: str | None  # text of a bold run opening the item
    rest: str  # plain text after that run


def _analyse_inline(children: list[Any]) -> _Inline:
    parts: list[str] = []
    lead_bold: str | None = None
    bold_depth = 0
    bold_buffer: list[str] = []
    rest_start: int | None = None
    seen_text = False
    for child in children:
        kind = child.type
        if kind == "strong_open":
            bold_depth += 1
            if not seen_text and lead_bold is None and bold_depth == 1:
                bold_buffer = []
            continue
        if kind == "strong_close":
            bold_depth -= 1
            if lead_bold is None and not seen_text and bold_depth == 0:
                lead_bold = "".join(bold_buffer).strip()
                rest_start = len(parts)
            continue
        if kind in ("softbreak", "hardbreak"):
            text = " "
        elif kind in ("text", "code_inline"):
            text = child.content
        elif kind == "image":
            text = child.content or ""
        else:
            continue
        parts.append(text)
        if bold_depth and lead_bold is None and not seen_text:
            bold_buffer.append(text)
        elif text.strip():
            seen_text = True
    plain = " ".join("".join(parts).split())
    rest = " ".join("".join(parts[rest_start:]).split()) if rest_start is not None else plain
    return _Inline(plain=plain, lead_bold=lead_bold or None, rest=rest if lead_bold else plain)


def _term_definition(inline: _Inline) -> tuple[str, str] | None:
    """('Situation', 'Provide context.') for '**Situation**: Provide context.'"""
    if not inline.lead_bold:
        return None
    term, rest = inline.lead_bold, inline.rest
    if term.endswith(":"):
        term, definition = term[:-1], rest
    elif rest[:1] in (":", "—", "–") or rest.startswith(" - ") or rest.startswith("- "):
        definition = rest.lstrip(":—–- ")
    else:
        return None
    term, definition = term.strip(), definition.strip()
    if not term or not definition:
        return None
    return term, definition


def _bold_only(inline: _Inline) -> bool:
    return bool(inline.lead_bold) and inline.rest.strip(" .,;:") == ""


class _Builder:
    def __init__(self) -> None:
        self.notes: list[NoteSpec] = []
        self.keys: set[tuple[str, str]] = set()

    def add(self, spec: NoteSpec) -> None:
        ident = (spec.kind, spec.key)
        if spec.key and ident not in self.keys:  # a repeated item is one note
            self.keys.add(ident)
            self.notes.append(spec)


def parse_guide(data: bytes | str, name: str = "guide") -> Guide:
    """Parse a guide's text into note specs; raise GuideError if it has none."""
    from markdown_it import MarkdownIt

    if isinstance(data, bytes):
        if len(data) > MAX_GUIDE_BYTES:
            raise GuideError(f"{name} is too large for a guide (the limit is {MAX_GUIDE_BYTES:,} bytes)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise GuideError(f"{name} is not UTF-8 text (bad byte at offset {exc.start})") from None
    else:
        text = data
    if "\x00" in text:
        raise GuideError(f"{name} is not a text file (it contains NUL bytes)")
    if text.count("\n") >= MAX_GUIDE_LINES:
        raise GuideError(f"{name} has more than {MAX_GUIDE_LINES:,} lines; a guide srs reads is at most that long")
    if not text.strip():
        raise GuideError(f"{name} is empty")

    tokens = MarkdownIt("commonmark").parse(text)
    builder = _Builder()
    headings: list[tuple[int, str]] = []
    items: list[_Inline | None] = []  # open list items, outermost first
    lists: list[list[_Inline]] = []  # bold-only items of each open list
    title = ""

    def section() -> str:
        return headings[-1][1] if headings else ""

    def in_ask_section() -> bool:
        texts = [h for _, h in headings] + [i.plain for i in items[:-1] if i is not None]
        return any(_ASK_SECTION.search(t) for t in texts)

    def parent_text() -> str | None:
        for parent in reversed(items[:-1]):
            if parent is not None:
                return parent.plain.rstrip(" :")
        return None

    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            level = int(token.tag[1:])
            heading = clean_heading(_analyse_inline(tokens[index + 1].children or []).plain)
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, heading))
            if level == 1 and not title:
                title = heading
            question = strip_question(heading)
            if level > 1 and question.endswith("?") and is_question(question):
                _add_question(builder, question, headings[:-1], in_ask_section())
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append([])
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            bold_items = lists.pop()
            if len(bold_items) >= 2:
                context = parent_text_for_list(items, headings)
                names = [b.lead_bold or "" for b in bold_items]
                builder.add(
                    NoteSpec(
                        NoteKind.LIST,
                        normalise(context),
                        {"Context": context, "Items": "\n".join(names)},
                        [slug(section() or context)],
                    )
                )
        elif token.type == "list_item_open":
            items.append(None)
        elif token.type == "list_item_close":
            items.pop()
        elif (
            token.type == "inline"
            and index >= 2
            and tokens[index - 1].type == "paragraph_open"
            and tokens[index - 2].type == "list_item_open"
            and items
        ):
            inline = _analyse_inline(token.children or [])
            items[-1] = inline
            _classify_item(builder, inline, headings, parent_text(), in_ask_section(), lists)
    if not builder.notes:
        raise GuideError(f"{name} has no questions or '**Term**: definition' items to make cards from")
    return Guide(title=title, notes=builder.notes)


def parent_text_for_list(items: list[_Inline | None], headings: list[tuple[int, str]]) -> str:
    """What a list is about: the item it is nested in, else its heading."""
    parent = items[-1] if items else None
    heading = headings[-1][1] if headings else ""
    if parent is not None:
        lead = parent.plain.rstrip(" :")
        return f"{heading}: {lead}" if heading else lead
    return heading or "List"


def _classify_item(
    builder: _Builder,
    inline: _Inline,
    headings: list[tuple[int, str]],
    parent: str | None,
    ask: bool,
    lists: list[list[_Inline]],
) -> None:
    pair = _term_definition(inline)
    if pair is not None:
        term, definition = pair
        if ask and is_question(strip_question(definition)):
            topic = headings[-1][1] if headings else "Interviewer"
            question = strip_question(definition)
            builder.add(
                NoteSpec(
                    NoteKind.ASK,
                    normalise(question),
                    {"Topic": topic, "Goal": term, "Question": question},
                    [slug(topic)],
                )
            )
            return
        context = framework_name(parent) if parent else framework_name(headings[-1][1] if headings else "Concepts")
        builder.add(
            NoteSpec(
                NoteKind.CONCEPT,
                normalise(f"{context} {term}"),
                {"Context": context, "Term": term, "Definition": definition},
                [slug(context)],
            )
        )
        return
    if _bold_only(inline) and lists and not is_question(strip_question(inline.plain)):
        lists[-1].append(inline)
        return
    question = strip_question(inline.plain)
    if is_question(question):
        _add_question(builder, question, headings, ask)


def _add_question(builder: _Builder, question: str, headings: list[tuple[int, str]], ask: bool) -> None:
    heading = headings[-1][1] if headings else ""
    if ask:
        topic = heading or "Interviewer"
        builder.add(NoteSpec(NoteKind.ASK, normalise(question), {"Topic": topic, "Goal": "", "Question": question}, [slug(topic)]))
        return
    competency = (heading_competency(heading) if heading else None) or classify(question)
    builder.add(
        NoteSpec(
            NoteKind.QUESTION,
            normalise(question),
            {"Question": question, "Competency": competency.label},
            [competency.slug],
        )
    )


def stable_guid(*parts: str) -> str:
    """A 10-character guid derived from where a note first came from."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    number = int.from_bytes(digest[:12], "big")
    out = []
    for _ in range(10):
        number, rem = divmod(number, len(alphabet))
        out.append(alphabet[rem])
    return "".join(out)
