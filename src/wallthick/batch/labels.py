"""Segmentations made elsewhere: find the one of each series, measure with it.

:func:`match_labels` pairs every task of a batch with a segmentation under a
labels root, in this order (the first rule that finds something decides):

1. ``dicom-seg``: a DICOM SEG whose ReferencedSeriesSequence names the series;
2. ``series-uid``: a file or folder named after the SeriesInstanceUID
   (``<uid>.nii.gz``, ``<uid>.nrrd``, ``<uid>.mha``, ``<uid>.dcm``, ``<uid>/``);
3. ``relative-path``: the series' folder path relative to the input root,
   as a folder (TotalSegmentator's masks, or one label file inside) or with a
   label-file suffix (``site1/p7/ct.nii.gz``);
4. ``manifest``: a row of a CSV file at the top of the labels root with the
   columns ``series_instance_uid,path`` (paths relative to the CSV's folder).

The result travels with the task to the worker (:class:`TaskLabels`), where
:class:`SuppliedLabelsSegmenter` reads the map of the series being segmented.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wallthick.errors import SegmentationError
from wallthick.results import source_folder
from wallthick.volume import ImageVolume, LabelVolume

if TYPE_CHECKING:  # pragma: no cover
    from wallthick.io import SeriesDescriptor

__all__ = [
    "LabelSource",
    "SuppliedLabelsSegmenter",
    "TaskLabels",
    "given_labels",
    "labels_sha256",
    "match_labels",
]

logger = logging.getLogger(__name__)

_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm")


@dataclass(frozen=True)
class LabelSource:
    """The segmentation found for one series.

    Attributes
    ----------
    series_instance_uid : str
        The series it belongs to (empty for a volume-file task).
    path : str
        Absolute path of the label file, DICOM SEG or mask folder.
    rule : str
        ``given`` (``--labels``), ``dicom-seg``, ``series-uid``,
        ``relative-path`` or ``manifest``.
    sha256 : str
        Of the file (of a folder: of its label files' names and bytes), so
        ``--resume`` measures again when it changes.
    """

    series_instance_uid: str
    path: str
    rule: str
    sha256: str

    def to_record(self, show_phi: bool) -> dict[str, str]:
        """What the series record keeps (the path only with ``show_phi``)."""
        out = {"series_instance_uid": self.series_instance_uid, "rule": self.rule}
        out["sha256"] = self.sha256
        out["path"] = self.path if show_phi else ""
        return out


@dataclass(frozen=True)
class TaskLabels:
    """Segmentations supplied for one task: one per matched series, or why none."""

    sources: tuple[LabelSource, ...] = ()
    error: str = ""

    def fingerprint(self) -> list[list[str]]:
        """(uid, sha256) of every source: compared by ``--resume``."""
        return sorted([s.series_instance_uid, s.sha256] for s in self.sources)


def labels_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a label file, or of a folder's label files (names and bytes)."""
    p = Path(path)
    digest = hashlib.sha256()
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            digest.update(f.name.encode("utf-8") + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def given_labels(tasks: Sequence[Any], path: str | os.PathLike[str]) -> list[Any]:
    """Attach one label map given by the user (``wallthick measure --labels``) to a task.

    Raises
    ------
    ValueError
        ``path`` does not exist, or the input holds several phases and the map
        does not say which it belongs to (a DICOM SEG does).
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"Argument 'labels' must be an existing file or folder, got {str(p)!r}.")
    out = []
    for task in tasks:
        uids = [_uid(m) for m in task.members] or [""]
        uid = uids[0]
        if len(uids) > 1:
            named = [u for u in _seg_references(p) if u in uids]
            if not named:
                raise ValueError(
                    f"{p}: the input is a multiphase study ({len(uids)} phases) and the label "
                    "map does not say which phase it was drawn on; give the folder of that "
                    "phase's series, or a DICOM SEG (it references its series)."
                )
            uid = named[0]
        source = LabelSource(uid, str(p.resolve()), "given", labels_sha256(p))
        out.append(_with_labels(task, TaskLabels((source,)), p))
    return out


def match_labels(
    tasks: Sequence[Any], input_root: str | os.PathLike[str], labels_root: str | os.PathLike[str]
) -> list[Any]:
    """Each task with the segmentation(s) found for it under ``labels_root``.

    A task whose series has no match, or two DICOM SEGs, gets a
    :class:`TaskLabels` with an ``error`` saying so (the worker then fails the
    series or uses the fallback segmenter).

    Raises
    ------
    ValueError
        ``labels_root`` is not a folder.
    """
    root = Path(labels_root)
    if not root.is_dir():
        raise ValueError(
            f"Argument 'labels_root' must be an existing folder, got {str(labels_root)!r}."
        )
    index = _Index(root)
    out = []
    for task in tasks:
        sources: list[LabelSource] = []
        errors: list[str] = []
        for member in task.members:
            found, error = index.find(_uid(member), _relative(member, Path(input_root)))
            if found is not None:
                sources.append(found)
            elif error:
                errors.append(error)
        labels = TaskLabels(tuple(sources), "" if sources else _no_match(task, root, errors))
        out.append(_with_labels(task, labels, root))
    n = sum(bool(t.labels.sources) for t in out)
    logger.info("labels root: a segmentation for %d of %d tasks", n, len(out))
    return out


def _with_labels(task: Any, labels: TaskLabels, secret: Path) -> Any:
    paths = [s.path for s in labels.sources]
    secrets = tuple(dict.fromkeys([*task.secrets, *paths, str(secret.resolve()), str(secret)]))
    return replace(task, labels=labels, secrets=secrets)


def _no_match(task: Any, root: Path, errors: list[str]) -> str:
    if errors:
        return "; ".join(errors)
    return (
        f"no segmentation under the labels root {root} matches this series (looked for a DICOM "
        "SEG referencing its SeriesInstanceUID, a file or folder named after the UID, the "
        "series' relative path, and manifest CSV rows); add one, or measure it with "
        "--fallback classical."
    )


def _uid(member: SeriesDescriptor) -> str:
    return member.series_instance_uid


def _relative(member: SeriesDescriptor, input_root: Path) -> str:
    try:
        rel = Path(source_folder(member)).resolve().relative_to(input_root.resolve())
    except ValueError:
        return ""
    return "" if str(rel) == "." else rel.as_posix()


def _seg_references(path: Path) -> tuple[str, ...]:
    from wallthick.io.seg import is_dicom_seg, referenced_series_uids

    return referenced_series_uids(path) if is_dicom_seg(path) else ()


def _stem(name: str) -> str:
    low = name.lower()
    for suffix in _SUFFIXES:
        if low.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass
class _Index:
    """One walk of the labels root: SEG references, names, manifest rows."""

    root: Path
    segs: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    names: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    manifest: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root):
            here = Path(dirpath)
            dirnames.sort()
            for d in dirnames:
                self.names[d].append(here / d)
            for name in sorted(filenames):
                path = here / name
                self.names[_stem(name)].append(path)
                for uid in self._references(path):
                    self.segs[uid].append(path)
        for csv_path in sorted(self.root.glob("*.csv")):
            self.manifest.update(_read_manifest(csv_path))

    @staticmethod
    def _references(path: Path) -> tuple[str, ...]:
        try:
            return _seg_references(path)
        except SegmentationError as exc:
            logger.warning("%s: not read as a DICOM SEG (%s)", path, exc)
            return ()

    def find(self, uid: str, relative: str) -> tuple[LabelSource | None, str]:
        """The match of one series, or (None, why it is ambiguous / '')."""
        segs = self.segs.get(uid, []) if uid else []
        if len(segs) > 1:
            return None, (
                f"{len(segs)} DICOM SEGs under the labels root reference this series: "
                f"{', '.join(str(p) for p in segs[:4])}; keep one of them."
            )
        if segs:
            return self._source(uid, segs[0], "dicom-seg"), ""
        named = self.names.get(uid, []) if uid else []
        if len(named) > 1:
            return None, (
                f"{len(named)} files or folders under the labels root are named after this "
                f"series' UID: {', '.join(str(p) for p in named[:4])}; keep one of them."
            )
        if named:
            return self._source(uid, _inner(named[0]), "series-uid"), ""
        if relative:
            path = self._relative(relative)
            if path is not None:
                return self._source(uid, path, "relative-path"), ""
        if uid in self.manifest:
            path = self.manifest[uid]
            if not path.exists():
                return None, f"the manifest names {path} for this series, which does not exist."
            return self._source(uid, path, "manifest"), ""
        return None, ""

    def _relative(self, relative: str) -> Path | None:
        base = self.root / relative
        if base.is_dir():
            return _inner(base)
        for suffix in _SUFFIXES:
            candidate = base.with_name(base.name + suffix)
            if candidate.is_file():
                return candidate
        return None

    def _source(self, uid: str, path: Path, rule: str) -> LabelSource:
        return LabelSource(uid, str(path.resolve()), rule, labels_sha256(path))


def _inner(path: Path) -> Path:
    """A folder holding exactly one label file stands for that file; else the folder."""
    if not path.is_dir():
        return path
    files = [f for f in path.iterdir() if f.is_file() and f.name.lower().endswith(_SUFFIXES)]
    return files[0] if len(files) == 1 else path


def _read_manifest(path: Path) -> dict[str, Path]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = {f.strip().lower() for f in reader.fieldnames or ()}
            if not {"series_instance_uid", "path"} <= fields:
                return {}
            rows = [
                {k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        logger.warning("%s: manifest not read (%s)", path, exc)
        return {}
    out: dict[str, Path] = {}
    for row in rows:
        uid, rel = row.get("series_instance_uid", ""), row.get("path", "")
        if uid and rel:
            target = Path(rel)
            out[uid] = target if target.is_absolute() else path.parent / target
    return out


class SuppliedLabelsSegmenter:
    """The ``labelmap`` segmenter over a task's matched maps, chosen by series UID.

    For a multiphase study only the phases with a map are segmented (the
    others are reported as not segmented, and end-diastole is chosen among
    the segmented ones).
    """

    name = "labelmap"

    def __init__(self, labels: TaskLabels, mapping: Mapping[Any, Any] | str) -> None:
        self._sources = labels.sources
        self._mapping = mapping

    def segment(self, image: ImageVolume) -> LabelVolume:
        from wallthick.segment.labelmap import LabelMapSegmenter

        uid = str(image.metadata.get("series_instance_uid", "") or "")
        source = next((s for s in self._sources if s.series_instance_uid == uid), None)
        if source is None and len(self._sources) == 1 and self._sources[0].rule == "given":
            source = self._sources[0]
        if source is None:
            raise SegmentationError(f"series {uid or '(no UID)'}: no segmentation supplied.")
        labels = LabelMapSegmenter(source.path, self._mapping).segment(image)
        return labels.with_array(labels.array, label_rule=source.rule)
