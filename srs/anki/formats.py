"""Reading Anki packages: .apkg (three layouts) and .colpkg, safely.

Layouts, newest first (rslib/src/import_export/package/meta.rs):
* ``collection.anki21b``: SQLite at schema 18, zstd-compressed, with a
  protobuf ``meta`` file (PackageMetadata, version 3) and a zstd-compressed
  protobuf media list (MediaEntries). Anki writes its zstd frames without a
  content size, so they are decompressed as a stream. Note types, fields,
  templates, decks and deck options live in their own tables, with protobuf
  configs (proto/anki/notetypes.proto, decks.proto, deck_config.proto).
* ``collection.anki21`` (meta version 2) and ``collection.anki2`` (legacy):
  SQLite at schema 11, note types, decks and deck options as JSON in the
  ``col`` row; the media list is JSON.

Everything is read into plain dataclasses (the review log into arrays);
nothing here touches the srs database. Sizes are checked while reading, so a
zip bomb or a lying header stops at the limit instead of filling the disk.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import struct
import zipfile
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srs.bulk import Background
from srs.domain import (
    AnkiCardId,
    AnkiDeckConfigId,
    AnkiDeckId,
    AnkiNoteId,
    AnkiNotetypeId,
)
from srs.errors import ImportError_
from srs.files import open_regular

if TYPE_CHECKING:
    import numpy as np

# How far a long step has got: (stage, done, total); the CLI draws it as a progress bar.
Progress = Callable[[str, int, int], None]

MAX_COLLECTION_BYTES = 2 << 30  # 2 GiB uncompressed
MAX_MEDIA_BYTES = 4 << 30
CHUNK = 1 << 20


@dataclass
class NoteType:
    id: AnkiNotetypeId
    name: str
    cloze: bool
    fields: list[str]
    templates: list[tuple[str, str, str]]  # (name, front format, back format)
    css: str = ""


@dataclass
class DeckInfo:
    id: AnkiDeckId
    name: str  # Parent::Child
    options_id: AnkiDeckConfigId | None  # None for a filtered deck


@dataclass
class DeckOptions:
    id: AnkiDeckConfigId
    name: str
    learn_steps: list[float]  # minutes
    relearn_steps: list[float]
    params: list[float]  # FSRS parameters (the newest set present)
    desired_retention: float
    maximum_interval: int


@dataclass
class AnkiNote:
    id: AnkiNoteId
    guid: str
    mid: AnkiNotetypeId
    mod: int  # seconds
    tags: list[str]
    fields: list[str]


@dataclass
class AnkiCard:
    id: AnkiCardId
    nid: AnkiNoteId
    did: AnkiDeckId
    odid: AnkiDeckId
    ord: int
    type: int
    queue: int
    due: int
    ivl: int
    reps: int
    lapses: int
    data: str
    mod: int = 0  # seconds
    factor: int = 0
    left: int = 0  # learning: steps left (rslib card/mod.rs: remaining_steps = left % 1000)
    odue: int = 0  # a card in a filtered deck: its due in its home deck


REVLOG_COLUMNS = ("id", "cid", "ease", "ivl", "lastIvl", "factor", "time", "type")


class Revlog:
    """A package's review log as columns of int64 NumPy arrays, in Anki's revlog order.

    id is the answer time (Unix ms), cid the card, ease the button (0 for a
    row that is not an answer), ivl the interval (days if positive, seconds
    if negative), last_ivl the card's interval before it, factor the ease factor (0 for manual rows), time the
    duration in ms and type the kind (0 learn, 1 review, 2 relearn, 3
    filtered, 4 manual/reset); rslib/src/revlog/mod.rs. Hundreds of thousands
    of rows are read as arrays rather than objects.
    """

    def __init__(self, rows: Sequence[Sequence[int]] = ()) -> None:
        import numpy as np

        table = np.array(rows, dtype=np.int64).reshape(-1, len(REVLOG_COLUMNS))
        self._set([np.ascontiguousarray(table[:, i]) for i in range(len(REVLOG_COLUMNS))])

    def _set(self, columns: list[np.ndarray]) -> None:
        self.id, self.cid, self.ease, self.ivl, self.last_ivl, self.factor, self.time, self.type = columns

    @classmethod
    def read(cls, conn: sqlite3.Connection) -> Revlog:
        """A collection's revlog, by answer time.

        Each column comes from SQLite as one comma-separated text that NumPy
        parses in C: a third faster than building a Python tuple per row.
        Values are cast to integers and NULLs read as 0, as Anki's own reader
        does for its integer columns.
        """
        import numpy as np

        # Every column is read by the same statement shape, a scan in id order,
        # so the columns line up row for row; the count check catches a short one.
        count = conn.execute("SELECT count(*) FROM revlog").fetchone()[0]
        columns = []
        for name in REVLOG_COLUMNS:
            text = conn.execute(
                f"SELECT group_concat(coalesce(CAST({name} AS INTEGER), 0), ',') FROM (SELECT {name} FROM revlog ORDER BY id)"
            ).fetchone()[0]
            column = np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, dtype=np.int64)
            if len(column) != count:
                raise ImportError_(f"the package's revlog column {name} could not be read")
            columns.append(column)
        revlog = cls()
        revlog._set(columns)
        return revlog

    def __len__(self) -> int:
        return len(self.id)


@dataclass
class AnkiPackage:
    layout: str
    crt: int  # creation time (s): day numbers count from its day
    rollover: int
    creation_offset: int | None = None  # minutes west of UTC at creation (None: not recorded)
    notetypes: dict[AnkiNotetypeId, NoteType] = field(default_factory=dict)
    decks: dict[AnkiDeckId, DeckInfo] = field(default_factory=dict)
    deck_options: dict[AnkiDeckConfigId, DeckOptions] = field(default_factory=dict)
    notes: list[AnkiNote] = field(default_factory=list)
    cards: list[AnkiCard] = field(default_factory=list)
    revlog: Revlog = field(default_factory=Revlog)
    media: dict[str, str] = field(default_factory=dict)  # file name -> zip member


# --- protobuf, just enough -------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ImportError_("corrupt protobuf data (truncated varint)")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ImportError_("corrupt protobuf data (varint too long)")


def proto_fields(data: bytes) -> dict[int, list[Any]]:
    """Field number -> values (ints for varints, bytes otherwise)."""
    out: dict[int, list[Any]] = {}
    pos = 0
    value: int | bytes
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ImportError_("corrupt protobuf data (field runs past the end)")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ImportError_(f"corrupt protobuf data (wire type {wire})")
        out.setdefault(number, []).append(value)
    return out


def _floats(values: list[Any]) -> list[float]:
    out: list[float] = []
    for value in values:  # packed (bytes of n floats) or one fixed32 each
        out.extend(struct.unpack(f"<{len(value) // 4}f", value[: len(value) // 4 * 4]))
    return [round(v, 6) for v in out]


def _text(values: list[Any], default: str = "") -> str:
    return values[-1].decode("utf-8", "replace") if values else default


def _float(values: list[Any], default: float) -> float:
    return round(struct.unpack("<f", values[-1])[0], 6) if values else default


# --- the archive ---------------------------------------------------------------------


def _check_name(name: str) -> None:
    if name.startswith(("/", "\\")) or ".." in Path(name).parts or re.match(r"^[A-Za-z]:", name):
        raise ImportError_(f"unsafe member name in package: {name!r}")


def copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, limit: int) -> None:
    if info.file_size > limit:
        raise ImportError_(f"{info.filename} would expand to {info.file_size} bytes, over the limit of {limit}")
    written = 0
    with archive.open(info) as src, out.open("wb") as dst:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > limit or written > info.file_size:
                raise ImportError_(f"{info.filename} expands past its stated size (a zip bomb?)")
            dst.write(chunk)


def zstd_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, limit: int) -> None:
    import zstandard

    written = 0
    try:
        with archive.open(info) as src, out.open("wb") as dst:
            reader = zstandard.ZstdDecompressor().stream_reader(src)  # no content size in Anki's frames
            while chunk := reader.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise ImportError_(f"{info.filename} expands past {limit} bytes (a zip bomb?)")
                dst.write(chunk)
    except zstandard.ZstdError as exc:
        raise ImportError_(f"{info.filename}: corrupt zstd data ({exc})") from None


def read_package(path: Path, workdir: Path, leave_out: Collection[int] = ()) -> AnkiPackage:
    """Read an .apkg or .colpkg; the collection is unpacked into *workdir*. *leave_out*: read_collection's."""

    os.close(open_regular(path, "package", ImportError_))  # a folder, a FIFO or a device is refused here
    if not zipfile.is_zipfile(path):
        raise ImportError_(f"{path.name} is not an Anki package (not a zip file)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            for name in members:
                _check_name(name)
            target = workdir / "collection.sqlite"
            if "collection.anki21b" in members:
                meta = proto_fields(archive.read("meta")) if "meta" in members else {}
                version = meta.get(1, [0])[0]
                if version not in (0, 3):
                    raise ImportError_(f"{path.name}: unknown package version {version}")
                zstd_member(archive, members["collection.anki21b"], target, MAX_COLLECTION_BYTES)
                layout = "anki21b"
                media = _media_modern(archive, members)
            elif "collection.anki21" in members:
                copy_member(archive, members["collection.anki21"], target, MAX_COLLECTION_BYTES)
                layout, media = "anki21", _media_legacy(archive, members)
            elif "collection.anki2" in members:
                copy_member(archive, members["collection.anki2"], target, MAX_COLLECTION_BYTES)
                layout, media = "anki2", _media_legacy(archive, members)
            else:
                raise ImportError_(f"{path.name} has no Anki collection in it")
    except zipfile.BadZipFile as exc:
        raise ImportError_(f"{path.name} is a damaged zip file ({exc})") from None
    except (EOFError, zipfile.LargeZipFile, zlib.error) as exc:
        raise ImportError_(f"{path.name} is truncated or damaged ({exc})") from None
    package = read_collection(target, layout, leave_out)
    package.media = media
    return package


def _media_legacy(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> dict[str, str]:
    if "media" not in members:
        return {}
    try:
        mapping = _json(archive.read("media") or b"{}")
    except ValueError:
        raise ImportError_("the package's media list is not valid JSON") from None
    if not isinstance(mapping, dict):
        raise ImportError_("the package's media list is not a JSON object")
    return {str(name): str(member) for member, name in mapping.items() if str(member) in members}


def _media_modern(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> dict[str, str]:
    if "media" not in members:
        return {}
    import zstandard

    try:
        raw = zstandard.ZstdDecompressor().stream_reader(archive.open("media")).read(64 << 20)
    except zstandard.ZstdError as exc:
        raise ImportError_(f"media list: corrupt zstd data ({exc})") from None
    out = {}
    for index, entry in enumerate(proto_fields(raw).get(1, [])):
        fields = proto_fields(entry)
        name = _text(fields.get(1, []))
        member = str(fields.get(255, [index])[0])
        if name and member in members:
            out[name] = member
    return out


# --- the collection -----------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.create_collation("unicase", lambda a, b: (a.lower() > b.lower()) - (a.lower() < b.lower()))
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ImportError_(f"the package's collection is not an SQLite database ({exc})") from None
    return conn


# A package is data, not a program: the tables srs reads must be plain
# tables (a recursive VIEW named revlog would run forever, a generated column
# can build a gigabyte from a few bytes), and reading stops past these caps.
TABLES_11 = ("col", "notes", "cards", "revlog")
TABLES_18 = (*TABLES_11, "notetypes", "fields", "templates", "decks", "deck_config", "config")
MAX_FIELD_BYTES = 1 << 20  # one field of one note: 1 MB
MAX_TEXT_BYTES = 512 << 20  # all notes' fields together
MAX_ROWS = {"notes": 2_000_000, "cards": 4_000_000, "revlog": 20_000_000}
# SQLite virtual-machine steps allowed per byte of the collection file (plus a
# floor): reading an honest collection takes about one step per byte (0.75 on
# the 22 MB, 200,000-review benchmark collection), so this is a wide margin
# that still stops a trap within a second or two.
STEPS_PER_BYTE = 1_000
STEPS_FLOOR = 100_000_000


def _check_tables(conn: sqlite3.Connection) -> None:
    """Refuse a collection whose tables srs reads are views, virtual tables or have generated columns."""
    kinds = {name: (kind, sql or "") for name, kind, sql in conn.execute("SELECT name, type, sql FROM sqlite_master")}
    for name in TABLES_18:
        if name not in kinds:
            continue  # a missing table is reported where it is read
        kind, sql = kinds[name]
        if kind != "table" or sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            what = "a virtual table" if kind == "table" else f"a {kind}"
            raise ImportError_(f"the package's {name} is {what}, not a table: srs reads only plain tables")
        if any(column[6] for column in conn.execute(f'PRAGMA table_xinfo("{name}")')):  # hidden 2/3: generated
            raise ImportError_(f"the package's {name} table has generated columns: srs reads only plain tables")


class _Interrupted:
    """Whether the progress handler stopped a statement for its step budget.

    A statement interrupted otherwise was stopped by Ctrl-C arriving while
    SQLite ran the handler (the KeyboardInterrupt is lost inside SQLite's
    callback): the reader raises it again.
    """

    over_budget = False


def _bounded(conn: sqlite3.Connection, path: Path) -> _Interrupted:
    """Stop any query that runs far longer than reading a collection of this size honestly can."""
    budget = STEPS_FLOOR + STEPS_PER_BYTE * path.stat().st_size
    every = max(1_000, min(100_000, budget))
    steps = [0]
    why = _Interrupted()

    def tick() -> int:
        steps[0] += every
        if steps[0] > budget:
            why.over_budget = True
            return 1  # non-zero interrupts the statement
        return 0

    conn.set_progress_handler(tick, every)
    return why


def read_collection(path: Path, layout: str, leave_out: Collection[int] = ()) -> AnkiPackage:
    """The collection file at *path*, without the notes whose ids are in *leave_out* (a sync's: see srs.sync)."""
    conn = _connect(path)
    try:
        why = _Interrupted()
        try:
            _check_tables(conn)
            why = _bounded(conn, path)
            for table, cap in MAX_ROWS.items():
                if table in {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
                    count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                    if count > cap:
                        raise ImportError_(f"the package has {count:,} {table} rows; srs imports at most {cap:,}")
        except sqlite3.OperationalError as exc:
            raise _damaged(exc, why) from None
        try:
            ver = conn.execute("SELECT ver FROM col").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc):
                raise _damaged(exc, why) from None
            raise ImportError_("the package's collection has no col table (not an Anki collection)") from None
        except (sqlite3.DatabaseError, TypeError):
            raise ImportError_("the package's collection has no col table (not an Anki collection)") from None
        if ver not in (11, 14, 15, 16, 17, 18):
            raise ImportError_(f"the package's collection has unknown schema version {ver}")
        try:
            package = _read_schema18(conn, layout) if ver >= 14 else _read_schema11(conn, layout)
            # The review log is read on a second connection and thread while the notes and cards are
            # read here: its reading is mostly SQLite's own work, which lets go of Python's lock.
            revlog = Background(lambda: _read_revlog(path), "srs-revlog-read")
            try:
                _read_rows(conn, package, frozenset(leave_out))
            finally:
                revlog.wait()  # nothing reads on once this function has returned or failed
            package.revlog = revlog.result()
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc, why) from None
        return package
    finally:
        conn.close()


def _read_revlog(path: Path) -> Revlog:
    """The review log, on a connection of its own, under the same guards as the rest."""
    conn = _connect(path)
    try:
        why = _bounded(conn, path)
        try:
            return Revlog.read(conn)
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc, why) from None
    finally:
        conn.close()


def _damaged(exc: sqlite3.DatabaseError, why: _Interrupted) -> BaseException:
    if "interrupt" in str(exc) and not why.over_budget:
        return KeyboardInterrupt()
    if "interrupt" in str(exc):
        return ImportError_("the package's collection takes far longer to read than its size allows (a trap?); nothing imported")
    return ImportError_(f"the package's collection is damaged ({exc})")


def _json(text: str | bytes) -> Any:
    """JSON from the collection; a lone surrogate (valid JSON escape, not valid text) becomes U+FFFD."""
    value = json.loads(text)
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        value = json.loads(re.sub("[\ud800-\udfff]", "\ufffd", json.dumps(value, ensure_ascii=False)))
    return value


def _minutes_west(value: Any) -> int | None:
    """A creationOffset value, if it is a plausible one (rslib clamps to +-23 hours)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if -23 * 60 <= value <= 23 * 60 else None


def _steps(values: Any) -> list[float]:
    return [float(v) for v in values] if isinstance(values, list) else []


def _read_schema11(conn: sqlite3.Connection, layout: str) -> AnkiPackage:
    crt, conf, models, decks, dconf = conn.execute("SELECT crt, conf, models, decks, dconf FROM col").fetchone()
    try:
        conf, models, decks, dconf = (_json(x or "{}") for x in (conf, models, decks, dconf))
    except ValueError:
        raise ImportError_("the package's collection has invalid JSON in its col row") from None
    package = AnkiPackage(
        layout=layout, crt=int(crt), rollover=int(conf.get("rollover", 4) or 4),
        creation_offset=_minutes_west(conf.get("creationOffset")),
    )
    for model in models.values():
        fields = [f["name"] for f in sorted(model.get("flds", []), key=lambda f: f.get("ord", 0))]
        templates = [(t["name"], t.get("qfmt", ""), t.get("afmt", "")) for t in sorted(model.get("tmpls", []), key=lambda t: t.get("ord", 0))]
        mid = AnkiNotetypeId(int(model["id"]))
        package.notetypes[mid] = NoteType(mid, model.get("name", ""), model.get("type") == 1, fields, templates, model.get("css", ""))
    for deck in decks.values():
        did = AnkiDeckId(int(deck["id"]))
        package.decks[did] = DeckInfo(did, deck["name"], None if deck.get("dyn") else AnkiDeckConfigId(int(deck.get("conf", 1))))
    for options in dconf.values():
        found = legacy_deck_options(options)
        package.deck_options[found.id] = found
    return package


def preset_name(options_name: str) -> str:
    """The srs preset an Anki options group stands for: srs's own (written as "srs · NAME") or an Anki one ("Anki · NAME")."""
    return options_name[len("srs · ") :] if options_name.startswith("srs · ") else f"Anki · {options_name}"


def options_group_names(name: str) -> tuple[str, ...]:
    """The Anki options groups that can stand for the srs preset *name*: the one srs writes ("srs · NAME"), then, for a
    preset that came from Anki ("Anki · NAME"), the group it came from. ``preset_name`` of each is *name*."""
    own = f"srs · {name}"
    return (own, name[len("Anki · ") :]) if name.startswith("Anki · ") else (own,)


def legacy_deck_options(options: dict[str, Any]) -> DeckOptions:
    """An options group in Anki's legacy JSON (a schema-11 collection's dconf, or the anki library's ``decks.all_config()``)."""
    params = options.get("fsrsParams6") or options.get("fsrsParams5") or options.get("fsrsWeights") or []
    return DeckOptions(
        AnkiDeckConfigId(int(options["id"])),
        options.get("name", ""),
        _steps(options.get("new", {}).get("delays")),
        _steps(options.get("lapse", {}).get("delays")),
        [float(p) for p in params],
        float(options.get("desiredRetention", 0.9) or 0.9),
        int(options.get("rev", {}).get("maxIvl", 36500) or 36500),
    )


def _read_schema18(conn: sqlite3.Connection, layout: str) -> AnkiPackage:
    crt = conn.execute("SELECT crt FROM col").fetchone()[0]
    rollover = 4
    row = conn.execute("SELECT val FROM config WHERE KEY = 'rollover'").fetchone()
    if row is not None:
        try:
            rollover = int(json.loads(row[0]))
        except (ValueError, TypeError):
            pass
    row = conn.execute("SELECT val FROM config WHERE KEY = 'creationOffset'").fetchone()
    offset = None
    if row is not None:
        try:
            offset = _minutes_west(json.loads(row[0]))
        except (ValueError, TypeError):
            pass
    package = AnkiPackage(layout=layout, crt=int(crt), rollover=rollover, creation_offset=offset)
    fields: dict[int, list[tuple[int, str]]] = {}
    for ntid, ord_, name in conn.execute("SELECT ntid, ord, name FROM fields"):
        fields.setdefault(ntid, []).append((ord_, name))
    templates: dict[int, list[tuple[int, str, str, str]]] = {}
    for ntid, ord_, name, config in conn.execute("SELECT ntid, ord, name, config FROM templates"):
        tc = proto_fields(config)
        templates.setdefault(ntid, []).append((ord_, name, _text(tc.get(1, [])), _text(tc.get(2, []))))
    for ntid, name, config in conn.execute("SELECT id, name, config FROM notetypes"):
        nc = proto_fields(config)
        package.notetypes[ntid] = NoteType(
            ntid,
            name,
            nc.get(1, [0])[-1] == 1,
            [n for _, n in sorted(fields.get(ntid, []))],
            [(n, q, a) for _, n, q, a in sorted(templates.get(ntid, []))],
            _text(nc.get(3, [])),
        )
    for did, name, kind in conn.execute("SELECT id, name, kind FROM decks"):
        container = proto_fields(kind)
        options_id = None
        if 1 in container:  # a normal deck: its options group
            options_id = proto_fields(container[1][-1]).get(1, [1])[-1]
        package.decks[did] = DeckInfo(did, name.replace("\x1f", "::"), options_id)
    for dcid, name, config in conn.execute("SELECT id, name, config FROM deck_config"):
        c = proto_fields(config)
        params = _floats(c.get(6, [])) or _floats(c.get(5, [])) or _floats(c.get(3, []))
        package.deck_options[dcid] = DeckOptions(
            dcid, name, _floats(c.get(1, [])), _floats(c.get(2, [])), params,
            _float(c.get(37, []), 0.9), int(c.get(16, [36500])[-1] or 36500),
        )
    return package


def _integer(value: Any) -> int:
    """An integer column as Anki reads it: NULL or text that is not a number is 0."""
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _read_rows(conn: sqlite3.Connection, package: AnkiPackage, leave_out: frozenset[int] = frozenset()) -> None:
    total = 0
    for nid, guid, mid, mod, tags, flds in conn.execute("SELECT id, guid, mid, mod, tags, flds FROM notes"):
        if nid in leave_out:
            continue
        fields = str(flds or "").split("\x1f")
        longest = max(len(f) for f in fields)
        if longest > MAX_FIELD_BYTES:
            raise ImportError_(
                f"note {nid} has a field of {longest:,} characters; srs imports fields of up to {MAX_FIELD_BYTES:,}"
            )
        total += len(flds or "")
        if total > MAX_TEXT_BYTES:
            raise ImportError_(f"the package's notes hold more than {MAX_TEXT_BYTES >> 20} MB of text; srs imports up to that")
        package.notes.append(AnkiNote(AnkiNoteId(nid), str(guid), AnkiNotetypeId(mid), _integer(mod), str(tags or "").split(), fields))
    for row in conn.execute(
        "SELECT id, nid, did, odid, ord, type, queue, due, ivl, reps, lapses, data, mod, factor, left, odue FROM cards"
    ):
        # scheduling columns read as Anki reads integers; ids are checked where they are used
        cid, nid, did, odid, ord_, kind, queue, due, ivl, reps, lapses, data, mod, factor, left, odue = row
        package.cards.append(
            AnkiCard(
                AnkiCardId(cid), AnkiNoteId(nid), AnkiDeckId(did), AnkiDeckId(_integer(odid)), ord_, _integer(kind),
                _integer(queue), _integer(due), _integer(ivl), _integer(reps), _integer(lapses), str(data or ""),
                _integer(mod), _integer(factor), _integer(left), _integer(odue),
            )
        )
