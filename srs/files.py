"""The user's files: read within a size limit, written whole or not at all.

Every file srs reads on the user's behalf (a guide, a story, a brag
document, a review-log CSV, a package) is opened once, checked on the open
descriptor to be a regular file (a FIFO or ``/dev/zero`` would hang or never
end), and read no further than its limit, so a huge or endless input costs
the limit and not the machine. Every file srs writes (an export, a chart) goes
to a temporary file beside the target and is renamed over it at the end: a
failure leaves nothing half-written, a symlink at the target is replaced
rather than written through, and an existing file is only replaced when the
caller says so. New files get the permissions the user's umask gives.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from srs.errors import SrsError

CHUNK = 1 << 16


def open_regular(path: Path, what: str, error: type[SrsError] = SrsError) -> int:
    """An open descriptor on *path*, which must be a regular file (checked on the descriptor itself)."""
    if path.is_dir():
        raise error(f"{path} is a folder; give a {what} file")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"no such {what}: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{path} is not a regular file (give a {what} file)")
    return fd


def read_limited(path: Path, limit: int, what: str, error: type[SrsError] = SrsError) -> bytes:
    """The bytes of *path*, refused with a one-line error past *limit* bytes (read up to the limit, no further)."""
    fd = open_regular(path, what, error)
    try:
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                raise error(f"{path} is too large for a {what} (the limit is {limit:,} bytes)")
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return b"".join(parts)


def read_text(path: Path, limit: int, what: str, error: type[SrsError] = SrsError) -> str:
    """``read_limited`` decoded as UTF-8 (a byte-order mark is dropped)."""
    data = read_limited(path, limit, what, error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text (bad byte at offset {exc.start})") from None


def check_target(path: Path, force: bool, what: str, error: type[SrsError] = SrsError) -> None:
    """Refuse to write *path* when it is a folder, exists (or is a link) without *force*, or its folder is missing."""
    if path.is_dir() and not path.is_symlink():
        raise error(f"{path} is a folder; give a file name for the {what}")
    if (path.exists() or path.is_symlink()) and not force:
        raise error(f"{path} already exists (use --force to replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise error(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise error(f"cannot write {path}: folder {folder} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: Path, write: Callable[[Path], None], what: str, error: type[SrsError] = SrsError) -> None:
    """Have *write* fill a temporary file beside *path*, then rename it over *path*.

    The rename replaces a symlink at *path* instead of writing through it;
    if *write* fails, the temporary file is removed and *path* is as it was.
    """
    folder = path.parent if str(path.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(fd)
    partial = Path(name)
    try:
        write(partial)
        os.chmod(partial, 0o666 & ~_umask())  # mkstemp makes 0600: give the file the user's usual permissions
        os.replace(partial, path)
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if partial.exists():
            partial.unlink()
