"""Anki card templates and field HTML turned into terminal text.

Enough of Anki's template language for imported note types: field
replacement with filters (``text:``, ``cloze:``, ``hint:``, ``type:``),
conditional sections ``{{#F}}``/``{{^F}}``, ``{{FrontSide}}`` and cloze
deletions ``{{cN::text::hint}}``; then HTML becomes plain text with line
breaks, and media references become visible names.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from srs.anki.formats import NoteType

_SOUND = re.compile(r"\[sound:([^\[\]]+)\]")  # no "[" inside: one pass, however many are left open
_BLOCK = {"br", "div", "p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}

# Templates and fields come from packages other people share: everything
# here is a single pass with str.find (regular expressions that search for a
# closing "}}" again from every opening "{{" take quadratic time on text full
# of openings that never close).


def _cloze(text: str, ord_: int, front: bool) -> str:
    """Cloze deletions {{cN::text::hint}} of card *ord_* hidden (front) or marked (back); the others shown."""
    number = ord_ + 1
    out, start = [], 0
    while True:
        open_ = text.find("{{c", start)
        if open_ < 0:
            break
        digits = open_ + 3
        end_digits = digits
        while end_digits < len(text) and text[end_digits].isdigit():
            end_digits += 1
        if end_digits == digits or not text.startswith("::", end_digits):
            out.append(text[start : open_ + 3])
            start = open_ + 3
            continue
        close = text.find("}}", end_digits + 2)
        if close < 0:
            break  # no closing braces anywhere after: nothing further can be a cloze
        body, _, hint = text[end_digits + 2 : close].partition("::")
        out.append(text[start:open_])
        if int(text[digits:end_digits]) != number:
            out.append(body)
        elif front:
            out.append(f"[{hint}]" if hint else "[...]")
        else:
            out.append(f"[{body}]")
        start = close + 2
    out.append(text[start:])
    return "".join(out)


@dataclass
class _Node:
    """A parsed template: text, a field ("name" with filters) or a section ("#name"/"^name") with children."""

    kind: str  # "text", "field", "#", "^"
    value: str
    children: list[_Node] = field(default_factory=list)


@functools.lru_cache(maxsize=256)  # a package has a few templates and thousands of cards: each is parsed once
def _parse_template(template: str) -> tuple[_Node, ...]:
    """Anki's template syntax as a tree, in one pass; an unmatched closing tag is dropped, an unclosed section closes at the end."""
    root: list[_Node] = []
    stack: list[tuple[_Node | None, list[_Node]]] = [(None, root)]
    depths: dict[str, list[int]] = {}  # where each name's open sections sit on the stack
    start = 0
    while True:
        open_ = template.find("{{", start)
        close = template.find("}}", open_ + 2) if open_ >= 0 else -1
        if close < 0:
            stack[-1][1].append(_Node("text", template[start:]))
            break
        stack[-1][1].append(_Node("text", template[start:open_]))
        tag = template[open_ + 2 : close].strip()
        start = close + 2
        if tag[:1] in ("#", "^"):
            node = _Node(tag[0], tag[1:].strip())
            stack[-1][1].append(node)
            depths.setdefault(node.value, []).append(len(stack))
            stack.append((node, node.children))
        elif tag[:1] == "/":
            open_at = depths.get(tag[1:].strip())
            if open_at:  # close the nearest open section of that name, and any opened inside it
                target = open_at[-1]
                while len(stack) > target:
                    section, _ = stack.pop()
                    assert section is not None
                    depths[section.value].pop()
        elif tag:
            stack[-1][1].append(_Node("field", tag))
    return tuple(root)


def render_template(template: str, fields: dict[str, str], ord_: int = 0, front_side: str = "", front: bool = True) -> str:
    """Fill an Anki template with a note's fields (HTML in, HTML out)."""

    def field_value(spec: str) -> str:
        if spec == "FrontSide":
            return front_side
        *filters, name = spec.split(":")
        value = fields.get(name.strip(), "")
        for flt in reversed([f.strip() for f in filters]):
            if flt == "cloze":
                value = _cloze(value, ord_, front)
            elif flt == "text":
                value = html.escape(html_to_text(value))
            elif flt == "type":
                value = ""
        return value

    out: list[str] = []
    pending = list(reversed(_parse_template(template)))
    while pending:  # iteratively, so nesting depth costs no recursion
        node = pending.pop()
        if node.kind == "text":
            out.append(node.value)
        elif node.kind == "field":
            out.append(field_value(node.value))
        elif bool(fields.get(node.value, "").strip()) == (node.kind == "#"):
            pending.extend(reversed(node.children))
    return "".join(out)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            self.parts.append(f"[image: {src}]")
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


