"""Hostile input: shared decks that try to take over the terminal, small files that try to hang srs or eat memory.

Every case ends in srs's one-line error (exit 1) or a correct result, within
seconds, with the database and the media folder unchanged on failure.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from srs.cli import cli

from .conftest import write
from .test_anki_import import valid_package

NOW = "2026-11-25T08:00:00"


def run(db: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner(env=env).invoke(cli, ["--db", str(db), "--now", NOW, "--keys-from-stdin", *args], input=input)


def snapshot(db: Path) -> list[tuple[str, int]]:
    """Row counts of every table: what a failed import must leave as it was."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables]
    finally:
        conn.close()


def doctored(tmp_path: Path, name: str, *statements: str) -> Path:
    """A valid package whose collection was changed by *statements* (as an attacker would)."""
    source = valid_package(tmp_path / "source")
    work = tmp_path / f"{name}-work"
    work.mkdir()
    with zipfile.ZipFile(source) as archive:
        archive.extractall(work)
    conn = sqlite3.connect(work / "collection.anki2")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    out = tmp_path / f"{name}.apkg"
    with zipfile.ZipFile(out, "w") as archive:
        for file in work.iterdir():
            archive.write(file, file.name)
    return out


ENDLESS = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"


HOSTILE_COLLECTIONS = [
    (
        "revlog view",
        ("DROP TABLE revlog",
         f"CREATE VIEW revlog AS {ENDLESS} SELECT x AS id, 1 AS cid, -1 AS usn, 3 AS ease, 1 AS ivl, 0 AS lastIvl, "
         "2500 AS factor, 1000 AS time, 1 AS type FROM r"),
        "the package's revlog is a view, not a table: srs reads only plain tables",
    ),
    (
        "notes view",
        ("DROP TABLE notes",
         f"CREATE VIEW notes AS {ENDLESS} SELECT x AS id, 'g' || x AS guid, 1 AS mid, 0 AS mod, -1 AS usn, '' AS tags, "
         "printf('%.*c', 100000, 'x') AS flds, '' AS sfld, 0 AS csum, 0 AS flags, '' AS data FROM r"),
        "the package's notes is a view, not a table: srs reads only plain tables",
    ),
    (
        "generated column",
        ("ALTER TABLE notes ADD COLUMN big TEXT GENERATED ALWAYS AS (printf('%.*c', 500000000, 'x')) VIRTUAL",),
        "the package's notes table has generated columns: srs reads only plain tables",
    ),
    (
        "huge field",
        ("UPDATE notes SET flds = printf('%.*c', 2000000, 'x') || char(31) || 'b' WHERE id = (SELECT min(id) FROM notes)",),
        "has a field of 2,000,000 characters; srs imports fields of up to 1,048,576",
    ),
]


@pytest.mark.parametrize(("name", "statements", "message"), HOSTILE_COLLECTIONS)
def test_packages_are_data_not_programs(tmp_path: Path, name: str, statements: tuple[str, ...], message: str) -> None:
    """Views, generated columns and oversized fields are refused at once with one line; nothing changes."""
    package = doctored(tmp_path, name.replace(" ", "-"), *statements)
    db = tmp_path / "c.db"
    assert run(db, "status").exit_code == 0
    before = snapshot(db)
    started = time.monotonic()
    result = run(db, "import", str(package))
    assert time.monotonic() - started < 30  # a hang or a gigabyte would not finish
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert message in result.output
    assert snapshot(db) == before


@pytest.mark.parametrize(("name", "statements", "message"), HOSTILE_COLLECTIONS)
def test_a_synced_collection_is_read_as_warily_as_a_package(tmp_path: Path, name: str, statements: tuple[str, ...], message: str) -> None:
    """`srs sync` reads the replica a server sent with the package reader's guards: a doctored one is refused, nothing changes."""
    from datetime import datetime, timezone

    from srs.anki.import_ import import_collection
    from srs.db import open_database
    from srs.errors import ImportError_

    package = doctored(tmp_path, name.replace(" ", "-"), *statements)
    with zipfile.ZipFile(package) as archive:
        archive.extract("collection.anki2", tmp_path / "replica")
    db = tmp_path / "c.db"
    assert run(db, "status").exit_code == 0
    before = snapshot(db)
    database = open_database(db)
    started = time.monotonic()
    said = message.split(":")[0].replace("the package's", "the server's collection's")  # worded for what a server sent
    with database.session(write=True) as session, pytest.raises(ImportError_, match=said) as refused:
        import_collection(session, tmp_path / "replica" / "collection.anki2", datetime(2026, 11, 25, 8, tzinfo=timezone.utc))
    assert "package" not in str(refused.value)
    database.close()
    assert time.monotonic() - started < 30
    assert snapshot(db) == before


