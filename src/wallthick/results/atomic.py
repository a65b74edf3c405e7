"""Atomic file writes: a file is visible under its final name only when complete.

Every file of a results folder (tables, records, label maps, SEG, pictures,
reports) is written to a temporary file beside it and renamed over the final
name after ``fsync``. A run killed mid-write, or a write that fails (a full
disk), leaves the earlier file as it was and no partial file under the final
name; the temporary is removed at once, or by the next run
(:func:`~wallthick.results.layout.remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from wallthick.results.layout import TMP_PREFIX

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "write_csv",
]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; rename it to ``path`` on success.

    The folder is created when missing. The temporary file keeps ``path``'s
    suffixes (``.nii.gz``, ``.png``) so writers that choose the format from
    the name work, and is created with the user's umask (unlike ``mkstemp``'s
    0600). On error it is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    tmp = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}{suffix}"
    with open(tmp, "xb"):
        pass
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``)."""
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON (no NaN) to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False, sort_keys=False) + "\n")


def write_csv(
    path: str | os.PathLike[str], rows: Iterable[Mapping[str, str]], columns: Sequence[str]
) -> None:
    """Write ``rows`` (restricted to ``columns``, missing ones empty) as CSV, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    atomic_write_text(path, buf.getvalue())


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
