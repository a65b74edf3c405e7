"""Finding CT series in a folder tree from their headers only.

``discover_series(root)`` walks ``root`` (any file names; hidden files,
``DICOMDIR`` and symlinks that leave the tree are ignored), reads every
file's header without pixel data and groups the images by SeriesInstanceUID,
then by geometry (orientation, rows/columns, pixel spacing), so that images
of different sizes or orientations never end up in one volume.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wallthick.errors import InvalidSeriesError
from wallthick.io._headers import (
    IMAGE_SOP_CLASSES,
    MEDIA_STORAGE_DIRECTORY,
    Header,
    PlaneRef,
    phase_from_text,
    quiet,
    read_header,
)

__all__ = [
    "MIN_SLICES",
    "RejectedFile",
    "SeriesDescriptor",
    "SeriesList",
    "discover_series",
    "find_phase_groups",
    "is_ct_image_series",
    "usability_problem",
]

logger = logging.getLogger(__name__)

#: Fewest planes a series needs to be measured (``load_series(min_slices=...)`` overrides).
MIN_SLICES = 3
_LOCALIZER = {"LOCALIZER", "SCOUT", "TOPOGRAM", "SURVIEW", "REF_SURVIEW", "SCANOGRAM"}
#: ImageType values of derived images that are not a measurable CT volume.
_NOT_A_VOLUME = {
    "DOSE_INFO",
    "DOSE",
    "SCREEN SAVE",
    "SCREENSHOT",
    "REPORT",
    "RESULTS",
    "PATIENT_INFO",
    "SUMMARY",
    "MIP",
    "MINIP",
    "VRT",
    "VOLUME_RENDERING",
}
_SOP_NAMES = {
    "1.2.840.10008.5.1.4.1.1.7": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.66.4": "segmentation",
    "1.2.840.10008.5.1.4.1.1.11.1": "presentation state",
    "1.2.840.10008.5.1.4.1.1.481.3": "RT structure set",
    "1.2.840.10008.5.1.4.1.1.104.1": "encapsulated PDF",
}


@dataclass(frozen=True)
class RejectedFile:
    """A file discovery could not use, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class SeriesDescriptor:
    """Light description of one image series (one geometry) found on disk.

    ``files`` are sorted by path; ``planes`` (one per image, not ordered
    spatially) hold what :func:`wallthick.io.load_series` needs. ``skip_reason``
    is ``None`` when the series can be loaded as a CT volume.
    """

    series_instance_uid: str
    study_instance_uid: str
    frame_of_reference_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    study_time: str
    study_description: str
    series_description: str
    series_number: int | None
    accession_number: str
    modality: str
    manufacturer: str
    sop_class_uid: str
    image_type: tuple[str, ...]
    transfer_syntaxes: tuple[str, ...]
    rows: int
    columns: int
    orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    slice_thickness_mm: float | None
    slice_count: int
    phase: str
    phase_percent: float | None
    trigger_time_ms: float | None
    temporal_positions: int
    multiframe: bool
    files: tuple[Path, ...]
    skip_reason: str | None = None
    has_pixel_data: bool | None = field(default=None, repr=False)
    geometry_problem: str | None = field(default=None, repr=False)
    planes: tuple[PlaneRef, ...] = field(default=(), repr=False)

    @property
    def usable(self) -> bool:
        """True when the series can be loaded as a CT volume."""
        return self.skip_reason is None

    @property
    def label(self) -> str:
        """A name for messages and logs (no patient data)."""
        number = f"series {self.series_number}" if self.series_number is not None else "series"
        where = self.files[0].parent if self.files else "?"
        desc = f" '{self.series_description}'" if self.series_description else ""
        phase = f" phase {self.phase}" if self.phase else ""
        return f"{number}{desc}{phase} in {where}"


class SeriesList(list[SeriesDescriptor]):
    """The series found by :func:`discover_series`, plus the files it rejected."""

    def __init__(
        self, items: Iterable[SeriesDescriptor] = (), rejected: Iterable[RejectedFile] = ()
    ):
        super().__init__(items)
        self.rejected: list[RejectedFile] = list(rejected)

    @property
    def usable(self) -> list[SeriesDescriptor]:
        """The series that can be loaded as CT volumes."""
        return [d for d in self if d.skip_reason is None]


