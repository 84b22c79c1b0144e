"""Anki card templates and field HTML turned into terminal text.

Enough of Anki's template language for imported note types: field
replacement with filters (``text:``, ``cloze:``, ``hint:``, ``type:``),
conditional sections ``{{#F}}``/``{{^F}}``, ``{{FrontSide}}`` and cloze
deletions ``{{cN::text::hint}}``; then HTML becomes plain text with line
breaks, and media references become visible names.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_SECTION = re.compile(r"\{\{([#^])\s*([^}]+?)\s*\}\}(.*?)\{\{/\s*\2\s*\}\}", re.DOTALL)
_FIELD = re.compile(r"\{\{\s*([^#^/}][^}]*?)\s*\}\}")
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
_SOUND = re.compile(r"\[sound:([^\]]+)\]")
_BLOCK = {"br", "div", "p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}


def _cloze(text: str, ord_: int, front: bool) -> str:
    number = ord_ + 1

    def repl(match: re.Match[str]) -> str:
        n, body, hint = int(match.group(1)), match.group(2), match.group(3)
        if n != number:
            return body
        if front:
            return f"[{hint}]" if hint else "[...]"
        return f"[{body}]"

    return _CLOZE.sub(repl, text)


def render_template(template: str, fields: dict[str, str], ord_: int = 0, front_side: str = "", front: bool = True) -> str:
    """Fill an Anki template with a note's fields (HTML in, HTML out)."""

    def section(match: re.Match[str]) -> str:
        kind, name, body = match.group(1), match.group(2), match.group(3)
        present = bool(fields.get(name, "").strip())
        return body if present == (kind == "#") else ""

    previous = None
    text = template
    while previous != text:  # nested sections
        previous, text = text, _SECTION.sub(section, text)

    def field(match: re.Match[str]) -> str:
        spec = match.group(1)
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
            elif flt == "hint":
                value = value
        return value

    return _FIELD.sub(field, text)


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


def html_to_text(value: str) -> str:
    """Readable text from field HTML: tags dropped, breaks kept, media named."""
    value = _SOUND.sub(lambda m: f"[sound: {m.group(1)}]", value)
    parser = _TextParser()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def card_text(template: tuple[str, str, str], fields: dict[str, str], ord_: int, cloze: bool) -> tuple[str, str]:
    """(front, back) text of one card of a note."""
    _, qfmt, afmt = template
    card_ord = ord_ if cloze else 0
    front_html = render_template(qfmt, fields, card_ord, front=True)
    back_html = render_template(afmt, fields, card_ord, front_side=front_html, front=False)
    front = html_to_text(front_html)
    back = html_to_text(back_html)
    if back.startswith(front):  # the usual {{FrontSide}}<hr id=answer>...: show only the answer
        back = back[len(front) :].strip() or back
    return front, back
