"""Text from outside srs, made safe to show: the one path untrusted text takes to the terminal.

Card fields, deck and preset names, story titles, file names and error
messages that quote them may come from a shared deck, a package, a file or
the database. Shown raw, an ESC sequence in them could set the terminal's
title, write the clipboard (OSC 52) or clear the screen, and a bidi override
could make text read differently from what it is. ``printable`` removes C0
and C1 control characters (keeping newlines), DEL, bidi and zero-width
formatting characters and line separators; ``json_text`` writes JSON whose
text holds none of them raw (they are escaped, so nothing is lost). Rich is
used with markup off, so ``[`` in a card is just a bracket.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls but tab and newline; DEL and C1 (U+0080-U+009F, which a UTF-8
# terminal may read as CSI, OSC, ...); zero-width and bidi marks, embeddings,
# overrides and isolates; the Arabic letter mark; line and paragraph separators.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def first_control(text: str) -> tuple[int, str] | None:
    """(line number, character) of the first character ``printable`` would remove (tabs and CR aside), or None."""
    match = _CONTROL.search(text.replace("\r\n", "\n").replace("\t", " "))
    if match is None:
        return None
    return text.count("\n", 0, match.start()) + 1, match.group()


def printable(text: object) -> str:
    """*text* without terminal control characters; tabs become spaces, CR LF a newline."""
    return _CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\t", "    "))


# A field longer than this is cut where srs shows it (a shared deck may carry a
# 16 MB field; the terminal cannot use it and rich would take minutes to lay it out).
SHOW_LIMIT = 20_000


def shown(text: object, limit: int = SHOW_LIMIT) -> str:
    """``printable`` text, cut at *limit* characters with a note saying how much was left out."""
    value = str(text)
    if len(value) <= limit:
        return printable(value)
    return printable(value[:limit]) + f"\n… ({len(value) - limit:,} more characters not shown)"


def one_line(text: object) -> str:
    """``printable`` text on one line (for a listing's cell or a summary)."""
    return " ".join(printable(text).split())


def json_text(data: Any, indent: int | None = 2) -> str:
    """JSON of *data*, readable (non-ASCII kept) but with every control character escaped.

    ``json.dumps`` escapes C0 controls itself; DEL, C1 and the formatting
    characters ``printable`` removes are written as ``\\uXXXX`` escapes, so
    the JSON still holds them but the terminal never receives them.
    """
    raw = json.dumps(data, indent=indent, ensure_ascii=False)
    return _CONTROL_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", raw)
