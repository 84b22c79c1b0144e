"""Logging in to a sync server and out: srs keeps the server's host key (never the password), private to the user.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from srs.files import write_atomically
from srs.sync.base import SyncProblem, _anki, _explain, auth_path, sync_folder


@dataclass(frozen=True)
class Login:
    endpoint: str
    username: str
    hkey: str


def read_login(db_path: Path) -> Login | None:
    path = auth_path(db_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Login(str(data["endpoint"]), str(data["username"]), str(data["hkey"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError):
        raise SyncProblem(f"{path} is damaged; run srs sync login again") from None


def _write_login(db_path: Path, login: Login) -> None:
    folder = sync_folder(db_path)
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    text = json.dumps({"endpoint": login.endpoint, "username": login.username, "hkey": login.hkey}, indent=2)

    def write(target: Path) -> None:  # readable by the user only: the host key is a password for the server
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(target, 0o600)

    write_atomically(auth_path(db_path), write, "sync login", SyncProblem)
    os.chmod(auth_path(db_path), 0o600)  # the atomic write gives new files the umask's mode; this one stays private


# --- login ----------------------------------------------------------------------------


def login(db_path: Path, endpoint: str, username: str, password: str) -> Login:
    """Log in to the server: store its host key (never the password) for later syncs."""
    if not endpoint.startswith(("http://", "https://")):
        raise SyncProblem(f"the endpoint is a URL such as http://127.0.0.1:8080/, got {endpoint!r}")
    endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
    collection = _anki()
    # the login needs an Anki collection but none of its content: a scratch one, so the replica is never touched here
    with tempfile.TemporaryDirectory(prefix="srs-login-") as scratch:
        col = collection.Collection(str(Path(scratch) / "collection.anki2"))
        try:
            auth = col.sync_login(username, password, endpoint)
        except Exception as exc:  # the anki library's errors, named in _explain
            raise _explain(exc, endpoint) from None
        finally:
            col.close()
    done = Login(endpoint, username, auth.hkey)
    _write_login(db_path, done)
    return done


def logout(db_path: Path) -> bool:
    """Forget the host key; whether there was one."""
    try:
        auth_path(db_path).unlink()
    except FileNotFoundError:
        return False
    return True