def test_a_query_that_runs_too_long_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its step budget (set tiny here) the reading stops with one line instead of running on."""
    from srs.anki import formats

    package = doctored(  # an honest revlog of 20,000 rows: its reading needs more steps than the budget
        tmp_path, "rows", f"INSERT INTO revlog {ENDLESS.replace('FROM r)', 'FROM r LIMIT 20000)')} "
        "SELECT 1700000000000 + x, (SELECT min(id) FROM cards), -1, 3, 1, 0, 2500, 1000, 1 FROM r",
    )
    assert run(tmp_path / "honest.db", "import", str(package)).exit_code == 0  # within the real budget
    monkeypatch.setattr(formats, "STEPS_FLOOR", 0)
    monkeypatch.setattr(formats, "STEPS_PER_BYTE", 0)
    db = tmp_path / "c.db"
    result = run(db, "import", str(package))
    assert result.exit_code == 1 and "takes far longer to read than its size allows" in result.output
    assert result.output.count("\n") == 1


def test_a_commit_that_fails_on_a_full_disk_removes_the_media_it_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import's media files are stored before its commit; when the commit fails (disk full) they are removed again."""
    import sqlalchemy.exc
    from sqlalchemy.orm import Session

    from .test_anki_import import media_package

    package, stored_name = media_package(tmp_path)
    db = tmp_path / "c.db"
    assert run(db, "status").exit_code == 0
    media = tmp_path / "media"
    media.mkdir()
    (media / "already-here.png").write_bytes(b"kept")
    before = snapshot(db)

    def full_disk(self: Session) -> None:
        raise sqlalchemy.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(Session, "commit", full_disk)
    result = run(db, "import", str(package))
    monkeypatch.undo()
    assert (result.exit_code, result.output) == (1, "Error: database error: database or disk is full\n")
    assert sorted(p.name for p in media.iterdir()) == ["already-here.png"]
    assert snapshot(db) == before
    assert run(db, "import", str(package)).exit_code == 0  # with room on the disk, the same import goes through
    assert (media / stored_name).is_file()


# ESC sequences that set the title (OSC 0), write the clipboard (OSC 52) and
# clear the screen (CSI 2J), a C1 CSI, a bidi override and a BEL.
EVIL = "T \x1b]0;pwned\x07 \x1b]52;c;Zm9v\x07 \x1b[2J \x9b31m \u202eevil\u202c \x07end"
FORBIDDEN = "\x1b\x07\x9b\u202e\u202c"


def _clean(text: str) -> bool:
    return not any(ch in text for ch in FORBIDDEN) and not any(
        (ord(ch) < 32 and ch not in "\n") or 0x7F <= ord(ch) <= 0x9F for ch in text
    )


