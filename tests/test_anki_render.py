"""Field HTML to text: the fast path gives what the standard library's parser gives, wherever it applies."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from srs.anki.render import _fast_text, _TextParser, html_to_text

EXAMPLES = int(os.environ.get("SRS_FUZZ_EXAMPLES", "300"))


def _standard(value: str) -> str:
    parser = _TextParser()
    parser.feed(value)
    parser.close()
    return "".join(parser.parts)


_NAMES = st.sampled_from(["b", "i", "u", "B", "div", "DIV", "br", "p", "li", "ul", "ol", "span", "img", "IMG", "a", "h1",
                          "hr", "font", "table", "tr", "td", "sup", "script", "style", "title", "textarea", "x1"])
_VALUES = st.sampled_from(["a.jpg", "b&amp;c.png", "x y", "", "&lt;b&gt;", "a>b", "é.png", "1", "&notit;", "'", '"', "a.jpg/",
                           "<br>", "x/", "<div>"])
_ATTR_NAMES = st.sampled_from(["src", "SRC", "class", "style", "href", "alt", "data-x", "id"])


@st.composite
def _attribute(draw: st.DrawFn) -> str:
    name, value = draw(_ATTR_NAMES), draw(_VALUES)
    quote = draw(st.sampled_from(['"', "'", "", None]))
    if quote is None:
        return f" {name}"
    if quote == "" and (not value or any(c in value for c in " \"'=<>`")):
        quote = '"' if '"' not in value else "'"
    if quote and quote in value:
        quote = "'" if quote == '"' else '"'
    return f"{draw(st.sampled_from([' ', '  ', chr(10)]))}{name}{draw(st.sampled_from(['=', ' = ']))}{quote}{value}{quote}"


@st.composite
def _tag(draw: st.DrawFn) -> str:
    name = draw(_NAMES)
    kind = draw(st.sampled_from(["start", "end", "self"]))
    if kind == "end":
        return f"</{name}{draw(st.sampled_from(['', ' ']))}>"
    attrs = "".join(draw(st.lists(_attribute(), max_size=3)))
    return f"<{name}{attrs}{' /' if kind == 'self' and draw(st.booleans()) else '/' if kind == 'self' else ''}>"


_TEXT = st.lists(st.sampled_from(list("ab xyz\n\t.") + ["&amp;", "&nbsp;", "&lt;", "&#65;", "&#x42;", "&", "&am",
                                                                  "p;", "&notin", ";", "é", "\u00a0", "<", ">", "<!--", "-->",
                                                                  "</", "[sound:a.mp3]", "{{c1::x}}"]), max_size=8).map("".join)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.one_of(_tag(), _TEXT), max_size=12))
def test_the_fast_path_reads_html_as_the_standard_parser_does(pieces: list[str]) -> None:
    """On generated field HTML (tags with quoted, unquoted and bare attributes, self-closed tags, entities split by tags,
    stray "<"), the fast path either declines or gives exactly the standard parser's text."""
    value = "".join(pieces)
    fast = _fast_text(value)
    if fast is not None:
        assert fast == _standard(value), value


def test_the_fast_path_takes_the_html_anki_notes_usually_hold() -> None:
    """Formatting, lists, line breaks, entities and images, as Anki's editor writes them, go the fast way, with the
    text a reader expects."""
    field = ('<div><b>Situation</b>: p99 was <i>180&nbsp;ms</i>.</div><div><br></div><ul><li>batched calls</li>'
             '<li>distilled&nbsp;model</li></ul><img src="chart&amp;1.png"><br/>[sound:take.mp3]')
    assert _fast_text(field) is not None
    assert html_to_text(field) == ("Situation: p99 was 180 ms.\n\nbatched calls\n\ndistilled model\n[image: chart&1.png]\n\n"
                                   "[sound: take.mp3]")
    for declined in ("a < b", "<!-- note -->x", "<script>x</script>", "<b", "<style>b{}</style>"):
        assert _fast_text(declined) is None
        assert html_to_text(declined) == " ".join(_standard(declined).split())


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab \n\t\r\x0b\x0c\x1c\x85\u2028\u3000\xa0")), max_size=30))
def test_spaces_and_empty_lines_are_tidied_as_line_by_line_would(text: str) -> None:
    """The substitutions that tidy the text give what splitting it into lines and each line into words gives: one
    space between words (every kind of white space), none at a line's ends, at most one empty line in a row."""
    lines = [" ".join(line.split()) for line in text.replace("\xa0", " ").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    assert html_to_text(text.replace("&", "")) == "\n".join(out).strip()
