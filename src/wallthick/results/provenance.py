"""Provenance of a manual correction: who, when, what changed (``correction_provenance.json``)."""

from __future__ import annotations

import datetime as _dt
import getpass
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from wallthick._version import __version__
from wallthick.labels import Label
from wallthick.measure.result import Measurement

__all__ = [
    "PROVENANCE_SCHEMA_VERSION",
    "analyst_name",
    "build_provenance",
    "label_changes",
    "label_name",
]

#: Version of the ``correction_provenance.json`` layout.
PROVENANCE_SCHEMA_VERSION = "1.0"


def label_name(value: int) -> str:
    """The :class:`~wallthick.labels.Label` name of a value (``label_<n>`` if unknown).

    >>> label_name(2), label_name(42)
    ('LV_MYOCARDIUM', 'label_42')
    """
    try:
        return Label(int(value)).name
    except ValueError:
        return f"label_{int(value)}"


def label_changes(before: npt.ArrayLike, after: npt.ArrayLike) -> dict[str, dict[str, int]]:
    """Voxels added to and removed from each label between two label maps.

    A voxel that changes from label A to label B counts once as *removed* from
    A and once as *added* to B. Labels that did not change are left out.

    Parameters
    ----------
    before, after : array_like of int
        Label maps of the same shape (automatic and corrected).

    Returns
    -------
    dict
        ``{label name: {"added": n, "removed": n}}``, sorted by label value.

    Raises
    ------
    ValueError
        The shapes differ.

    Examples
    --------
    >>> a = np.array([0, 1, 2, 2, 3])
    >>> b = np.array([0, 2, 2, 0, 3])
    >>> label_changes(a, b)
    {'BACKGROUND': {'added': 1, 'removed': 0}, 'LV_BLOOD_POOL': {'added': 0, 'removed': 1}, 'LV_MYOCARDIUM': {'added': 1, 'removed': 1}}
    """
    old = np.asarray(before)
    new = np.asarray(after)
    if old.shape != new.shape:
        raise ValueError(
            f"Arguments 'before' and 'after' must have the same shape, got {old.shape} "
            f"and {new.shape}."
        )
    changed = old != new
    old_values = old[changed].astype(np.int64)
    new_values = new[changed].astype(np.int64)
    if old_values.size and min(old_values.min(), new_values.min()) < 0:
        raise ValueError("Label maps must not contain negative values.")
    size = int(max(old_values.max(initial=0), new_values.max(initial=0))) + 1
    removed = np.bincount(old_values, minlength=size)
    added = np.bincount(new_values, minlength=size)
    return {
        label_name(v): {"added": int(added[v]), "removed": int(removed[v])}
        for v in range(size)
        if added[v] or removed[v]
    }


def analyst_name(typed: str = "") -> tuple[str, str]:
    """The analyst's name and where it came from (``"typed"`` or ``"os_user"``).

    >>> analyst_name("  Dr. A  ")
    ('Dr. A', 'typed')
    """
    name = " ".join(typed.split())
    if name:
        return name, "typed"
    try:
        return getpass.getuser(), "os_user"
    except (KeyError, OSError):  # no login name in some containers
        return "unknown", "unknown"


def _wall_values(m: Measurement | None) -> dict[str, float | None]:
    def num(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else round(float(x), 4)

    if m is None:
        return {k: None for k in _WALL_KEYS}
    return {k: num(getattr(m, k)) for k in _WALL_KEYS}


_WALL_KEYS = (
    "septal_thickness_mm",
    "septal_uncertainty_mm",
    "posterior_wall_thickness_mm",
    "posterior_uncertainty_mm",
)


def build_provenance(
    before_labels: npt.ArrayLike,
    after_labels: npt.ArrayLike,
    before: Measurement | None,
    after: Measurement,
    *,
    analyst: str = "",
    versions: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """The JSON record saved next to a corrected segmentation.

    Parameters
    ----------
    before_labels, after_labels : array_like of int
        Automatic and corrected label maps (same grid).
    before, after : Measurement
        The measurement from the automatic labels (None if unknown) and from
        the corrected ones.
    analyst : str
        Name typed by the analyst; the OS user name when empty.
    versions : mapping, optional
        Extra software versions (napari, plugin) to record.
    files : mapping, optional
        Names of the files this correction consists of.
    now : datetime, optional
        The time to record (UTC now by default; for tests).

    Returns
    -------
    dict
        JSON-serialisable provenance (see ``docs/analyst_guide.md``).
    """
    who, who_source = analyst_name(analyst)
    when = (now or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC)
    changes = label_changes(before_labels, after_labels)
    n_changed = int(np.count_nonzero(np.asarray(before_labels) != np.asarray(after_labels)))
    return {
        "provenance_schema_version": PROVENANCE_SCHEMA_VERSION,
        "analyst": who,
        "analyst_source": who_source,
        "saved_at_utc": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "software": {"wallthick": __version__, **dict(versions or {})},
        "voxels_changed": n_changed,
        "voxels_by_label": changes,
        "before": _wall_values(before),
        "after": _wall_values(after),
        "files": dict(files or {}),
    }