def test_no_command_lets_hostile_text_reach_the_terminal(tmp_path: Path) -> None:
    """Hostile text planted in every stored text field: no ESC, BEL, C1 or bidi control reaches stdout or stderr."""
    db = tmp_path / "c.db"
    guide = write(tmp_path / "g.md", (
        f"# Prep {EVIL}\n\n## Conflict {EVIL}\n\n- Tell me about a time {EVIL} you disagreed?\n"
        f"- **Team {EVIL}**: What changed {EVIL} after the launch?\n\n## Questions to ask\n\n- How do plans {EVIL} change?\n"
    ))
    outputs = [run(db, "deck", "build", str(guide))]
    story = write(tmp_path / "s.md", "---\ntitle: Clean title\ncompetencies: impact\n---\n## Situation\nA.\n## Task\nB.\n"
                  "## Action\nI did C.\n## Result\nD fell by 40%.\n## Learning\nE.\n")
    outputs.append(run(db, "story", "add", "--file", str(story)))
    outputs.append(run(db, "pitch", "edit", "--file", str(write(tmp_path / "p.md", "## Who I am\nA\n## Accomplishments\nB\n## What I want next\nC\n"))))
    conn = sqlite3.connect(db)
    for note_id, fields, tags in conn.execute("SELECT id, fields, tags FROM notes").fetchall():
        evil_fields = {key: f"{value} {EVIL}" for key, value in json.loads(fields).items()}
        conn.execute("UPDATE notes SET fields = ?, tags = ? WHERE id = ?",
                     (json.dumps(evil_fields), json.dumps([*json.loads(tags), f"tag{EVIL}"]), note_id))
    conn.execute("UPDATE decks SET name = name || ?, description = ?", (EVIL, EVIL))
    conn.execute("UPDATE presets SET name = name || ?", (EVIL,))
    conn.commit()
    story_id = conn.execute("SELECT note_id FROM stories").fetchone()[0]
    question_id = conn.execute("SELECT id FROM notes WHERE kind = 'question' ORDER BY id").fetchone()[0]
    card_id = conn.execute("SELECT id FROM cards WHERE note_id = ?", (question_id,)).fetchone()[0]
    conn.close()
    commands = [
        ("status",), ("status", "--json"), ("cards",), ("cards", "--json"), ("deck", "list"), ("deck", "list", "--json"),
        ("coverage",), ("coverage", "--json"), ("story", "list"), ("story", "list", "--json"), ("story", "show", str(story_id)),
        ("story", "lint"), ("story", "lint", "--json"), ("pitch",), ("story", "link", str(story_id), str(question_id)),
        ("story", "link", str(story_id), f"no such {EVIL}"), ("config",), ("config", "timezone", EVIL),
        ("deck", "build", str(tmp_path / f"missing{EVIL}.md")), ("cards", "--deck", f"nope{EVIL}"),
        ("cards", "--search", "pwned"), ("cards", "--search", f"({EVIL}"), ("cards", "--search", f"deck:nope{EVIL}"),
        ("card", "show", str(card_id)), ("card", "show", str(card_id), "--json"), ("card", "suspend", "--search", "pwned", "--dry-run"),
        ("card", "move", str(card_id), "--to", f"Moved{EVIL}"), ("card", "rm", "--search", f"tag:x{EVIL}", "--yes"),
        ("status", "--days", "3"), ("deck", "rm", f"nope{EVIL}"), ("deck", "rename", f"nope{EVIL}", "x"),
        ("story", "rm", "424242", f"{story_id}", "--yes"),
    ]
    for args in commands:
        outputs.append(run(db, *args))
    outputs.append(run(db, "review", input=" 3 3 3 1 3q"))
    outputs.append(run(db, "mock", "--count", "2", "--seed", "1", input=" 3 2q"))
    outputs += [run(db, "stats"), run(db, "stats", "--json"), run(db, "optimize"), run(db, "optimize", "--json")]
    outputs += [run(db, "plan", "--interview", "2026-12-20"), run(db, "plan", "--json")]
    outputs.append(run(db, "export", str(tmp_path / "out.apkg")))
    outputs.append(run(tmp_path / "other.db", "import", str(tmp_path / "out.apkg")))
    outputs += [run(tmp_path / "other.db", "cards"), run(tmp_path / "other.db", "deck", "list")]
    for result in outputs:
        assert result.exception is None or isinstance(result.exception, SystemExit), (result.output, result.exception)
        text = result.stdout + (result.stderr if result.stderr_bytes else "")
        assert _clean(text), repr(text[:2000])
    shown = "".join(r.output for r in outputs)
    assert "pwned" in shown and "evil" in shown and "end" in shown  # the text is shown, only its controls are gone
    assert '\\u009b' in run(db, "cards", "--json").output  # JSON keeps the character, escaped


