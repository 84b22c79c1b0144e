"""Media files of Anki notes: references in field HTML, and storing a package's files.

A package's files go into the collection's ``media`` folder without ever
replacing a file that is already there. The rules are Anki's own
(rslib/src/media/files.rs, ``add_data_to_folder_uniquely``): a name that is
free is taken; a file with the same name and the same SHA-1 is the same file;
a different file under a taken name is stored as ``stem-<sha1 hex>.ext``.
Names that are not plain file names (a path separator, a control character —
Anki never writes these, a hostile package might) are made safe first. Notes
whose files were stored under another name have their references rewritten,
as Anki's importer does, so the note shows — and exports — the right file.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from srs.anki import formats
from srs.anki.formats import copy_member, zstd_member
from srs.errors import ImportError_

if TYPE_CHECKING:
    from srs.anki.formats import AnkiPackage, Progress

# Media references in field HTML, as Anki finds them (rslib src/text.rs,
# extract_media_refs): an element's src attribute, and [sound:...] tags.
# Neither part can run past the next "<" or "[": a field full of openings that
# never close is still scanned once, not once per opening.
MEDIA_REFS = re.compile(
    r"""(<[a-z]+\b[^<>]*?\ssrc\s*=\s*)(?:"([^"]+)"|'([^']+)'|([^\s"'>]+))|\[sound:([^\[\]]+)\]""", re.IGNORECASE
)
_PLAIN_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,200}$")
_MAX_NAME_BYTES = 120  # rslib's MAX_MEDIA_FILENAME_LENGTH


def _ref(match: re.Match[str]) -> str:
    return html.unescape(next(group for group in match.groups()[1:] if group))


def media_refs(value: str) -> set[str]:
    """File names a field's HTML refers to (entities decoded)."""
    return {_ref(match) for match in MEDIA_REFS.finditer(value)}


def replace_media_refs(value: str, renamed: Mapping[str, str]) -> str:
    """*value* with every reference to a key of *renamed* pointing at its new name."""

    def swap(match: re.Match[str]) -> str:
        new = renamed.get(_ref(match))
        if new is None:
            return match.group(0)
        if match.group(5) is not None:
            return f"[sound:{new}]"
        return f'{match.group(1)}"{html.escape(new, quote=True)}"'

    return MEDIA_REFS.sub(swap, value)


def plain_name(name: str) -> bool:
    """A name that can only mean a file directly inside the media folder."""
    try:
        name.encode()
    except UnicodeEncodeError:  # a lone surrogate, which JSON media lists can spell
        return False
    return bool(_PLAIN_NAME.match(name)) and name not in (".", "..")


def safe_name(name: str) -> str:
    """A plain file name for *name*: its last path part, odd characters replaced, not too long."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not plain_name(base):
        base = re.sub(r"[^\w.-]", "_", base).strip(".") or "media"
    return _shortened(base, "", _MAX_NAME_BYTES)


def _shortened(name: str, suffix: str, limit: int) -> str:
    """``stem + suffix + .ext`` within *limit* bytes, the stem cut (as rslib's split_and_truncate_filename)."""
    if not suffix and len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    ext = ext.encode()[:20].decode(errors="ignore")
    room = limit - len(suffix.encode()) - (len(ext.encode()) + 1 if ext else 0)
    stem = stem.encode()[: max(room, 1)].decode(errors="ignore") or "media"
    return f"{stem}{suffix}.{ext}" if ext else f"{stem}{suffix}"


def _hashed(name: str, digest: str) -> str:
    """``stem-<sha1>.ext``: Anki's name for a different file under a taken name."""
    return _shortened(name, f"-{digest}", _MAX_NAME_BYTES)


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class MediaImport:
    """Store a package's media files; undo what was added if the import fails.

    Call inside the import's write transaction: it holds other srs writers
    off, so no other import picks names in the folder at the same time.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stored: dict[str, str] = {}  # name in the package -> name in the folder
        self.added: list[Path] = []

    @property
    def renamed(self) -> dict[str, str]:
        """Names in the package whose file is in the folder under another name."""
        return {old: new for old, new in self.stored.items() if old != new}

    @property
    def added_renamed(self) -> int:
        """Files this import added under a name other than their own."""
        added = {path.name for path in self.added}
        return sum(1 for new in self.renamed.values() if new in added)

    def store(self, path: Path, package: AnkiPackage, progress: Progress | None = None) -> None:
        """The package's files, read from its zip archive at *path*."""
        try:
            with zipfile.ZipFile(path) as archive:

                def unpack(member: str, incoming: Path, limit: int) -> None:
                    info = archive.getinfo(member)
                    if package.layout == "anki21b":
                        zstd_member(archive, info, incoming, limit)
                    else:
                        copy_member(archive, info, incoming, limit)

                self._store_all(package.media, unpack, progress)
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ImportError_(f"{path.name}: a media file is damaged ({exc})") from None

    def store_from_folder(self, folder: Path, names: Iterable[str], progress: Progress | None = None) -> None:
        """Files with *names* (plain names only) from another media *folder*, such as an Anki collection's."""

        def copy(name: str, incoming: Path, limit: int) -> None:
            source = folder / name
            if source.stat().st_size > limit:
                raise ImportError_(f"media file {name!r} is over the limit of {limit} bytes")
            with source.open("rb") as src, incoming.open("wb") as dst:
                shutil.copyfileobj(src, dst)

        present = {name: name for name in sorted(names) if plain_name(name) and (folder / name).is_file()}
        self._store_all(present, copy, progress)

    def _store_all(self, members: Mapping[str, str], fetch: Callable[[str, Path, int], None], progress: Progress | None) -> None:
        """Store each file name -> source member of *members*, fetched by *fetch(member, target, byte limit)*."""
        self.folder.mkdir(parents=True, exist_ok=True)
        total = 0
        for done, (name, member) in enumerate(members.items()):
            if progress is not None and done % 50 == 0:
                progress("media", done, len(members))
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
            os.close(fd)
            incoming = Path(tmp)
            try:
                fetch(member, incoming, formats.MAX_MEDIA_BYTES - total)  # read at the time: a test lowers it
                total += incoming.stat().st_size
                self.stored[name] = self._place(incoming, safe_name(name))
            finally:
                incoming.unlink(missing_ok=True)

    def _place(self, incoming: Path, name: str) -> str:
        digest = _sha1(incoming)
        for candidate in (name, _hashed(name, digest)):
            target = self.folder / candidate
            if not target.exists():
                os.replace(incoming, target)
                self.added.append(target)
                return candidate
            if target.is_file() and _sha1(target) == digest:
                return candidate  # the same file is already there
        raise ImportError_(f"media file {name!r}: {candidate!r} exists with other content")

    def rewrite(self, fields: Iterable[str]) -> list[str]:
        """Fields with references to renamed files pointing at their stored names."""
        renamed = self.renamed
        return [replace_media_refs(value, renamed) if renamed else value for value in fields]

    def discard(self) -> None:
        """Remove the files this import added (the folder is left as it was)."""
        for file in self.added:
            file.unlink(missing_ok=True)
        self.added.clear()