def discover_series(root: str | os.PathLike[str]) -> SeriesList:
    """Find the image series under ``root`` (a folder or a single file).

    Parameters
    ----------
    root : path
        Folder tree to walk, or one file.

    Returns
    -------
    SeriesList
        Descriptors sorted by study, series number and description; the
        attribute ``rejected`` lists the files that were not usable DICOM
        (with a reason), e.g. non-DICOM or corrupt files.

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist.
    """
    base = Path(root)
    if not base.exists():
        raise FileNotFoundError(f"Argument 'root' must be an existing file or folder, got {base}.")
    rejected: list[RejectedFile] = []
    headers: list[Header] = []
    with quiet():
        for path in _walk(base, rejected):
            try:
                headers.append(read_header(path))
            except InvalidSeriesError as exc:
                rejected.append(RejectedFile(path, str(exc)))
                logger.info("skipped %s", exc)
    descriptors = [_describe(group) for group in _group(headers)]
    descriptors.sort(
        key=lambda d: (
            d.study_instance_uid,
            d.series_number or 0,
            d.series_description,
            str(d.files[0]),
        )
    )
    logger.info(
        "%s: %d series (%d usable), %d files rejected",
        base,
        len(descriptors),
        sum(d.usable for d in descriptors),
        len(rejected),
    )
    return SeriesList(descriptors, rejected)


def _walk(base: Path, rejected: list[RejectedFile]) -> Iterator[Path]:
    """Files under ``base``: real entries first, then symbolic links inside the tree.

    Links are followed only after every real folder has been walked, so a file
    reachable both directly and through a link is reported under its real path;
    each folder and file (by device and inode) is visited once, so link cycles end.
    """
    if base.is_file():
        yield base
        return
    real_root = base.resolve()
    seen_dirs: set[Path] = {real_root}
    seen_files: set[tuple[int, int]] = set()
    stack: list[Path] = [base]
    links: list[Path] = []
    while stack or links:
        if not stack:
            link = links.pop(0)
            yield from _follow(link, base, real_root, seen_dirs, seen_files, stack, rejected)
            continue
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            rejected.append(RejectedFile(folder, f"{folder}: cannot list folder ({exc.strerror})."))
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name.upper() == "DICOMDIR":
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    links.append(path)
                elif entry.is_dir(follow_symlinks=False):
                    seen_dirs.add(path.resolve())
                    stack.append(path)
                elif entry.is_file(follow_symlinks=False) and _first_visit(
                    entry.stat(), seen_files
                ):
                    yield path
            except OSError as exc:
                rejected.append(RejectedFile(path, f"{path}: cannot access ({exc.strerror})."))


def _first_visit(stat: os.stat_result, seen_files: set[tuple[int, int]]) -> bool:
    identity = (stat.st_dev, stat.st_ino)
    if identity in seen_files:
        return False
    seen_files.add(identity)
    return True


def _follow(
    link: Path,
    base: Path,
    real_root: Path,
    seen_dirs: set[Path],
    seen_files: set[tuple[int, int]],
    stack: list[Path],
    rejected: list[RejectedFile],
) -> Iterator[Path]:
    try:
        real = link.resolve()
        if not real.is_relative_to(real_root):
            rejected.append(RejectedFile(link, f"{link}: symbolic link leads outside {base}."))
        elif real.is_dir():
            if real not in seen_dirs:
                seen_dirs.add(real)
                stack.append(link)
        elif real.is_file() and _first_visit(real.stat(), seen_files):
            yield link
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop in resolve()
        rejected.append(RejectedFile(link, f"{link}: cannot follow symbolic link ({exc})."))


def _group(headers: Sequence[Header]) -> list[list[Header]]:
    by_series: dict[tuple[str, ...], list[Header]] = defaultdict(list)
    for h in headers:
        if h.sop_class_uid == MEDIA_STORAGE_DIRECTORY:
            continue
        if h.number_of_frames > 1 or len(h.planes) > 1:
            key: tuple[str, ...] = ("file", str(h.path))
        elif h.series_instance_uid:
            key = ("uid", h.series_instance_uid)
        else:  # anonymised without UIDs: fall back to folder + frame of reference + number
            key = ("folder", str(h.path.parent), h.frame_of_reference_uid, str(h.series_number))
        by_series[key].append(h)
    groups: list[list[Header]] = []
    for members in by_series.values():
        for geometry_group in _split_geometry(members):
            groups.extend(_split_phases(geometry_group))
    return groups