BILLION_LAUGHS = "---\ntitle: t\n" + "\n".join(
    [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" if i else "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]" for i in range(9)]
) + "\n---\n## Situation\nx\n## Task\nx\n## Action\nx\n## Result\nx\n"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("billion laughs", BILLION_LAUGHS, "front matter: YAML anchors and aliases (&name, *name) are not allowed"),
        ("nesting", "---\ntitle: " + "[" * 10_000 + "\n---\n",
         "front matter: nested too deeply (use 'key: value' lines and comma-separated lists)"),
        ("long front matter", "---\ntitle: t\ntags: " + "x, " * 10_000 + "\n---\n", "front matter is longer than 16 KB"),
        ("control character", "---\ntitle: T \x1b]0;x\x07\n---\n", "line 2: a control character (U+001B) is not allowed in a story; remove it"),
    ],
    ids=["billion-laughs", "nesting", "long-front-matter", "control-character"],
)
def test_story_front_matter_is_bounded(tmp_path: Path, name: str, text: str, message: str) -> None:
    """Alias bombs, deep nesting and oversized front matter are one-line errors, in well under a second each."""
    path = write(tmp_path / "s.md", text)
    started = time.monotonic()
    result = run(tmp_path / "c.db", "story", "add", "--file", str(path))
    assert time.monotonic() - started < 10
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("story", "---\ntitle: t\n---\n## Situation" + " " * 300_000 + "x\n"),
        ("story", "---\ntitle: t\n---\n## Situation\n" + "<!--" * 60_000 + "\n## Task\nx\n"),
        ("pitch", "## Who I am" + " " * 300_000 + "x\n"),
        ("pitch", "<!--" * 60_000),
        ("guide", "# G\n\n## STAR " + "(" * 100_000 + "\n\n- **Situation**: the setting.\n"),
        ("guide", "- Tell me " + "*a" * 200_000 + "?\n"),
    ],
    ids=["story-heading-spaces", "story-comments", "pitch-heading-spaces", "pitch-comments", "guide-parentheses", "guide-emphasis"],
)
def test_pathological_lines_are_read_in_linear_time(tmp_path: Path, command: str, text: str) -> None:
    """Lines built to make regular expressions backtrack are read in a moment (they took from 30 s to forever)."""
    path = write(tmp_path / "x.md", text)
    args = {"story": ("story", "add", "--file", str(path)), "pitch": ("pitch", "edit", "--file", str(path)),
            "guide": ("deck", "build", str(path))}[command]
    started = time.monotonic()
    result = run(tmp_path / "c.db", *args)
    assert time.monotonic() - started < 15, command
    assert result.exit_code in (0, 1) and result.output.count("\n") <= 3, result.output[:500]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_special_files_and_endless_streams_are_refused(tmp_path: Path) -> None:
    """/dev/zero, /dev/urandom and FIFOs as a guide, story, brag document, package or review log: one line, at once."""
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    db = tmp_path / "c.db"
    cases = [
        (("deck", "build", "/dev/zero"), "Error: /dev/zero is not a regular file (give a guide file)\n"),
        (("story", "add", "--file", "/dev/zero"), "Error: /dev/zero is not a regular file (give a story file)\n"),
        (("story", "import", "/dev/urandom"), "Error: /dev/urandom is not a regular file (give a brag document file)\n"),
        (("deck", "build", str(fifo)), f"Error: {fifo} is not a regular file (give a guide file)\n"),
        (("import", str(fifo)), f"Error: {fifo} is not a regular file (give a package file)\n"),
        (("import", "/dev/zero"), "Error: /dev/zero is not a regular file (give a package file)\n"),
    ]
    for args, message in cases:
        started = time.monotonic()
        result = run(db, *args)
        assert time.monotonic() - started < 10
        assert (result.exit_code, result.output) == (1, message), args


def test_oversized_guides_and_stories_are_refused_while_reading(tmp_path: Path) -> None:
    """Past the size or line limit a guide or story is refused with one line, having read no more than the limit."""
    from srs.guide import MAX_GUIDE_BYTES, MAX_GUIDE_LINES
    from srs.story_format import MAX_STORY_BYTES

    db = tmp_path / "c.db"
    big = write(tmp_path / "big.md", "x" * (MAX_GUIDE_BYTES + 1))
    assert run(db, "deck", "build", str(big)).output == f"Error: {big} is too large for a guide (the limit is {MAX_GUIDE_BYTES:,} bytes)\n"
    lines = write(tmp_path / "lines.md", "-\n" * MAX_GUIDE_LINES)
    assert run(db, "deck", "build", str(lines)).output == (
        f"Error: lines.md has more than {MAX_GUIDE_LINES:,} lines; a guide srs reads is at most that long\n"
    )
    story = write(tmp_path / "story.md", "x" * (MAX_STORY_BYTES + 1))
    assert run(db, "story", "add", "--file", str(story)).output == (
        f"Error: {story} is too large for a story (the limit is {MAX_STORY_BYTES:,} bytes)\n"
    )