# The fast path's grammar: a start tag with plain attributes (quoted, unquoted or bare), optionally self-closed, or an
# end tag with nothing but its name. Anything else that opens with "<" (a comment, a doctype, a "<" in running
# text, a tag left open) goes to the standard library's parser, which the fast path matches exactly where it
# applies (tests/test_anki_render.py checks the two against each other on generated HTML).
_TAG = re.compile(
    r"<(?:/([A-Za-z][A-Za-z0-9]*)\s*"
    r"|([A-Za-z][A-Za-z0-9]*)((?:\s+[^\s\"'>/=<]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*(/?))>"
)
# (an unquoted value possessive, ++: as in _TAG, "a.jpg/" before ">" is the value, and the tag is not self-closed)
_ATTRS = r"((?:\s+[^\s\"'>/=<]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]++))?)*)"
_BLOCK_NAMES = r"(?:br|div|p|li|tr|h[1-6]|hr)(?![A-Za-z0-9])"
# Most fields hold neither pictures nor raw-text elements: for them the tags go in three substitutions done in C,
# block tags self-closed (a start and an end tag to the standard parser), block tags, then every other tag
_NEEDS_A_LOOK = re.compile(r"</?(?:img|script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext)(?![A-Za-z0-9])", re.I)
_BLOCK_CLOSED = re.compile(r"<" + _BLOCK_NAMES + _ATTRS + r"\s*/>", re.I)
_BLOCK_TAG = re.compile(r"<(?:/" + _BLOCK_NAMES + r"\s*|" + _BLOCK_NAMES + _ATTRS + r"\s*)>", re.I)
_SRC = re.compile(r"""([^\s"'>/=<]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
# elements whose content the standard parser reads differently (raw text, or so in newer Pythons): never fast
_SLOW_TAGS = {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}
_CUT = "\x00"  # where a dropped tag was: the standard parser unescapes the text between two tags apart
_BREAK, _BREAKS = "<\x01>", "<\x02>"  # where a block tag was (a self-closed one: two breaks), until the last pass


def _fast_text(value: str) -> str | None:
    """What ``_TextParser`` makes of *value*, without it, for the HTML cards usually hold (one regular expression
    substitution, ~10x faster); None when *value* has anything the fast grammar does not cover."""
    if "<" not in value:
        return html.unescape(value) if "&" in value else value
    if _CUT in value:
        return None
    if not _NEEDS_A_LOOK.search(value) and _BREAK not in value and _BREAKS not in value:
        # A block tag becomes a mark that itself opens with "<", so no later pass can read it as part of another
        # tag (a tag that swallowed it would not have been one before); the marks become line breaks at the end.
        out = _TAG.sub(_CUT, _BLOCK_TAG.sub(_BREAK, _BLOCK_CLOSED.sub(_BREAKS, value)))
        out = out.replace(_BREAKS, "\n\n").replace(_BREAK, "\n")
        if "<" in out:  # a "<" that opens no tag the grammar knows: the standard parser reads it
            return None
        return (html.unescape(out) if "&" in out else out).replace(_CUT, "")
    slow = False

    def replace(tag: re.Match[str]) -> str:
        nonlocal slow
        end, name = tag.group(1), tag.group(2)
        name = (end or name).lower()
        if name in _SLOW_TAGS:
            slow = True
        elif name == "img" and not end:
            src = ""
            for attr in _SRC.finditer(tag.group(3)):  # the last src wins, as in dict(attrs)
                if attr.group(1).lower() == "src":
                    src = next((g for g in attr.groups()[1:] if g is not None), "")
            return f"{_CUT}[image: {src}]{_CUT}"  # (unescaped below once, as the standard parser unescapes attributes)
        elif name in _BLOCK:
            return "\n\n" if tag.group(4) else "\n"  # <br/>: a start and an end tag to the standard parser
        return _CUT

    out = _TAG.sub(replace, value)
    if slow or "<" in out:  # a tag the grammar leaves to the standard parser, or a "<" that opens none
        return None
    return (html.unescape(out) if "&" in out else out).replace(_CUT, "")


def html_to_text(value: str) -> str:
    """Readable text from field HTML: tags dropped, breaks kept, media named."""
    value = _SOUND.sub(lambda m: f"[sound: {m.group(1)}]", value)
    text = _fast_text(value)
    if text is None:
        parser = _TextParser()
        parser.feed(value)
        parser.close()
        text = "".join(parser.parts)
    # every run of spaces within a line one space, no space at a line's ends, at most one empty line in a row
    text = _SPACES.sub(" ", text.replace("\xa0", " "))
    return _EMPTY_LINES.sub("\n\n", _LINE_ENDS.sub("\n", text)).strip()


_SPACES = re.compile(r"[^\S\n]+")
_LINE_ENDS = re.compile(r" ?\n ?")
_EMPTY_LINES = re.compile(r"\n{3,}")


def card_text(
    template: tuple[str, str, str], fields: dict[str, str], ord_: int, cloze: bool, text_of: Callable[[str], str] = html_to_text,
) -> tuple[str, str]:
    """(front, back) text of one card of a note (*text_of*: html_to_text, or one that remembers the note's fields)."""
    _, qfmt, afmt = template
    card_ord = ord_ if cloze else 0
    front_html = render_template(qfmt, fields, card_ord, front=True)
    back_html = render_template(afmt, fields, card_ord, front_side=front_html, front=False)
    front = text_of(front_html)
    back = text_of(back_html)
    if back.startswith(front):  # the usual {{FrontSide}}<hr id=answer>...: show only the answer
        back = back[len(front) :].strip() or back
    return front, back


def foreign_fields(nt: NoteType, values: list[str], ords: list[int]) -> dict[str, str]:
    """The text srs shows for a note of a foreign note type: each field as text, and each card's two sides."""
    raw = dict(zip(nt.fields, values))
    known = {value: html_to_text(value) for value in raw.values()}  # a side that is one field ({{Front}}) is its text

    def text_of(html_: str) -> str:
        if html_ not in known:
            known[html_] = html_to_text(html_)
        return known[html_]

    fields = {name: known[value] for name, value in raw.items()}
    for ord_ in ords:
        template = nt.templates[0] if nt.cloze else (nt.templates[ord_] if ord_ < len(nt.templates) else None)
        if template is None:
            continue
        front, back = card_text(template, raw, ord_, nt.cloze, text_of)
        fields[f"Front {ord_}"] = front
        fields[f"Back {ord_}"] = back
    return fields