def _same_geometry(a: Header, b: Header) -> bool:
    if a.geometry_problem or b.geometry_problem:
        return a.geometry_problem == b.geometry_problem
    if (a.rows, a.columns, a.sop_class_uid) != (b.rows, b.columns, b.sop_class_uid):
        return False
    assert a.orientation and b.orientation and a.pixel_spacing and b.pixel_spacing
    return all(
        abs(x - y) < 1e-3 for x, y in zip(a.orientation, b.orientation, strict=True)
    ) and all(abs(x - y) < 1e-4 for x, y in zip(a.pixel_spacing, b.pixel_spacing, strict=True))


def _split_geometry(members: list[Header]) -> list[list[Header]]:
    clusters: list[list[Header]] = []
    for h in sorted(members, key=lambda h: str(h.path)):
        for cluster in clusters:
            if _same_geometry(cluster[0], h):
                cluster.append(h)
                break
        else:
            clusters.append([h])
    return clusters


def _phase_key(h: Header) -> float | None:
    return h.phase_percent if h.phase_percent is not None else h.trigger_time_ms


def _split_phases(members: list[Header]) -> list[list[Header]]:
    """Split a series that repeats positions once per cardiac phase."""
    if len(members) < 2 or members[0].geometry_problem or any(len(h.planes) != 1 for h in members):
        return [members]
    positions = [tuple(round(v, 2) for v in h.planes[0].position) for h in members]
    if len(set(positions)) == len(positions):
        return [members]
    by_phase: dict[float | None, list[Header]] = defaultdict(list)
    for h in members:
        by_phase[_phase_key(h)].append(h)
    if len(by_phase) < 2 or None in by_phase:
        return [members]
    for group in by_phase.values():
        pos = [tuple(round(v, 2) for v in h.planes[0].position) for h in group]
        if len(set(pos)) != len(pos):
            return [members]
    return [by_phase[k] for k in sorted(by_phase, key=lambda k: k or 0.0)]


def is_ct_image_series(d: SeriesDescriptor) -> bool:
    """True for a CT image series meant as a volume (not a localizer, not derived).

    Such a series is measured or, when it is broken (no pixel data, unusable
    geometry, too few slices), reported as a failed measurement; everything
    else (other modalities and objects, localizers) is only listed as skipped.
    """
    return _not_a_ct_volume(d) is None


def _not_a_ct_volume(d: SeriesDescriptor) -> str | None:
    """Why ``d`` is not a CT image volume at all (another object, modality or image kind)."""
    sop = d.sop_class_uid
    if sop and sop not in IMAGE_SOP_CLASSES:
        name = next((v for k, v in _SOP_NAMES.items() if sop.startswith(k)), None)
        if name is None and sop.startswith("1.2.840.10008.5.1.4.1.1.88."):
            name = "structured report"
        return f"{name or 'SOP class ' + sop} object, not a CT image"
    if d.modality != "CT":
        return f"modality {d.modality or '(missing)'} is not CT"
    if _LOCALIZER & set(d.image_type):
        return "localizer/scout image (ImageType " + "\\".join(d.image_type) + ")"
    if _NOT_A_VOLUME & set(d.image_type):
        return "derived image that is not a CT volume (ImageType " + "\\".join(d.image_type) + ")"
    return None


def usability_problem(d: SeriesDescriptor, min_slices: int = MIN_SLICES) -> str | None:
    """Why ``d`` cannot be loaded as a CT volume, or ``None``."""
    not_ct = _not_a_ct_volume(d)
    if not_ct:
        return not_ct
    if d.has_pixel_data is False:
        return "no pixel data"
    if d.geometry_problem:
        return d.geometry_problem
    per_position = d.slice_count // max(d.temporal_positions, 1)
    if per_position < min_slices:
        return f"too few slices ({per_position} < {min_slices})"
    return None


#: Fields a descriptor takes unchanged from the header of its first file.
_FROM_FIRST_FILE = (
    "series_instance_uid",
    "study_instance_uid",
    "frame_of_reference_uid",
    "patient_id",
    "patient_name",
    "study_date",
    "study_time",
    "study_description",
    "series_description",
    "series_number",
    "accession_number",
    "modality",
    "manufacturer",
    "sop_class_uid",
    "image_type",
    "rows",
    "columns",
    "orientation",
    "pixel_spacing",
)


