"""Result types of a wall-thickness measurement and their one serialisation.

:class:`Measurement` holds the numbers (what goes into ``measurements.csv`` and
the per-series JSON). :class:`MeasurementResult` adds the arrays a viewer or a
QC picture needs (labels, thickness map, AHA segment map, LV frame).

The CSV column list :data:`CSV_COLUMNS` is a public contract (see
``docs/output_schema.md``); bump :data:`SCHEMA_VERSION` when it changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from wallthick._version import __version__
from wallthick.measure.aha import AHA_SEGMENTS, POSTERIOR_SEGMENTS, SEPTAL_SEGMENTS
from wallthick.volume import ImageVolume, LabelVolume

__all__ = [
    "AHA_SEGMENTS",
    "CSV_COLUMNS",
    "MEASURED_STATUSES",
    "POSTERIOR_SEGMENTS",
    "SCHEMA_VERSION",
    "SEPTAL_SEGMENTS",
    "SERIES_COLUMNS",
    "STATUSES",
    "LVFrame",
    "Measurement",
    "MeasurementResult",
    "PhaseInfo",
    "SegmentStats",
    "SeriesInfo",
    "failed_row",
]

SCHEMA_VERSION = "1.1"

#: Values of the ``status`` column. ``ok``: measured, every QC criterion passed
#: and both wall values with their uncertainties present - the numbers are
#: usable. ``qc_failed``: measured, but a QC criterion failed or a wall value is
#: missing (the criteria are in ``qc_flags``); review before using the numbers.
#: ``failed``: not measured (the reason is in ``error``).
STATUSES: tuple[str, ...] = ("ok", "qc_failed", "failed")
#: Statuses of rows that carry a measurement (numbers, QC picture, labels).
MEASURED_STATUSES: tuple[str, ...] = ("ok", "qc_failed")
#: Criterion added when a wall value or its uncertainty is missing and no QC
#: criterion already explains it.
MISSING_VALUE = "missing_value"

CSV_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "study_date",
    "study_time",
    "study_instance_uid",
    "series_instance_uid",
    "septal_thickness_mm",
    "posterior_wall_thickness_mm",
    "septal_uncertainty_mm",
    "posterior_uncertainty_mm",
    *(f"aha_{i}_mm" for i in AHA_SEGMENTS),
    *(f"aha_{i}_uncertainty_mm" for i in AHA_SEGMENTS),
    "lv_cavity_volume_ml",
    "lv_mass_g",
    "phase",
    "segmentation_source",
    "segmenter",
    "qc_flags",
    "status",
    "error",
    "source_path",
    "wallthick_version",
    "schema_version",
)


@dataclass(frozen=True)
class SeriesInfo:
    """Where a measured image came from (all strings; empty when unknown)."""

    patient_id: str = ""
    study_date: str = ""  # YYYYMMDD
    study_time: str = ""  # HHMMSS(.ffffff)
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    series_description: str = ""
    source_path: str = ""


@dataclass(frozen=True)
class SegmentStats:
    """Thickness statistics of one AHA segment (NaN when not covered).

    ``std_mm`` is the spread of the thickness over the segment;
    ``uncertainty_mm`` the 1-sigma standard uncertainty of its mean
    (``mean_mm``), from the same model as the septal/posterior values.
    """

    segment: int
    mean_mm: float
    median_mm: float
    max_mm: float
    std_mm: float
    n_points: int
    uncertainty_mm: float = math.nan


@dataclass(frozen=True)
class PhaseInfo:
    """One cardiac phase considered when choosing end-diastole."""

    phase: str  # e.g. "70%" or "TriggerTime=650ms"
    series_instance_uid: str
    lv_cavity_volume_ml: float
    chosen: bool = False


@dataclass(frozen=True)
class Measurement:
    """The numbers of one wall-thickness measurement (one series).

    Thicknesses are at end-diastole, perpendicular to the wall, in mm.
    ``septal_*`` aggregates AHA segments 2, 3, 8, 9 and ``posterior_*``
    aggregates segments 5 and 11. Uncertainties are 1-sigma standard
    uncertainties of the reported value, in mm.
    """

    septal_thickness_mm: float
    septal_uncertainty_mm: float
    posterior_wall_thickness_mm: float
    posterior_uncertainty_mm: float
    segments: tuple[SegmentStats, ...]
    lv_cavity_volume_ml: float
    lv_mass_g: float
    qc_flags: tuple[str, ...] = ()
    phase: str = ""
    phases: tuple[PhaseInfo, ...] = ()
    segmentation_source: str = "auto"  # "auto" | "corrected" | "labels" | "fallback"
    segmenter: str = ""
    series: SeriesInfo = field(default_factory=SeriesInfo)
    options: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    wallthick_version: str = __version__

    def segment(self, number: int) -> SegmentStats:
        """Statistics of AHA segment ``number`` (1-17)."""
        for s in self.segments:
            if s.segment == number:
                return s
        raise KeyError(f"AHA segment {number} is not in this measurement.")

    @property
    def failed_criteria(self) -> tuple[str, ...]:
        """The QC criteria this measurement failed (``qc_flags``), plus
        ``missing_value`` when a septal/posterior value or uncertainty is
        missing and no criterion says so already."""
        values = (
            self.septal_thickness_mm,
            self.septal_uncertainty_mm,
            self.posterior_wall_thickness_mm,
            self.posterior_uncertainty_mm,
        )
        flags = tuple(self.qc_flags)
        if not flags and not all(math.isfinite(v) for v in values):
            flags += (MISSING_VALUE,)
        return flags

    @property
    def status(self) -> str:
        """``"ok"`` when no criterion failed, else ``"qc_failed"`` (see :data:`STATUSES`)."""
        return "qc_failed" if self.failed_criteria else "ok"

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-serialisable (NaN becomes ``None``)."""
        return _jsonable({"schema_version": SCHEMA_VERSION, "status": self.status, **asdict(self)})

    def to_row(self) -> dict[str, str]:
        """One ``measurements.csv`` row, keyed by :data:`CSV_COLUMNS`."""
        by_seg = {s.segment: s for s in self.segments}
        row: dict[str, Any] = {
            **{k: getattr(self.series, k) for k in SERIES_COLUMNS},
            "septal_thickness_mm": self.septal_thickness_mm,
            "posterior_wall_thickness_mm": self.posterior_wall_thickness_mm,
            "septal_uncertainty_mm": self.septal_uncertainty_mm,
            "posterior_uncertainty_mm": self.posterior_uncertainty_mm,
            **{f"aha_{i}_mm": by_seg[i].mean_mm for i in AHA_SEGMENTS if i in by_seg},
            **{
                f"aha_{i}_uncertainty_mm": by_seg[i].uncertainty_mm
                for i in AHA_SEGMENTS
                if i in by_seg
            },
            "lv_cavity_volume_ml": self.lv_cavity_volume_ml,
            "lv_mass_g": self.lv_mass_g,
            "phase": self.phase,
            "segmentation_source": self.segmentation_source,
            "segmenter": self.segmenter,
            "qc_flags": ";".join(self.failed_criteria),
            "status": self.status,
            "error": "",
            "wallthick_version": self.wallthick_version,
            "schema_version": SCHEMA_VERSION,
        }
        return {c: _fmt(row.get(c, "")) for c in CSV_COLUMNS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        """Inverse of :meth:`to_dict`."""
        d = dict(data)
        d.pop("schema_version", None)
        d.pop("status", None)
        d["segments"] = tuple(SegmentStats(**_nan(s)) for s in d.get("segments", ()))
        d["phases"] = tuple(PhaseInfo(**_nan(p)) for p in d.get("phases", ()))
        d["series"] = SeriesInfo(**d.get("series", {}))
        d["qc_flags"] = tuple(d.get("qc_flags", ()))
        return cls(**_nan(d))


#: Columns that identify a series; also the sort order of measurements.csv.
SERIES_COLUMNS = (
    "patient_id",
    "study_date",
    "study_time",
    "study_instance_uid",
    "series_instance_uid",
    "source_path",
)
_FLOAT_FIELDS = {
    "septal_thickness_mm",
    "septal_uncertainty_mm",
    "posterior_wall_thickness_mm",
    "posterior_uncertainty_mm",
    "lv_cavity_volume_ml",
    "lv_mass_g",
    "mean_mm",
    "median_mm",
    "max_mm",
    "std_mm",
    "uncertainty_mm",
}


def failed_row(series: SeriesInfo, error: str, qc_flags: Sequence[str] = ()) -> dict[str, str]:
    """A ``measurements.csv`` row for a series that could not be measured."""
    row = {c: "" for c in CSV_COLUMNS}
    row.update({k: getattr(series, k) for k in SERIES_COLUMNS})
    row.update(
        status="failed",
        error=" ".join(error.split()),
        qc_flags=";".join(qc_flags),
        wallthick_version=__version__,
        schema_version=SCHEMA_VERSION,
    )
    return row


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _nan(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (math.nan if v is None and k in _FLOAT_FIELDS else v) for k, v in d.items()}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


@dataclass(frozen=True, eq=False)
class LVFrame:
    """The LV's own coordinate frame, in LPS mm.

    ``long_axis`` is the unit vector from the apex to the mitral-plane centre;
    ``septal_direction`` is a unit vector perpendicular to it pointing from the
    LV centre to the middle of the septum (between the RV insertion points).
    """

    apex_mm: npt.NDArray[np.float64]
    base_center_mm: npt.NDArray[np.float64]
    long_axis: npt.NDArray[np.float64]
    septal_direction: npt.NDArray[np.float64]
    rv_insertion_points_mm: npt.NDArray[np.float64]  # (2, 3): anterior, inferior


@dataclass(frozen=True, eq=False)
class MeasurementResult:
    """A :class:`Measurement` with the arrays it was computed from.

    The maps are held on a box of the label grid, from index ``box_start`` on
    with the shape of ``box_thickness_mm`` (the LV's bounding box with a
    margin: every myocardial voxel lies in it): ``box_thickness_mm`` is the
    thickness (NaN off the myocardium), ``box_segments`` the AHA segment (1-17,
    0 elsewhere) of each myocardial voxel. :attr:`thickness_mm` and
    :attr:`aha_segments` give them on the whole grid of ``labels`` (built on
    first use). ``probes`` maps ``"septal"``/``"posterior"`` to an ``(n, 2,
    3)`` array of representative endocardial->epicardial line segments in LPS
    mm, for drawing where the value was taken.
    """

    measurement: Measurement
    image: ImageVolume | None
    labels: LabelVolume
    box_thickness_mm: npt.NDArray[np.float32]
    box_segments: npt.NDArray[np.uint8]
    frame: LVFrame
    probes: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    box_start: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        shape = np.shape(self.box_thickness_mm)
        stop = np.add(self.box_start, shape) if len(shape) == 3 else None
        if (
            stop is None
            or np.shape(self.box_segments) != shape
            or min(self.box_start) < 0
            or np.any(stop > np.asarray(self.labels.shape))
        ):
            raise ValueError(
                f"Arguments 'box_thickness_mm' {shape} and 'box_segments' "
                f"{np.shape(self.box_segments)} must be one 3-D box of the label grid "
                f"{self.labels.shape} from 'box_start' {self.box_start}."
            )

    @property
    def box(self) -> tuple[slice, slice, slice]:
        """The maps' box as slices of the label grid."""
        shape = self.box_thickness_mm.shape
        a, b, c = (slice(s, s + n) for s, n in zip(self.box_start, shape, strict=True))
        return a, b, c

    @cached_property
    def thickness_mm(self) -> npt.NDArray[np.float32]:
        """Thickness (mm) of each myocardial voxel on the grid of ``labels``, NaN elsewhere."""
        full = np.full(self.labels.shape, np.nan, dtype=np.float32)
        full[self.box] = self.box_thickness_mm
        return full

    @cached_property
    def aha_segments(self) -> npt.NDArray[np.uint8]:
        """AHA segment (1-17) of each myocardial voxel on the grid of ``labels``, 0 elsewhere."""
        full = np.zeros(self.labels.shape, dtype=np.uint8)
        full[self.box] = self.box_segments
        return full
