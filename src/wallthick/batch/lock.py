"""One run at a time per results folder.

``wallthick batch`` and ``measure`` hold an exclusive advisory lock
(``flock``) on ``OUT_DIR/.wallthick.lock`` while they write there, so two runs
can never interleave their rows and records. The lock file says who holds it
(process id, host, start time; no patient data). The operating system
releases the lock when its process ends, however it ends, so a run killed with
SIGKILL leaves no stale lock behind: the next run simply takes it.

``flock`` is honoured by local file systems and by NFS v4; on a file system
without it the lock is a no-op, which the log says.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from wallthick.errors import OutputInUseError

__all__ = ["LOCK_NAME", "output_lock"]

logger = logging.getLogger(__name__)

#: The lock file inside the results folder.
LOCK_NAME = ".wallthick.lock"


@contextlib.contextmanager
def output_lock(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the results folder ``out_dir`` for this process (a context manager).

    Raises
    ------
    OutputInUseError
        Another live process holds the folder; the message names it.
    """
    path = Path(out_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputInUseError(_in_use_message(path)) from None
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                logger.warning("%s: file locking is not supported here; not locked", path)
            else:
                raise
        _write_owner(fd)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _write_owner(fd: int) -> None:
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(owner) + "\n").encode(), 0)


def _in_use_message(path: Path) -> str:
    try:
        owner = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        owner = {}
    who = (
        f"process {owner.get('pid', '?')} on host {owner.get('host', '?')}, "
        f"started {owner.get('started_utc', '?')} UTC"
        if owner
        else "another process"
    )
    return (
        f"{path.parent}: this results folder is in use by another wallthick run ({who}). "
        "Wait for it to finish, or write to another folder with --out."
    )