def _describe(members: list[Header]) -> SeriesDescriptor:
    first = members[0]
    planes = tuple(p for h in members for p in h.planes)
    percents = {h.phase_percent for h in members}
    temporal = {p.temporal_key for p in planes}
    percent = percents.pop() if len(percents) == 1 else None
    if percent is None:
        percent = phase_from_text(first.series_description)
    triggers = [h.trigger_time_ms for h in members if h.trigger_time_ms is not None]
    has_pixels = {h.has_pixel_data for h in members}
    desc = SeriesDescriptor(
        **{name: getattr(first, name) for name in _FROM_FIRST_FILE},
        transfer_syntaxes=tuple(sorted({h.transfer_syntax for h in members})),
        slice_thickness_mm=first.slice_thickness,
        slice_count=len(planes) if planes else sum(h.number_of_frames for h in members),
        phase=f"{percent:g}%" if percent is not None else "",
        phase_percent=percent,
        trigger_time_ms=statistics.median(triggers) if triggers else None,
        temporal_positions=len(temporal) if first.number_of_frames > 1 else 1,
        multiframe=first.number_of_frames > 1 or len(first.planes) > 1,
        files=tuple(sorted(h.path for h in members)),
        has_pixel_data=False if False in has_pixels else (None if None in has_pixels else True),
        geometry_problem=_series_problem([h.geometry_problem for h in members]),
        planes=planes,
    )
    return _with_skip_reason(desc)


def _series_problem(problems: Sequence[str | None]) -> str | None:
    """One reason for the series from its files' own problems (``None``: all fine)."""
    distinct = set(problems)
    if len(distinct) == 1:
        return problems[0]
    bad = sorted(p for p in distinct if p)
    if not bad:
        return None
    n_bad = sum(1 for p in problems if p)
    return f"{n_bad} of {len(problems)} files: {bad[0]}"


def _with_skip_reason(d: SeriesDescriptor) -> SeriesDescriptor:
    from dataclasses import replace

    return replace(d, skip_reason=usability_problem(d))


def _phase_sort_key(d: SeriesDescriptor) -> float:
    key = d.phase_percent if d.phase_percent is not None else d.trigger_time_ms
    return key if key is not None else -1.0


def find_phase_groups(
    descriptors: Iterable[SeriesDescriptor],
) -> list[tuple[SeriesDescriptor, ...]]:
    """Group the phases of one multiphase acquisition.

    Usable CT series of one study that share frame of reference and geometry
    (orientation, rows/columns, pixel spacing) and carry *distinct* cardiac
    phases (NominalPercentageOfCardiacPhase, a percentage in the
    SeriesDescription, or TriggerTime) form one group, ordered by phase. Every
    other series (no phase, a phase shared with another series, or not
    usable) is a group of its own. A multi-frame series with several temporal
    positions is one group; load it with :func:`wallthick.io.load_phases`.

    Returns
    -------
    list of tuple of SeriesDescriptor
    """
    items = list(descriptors)
    buckets: dict[tuple[object, ...], list[SeriesDescriptor]] = defaultdict(list)
    singles: list[tuple[SeriesDescriptor, ...]] = []
    for d in items:
        key = _phase_sort_key(d)
        if d.skip_reason is not None or key < 0 or d.temporal_positions > 1:
            singles.append((d,))
            continue
        geometry = (
            tuple(round(v, 3) for v in d.orientation or ()),
            d.rows,
            d.columns,
            tuple(round(v, 4) for v in d.pixel_spacing or ()),
        )
        buckets[(d.study_instance_uid, d.frame_of_reference_uid, geometry)].append(d)
    groups: list[tuple[SeriesDescriptor, ...]] = []
    for members in buckets.values():
        keys = [_phase_sort_key(d) for d in members]
        if len(members) > 1 and len(set(keys)) == len(keys):
            groups.append(tuple(sorted(members, key=_phase_sort_key)))
        else:
            singles.extend((d,) for d in members)
    order = {id(d): i for i, d in enumerate(items)}
    groups.extend(singles)
    groups.sort(key=lambda g: order[id(g[0])])
    return groups