def test_a_huge_field_is_shown_cut_with_a_note_and_quickly(tmp_path: Path) -> None:
    """A 16 MB field already in the collection is revealed in review in a moment, cut, saying how much was left out."""
    db = tmp_path / "c.db"
    assert run(db, "status").exit_code == 0
    conn = sqlite3.connect(db)
    note_id = conn.execute("SELECT min(id) FROM notes WHERE kind = 'concept'").fetchone()[0]
    fields = json.loads(conn.execute("SELECT fields FROM notes WHERE id = ?", (note_id,)).fetchone()[0])
    fields["Definition"] = "word " * 3_300_000
    conn.execute("UPDATE notes SET fields = ? WHERE id = ?", (json.dumps(fields), note_id))
    conn.execute("UPDATE cards SET suspended = 1 WHERE note_id != ?", (note_id,))
    conn.commit()
    conn.close()
    started = time.monotonic()
    result = run(db, "review", input=" q")
    assert time.monotonic() - started < 20
    assert result.exit_code == 0
    assert "more characters not shown)" in result.output and len(result.output) < 100_000


def _reworded_guide(count: int, reworded: bool) -> str:
    words = ["model", "pipeline", "latency", "feature", "ranking", "launch", "team", "customer", "metric", "outage"]
    lines = ["# Many questions", ""]
    for i in range(count):
        a, b = words[i % 10], words[(i * 3 + 1) % 10]
        lines.append(f"- Tell me about a time the {a} {i} {'really ' if reworded else ''}broke the {b}?")
    return "\n".join(lines) + "\n"


def test_rebuilding_a_guide_with_every_item_reworded_is_fast_and_keeps_every_note(tmp_path: Path) -> None:
    """4,000 reworded items are matched to their notes in seconds (it took 54 s, quadratic), none added or lost."""
    db = tmp_path / "c.db"
    guide = write(tmp_path / "g.md", _reworded_guide(4000, False))
    assert run(db, "deck", "build", str(guide)).exit_code == 0
    guids_before = {c["guid"] for c in json.loads(run(db, "cards", "--deck", "Many questions", "--json").output)}
    write(tmp_path / "g.md", _reworded_guide(4000, True))
    started = time.monotonic()
    result = run(db, "deck", "build", str(guide))
    assert time.monotonic() - started < 30
    assert result.output == "Many questions: 0 added, 4000 updated, 0 unchanged, 0 suspended (gone from the guide), 0 restored\n"
    after = json.loads(run(db, "cards", "--deck", "Many questions", "--json").output)
    assert {c["guid"] for c in after} == guids_before and all("really" in c["front"] for c in after)


def test_the_indexed_matching_pairs_items_as_comparing_every_pair_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the exhaustive limit, the word index finds the same edited items as comparing every pair."""
    import random

    from srs import decks

    rng = random.Random(8)
    words = "model pipeline latency feature ranking launch team customer metric outage label drift budget".split()
    items = [" ".join(rng.choice(words) for _ in range(6)) + f" {i}" for i in range(300)]
    edited = [item.replace(item.split()[rng.randrange(6)], rng.choice(words), 1) if rng.random() < 0.7 else item for item in items]
    outcomes = []
    for limit in (10**9, 0):  # every pair compared; the index only
        monkeypatch.setattr(decks, "EXHAUSTIVE_PAIRS", limit)
        db = tmp_path / f"{limit}.db"
        write(tmp_path / "a.md", "# Q\n\n" + "".join(f"- Tell me about {i}?\n" for i in items))
        assert run(db, "deck", "build", str(tmp_path / "a.md")).exit_code == 0
        before = {c["guid"]: c["front"] for c in json.loads(run(db, "cards", "--deck", "Q", "--json").output)}
        write(tmp_path / "a.md", "# Q\n\n" + "".join(f"- Tell me about {i}?\n" for i in edited))
        summary = run(db, "deck", "build", str(tmp_path / "a.md")).output
        after = {c["guid"]: c["front"] for c in json.loads(run(db, "cards", "--deck", "Q", "--json").output)}
        outcomes.append((summary, sorted((before[g], after[g]) for g in after if g in before)))
    assert outcomes[0] == outcomes[1]
