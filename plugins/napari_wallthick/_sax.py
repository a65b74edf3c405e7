"""Short-axis mode of the widget: the session state and its jobs (no Qt, no napari).

In short-axis (SAX) mode the viewer's world is the SAX grid's own frame:
millimetres along its (slice, row, column) axes from its first voxel, so napari
slices the SAX layers exactly (napari cannot slice an oblique layer in 2-D
without dropping its out-of-plane rotation). The other layers are moved into
that world by :func:`sax_world_from_lps_world` and hidden while the mode is on.
The labels are edited and measured on the SAX grid itself
(:func:`wallthick.measure.measure_labels` takes the oblique ``LabelVolume``);
nothing is resampled back.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from napari_wallthick._convert import geometry_metadata
from wallthick import (
    Geometry,
    ImageVolume,
    LabelVolume,
    Measurement,
    MeasurementResult,
    WallthickError,
)
from wallthick.measure import long_axis_planes, measure_labels, reformat, short_axis_grid

__all__ = [
    "SAX_AXES",
    "ShortAxisSession",
    "enter_short_axis_job",
    "insertion_markers",
    "plane_view",
    "sax_affine",
    "sax_probe_lines",
    "sax_recompute_job",
    "sax_world_from_lps_world",
    "segment_changes",
]

Progress = tuple[int, str]
FloatArray = npt.NDArray[np.float64]

#: World axis names in short-axis mode.
SAX_AXES: tuple[str, str, str] = ("base→apex", "anterior→inferior", "septum→lateral")
_REVERSE = np.eye(4)[[2, 1, 0, 3]]


@dataclass(eq=False)
class ShortAxisSession:
    """Everything the widget keeps while the short-axis mode is on.

    ``saved`` is the SAX label array last saved (or as reformatted on entry):
    the layer has unsaved edits while it differs from it.
    """

    grid: Geometry
    image: ImageVolume  # the CT on the SAX grid
    source_image: ImageVolume  # the CT on its own grid
    automatic: LabelVolume | None  # automatic segmentation on the image grid
    automatic_sax: LabelVolume | None  # the same on the SAX grid (provenance diff)
    automatic_measurement: Measurement | None
    automatic_segments_sax: npt.NDArray[np.uint8] | None
    axial_result: MeasurementResult  # the measurement the SAX grid was built from
    result: MeasurementResult  # latest measurement on the SAX grid
    planes: Mapping[str, Geometry]
    plane_images: Mapping[str, npt.NDArray[np.float32]]
    saved: npt.NDArray[np.uint8]
    last_saved: Mapping[str, Any] | None = field(default=None)

    def has_unsaved_edits(self, labels: npt.ArrayLike) -> bool:
        """True when ``labels`` (the SAX layer's data) differ from the last saved state."""
        return not np.array_equal(np.asarray(labels), self.saved)

    def slice_row(self, plane: str, slice_index: float) -> float:
        """Row of the long-axis plane ``plane`` where SAX slice ``slice_index`` cuts it."""
        point = self.grid.index_to_world([slice_index, 0.0, 0.0])
        return float(self.planes[plane].world_to_index(point)[1])


def sax_affine(grid: Geometry) -> FloatArray:
    """napari affine of a SAX-grid layer in the SAX world (scale only).

    >>> g = Geometry((2, 3, 4), (1.5, 0.7, 0.7), (5.0, 6.0, 7.0), np.eye(3))
    >>> sax_affine(g).diagonal().tolist()
    [1.5, 0.7, 0.7, 1.0]
    """
    return np.diag([*grid.spacing_mm.tolist(), 1.0])


def sax_world_from_lps_world(grid: Geometry) -> FloatArray:
    """4x4 map from this plugin's (S, P, L) world to the SAX world of ``grid``.

    A layer of the (S, P, L) world shows in the SAX world with the affine
    ``sax_world_from_lps_world(grid) @ layer.affine``.

    >>> g = Geometry((2, 2, 2), (2.0, 1.0, 1.0), (0.0, 0.0, 10.0), np.eye(3))
    >>> (sax_world_from_lps_world(g) @ [12.0, 0.0, 4.0, 1.0]).tolist()
    [4.0, 0.0, 2.0, 1.0]
    """
    to_sax = np.eye(4)
    to_sax[:3, :3] = grid.direction.T
    to_sax[:3, 3] = -grid.direction.T @ grid.origin_mm
    return np.asarray(to_sax @ _REVERSE)


def to_sax_world(grid: Geometry, points_lps: npt.ArrayLike) -> FloatArray:
    """LPS points ``(..., 3)`` to SAX-world mm (along the grid's axes from voxel 0)."""
    return np.asarray(grid.world_to_index(points_lps) * grid.spacing_mm)


def sax_probe_lines(
    result: MeasurementResult, grid: Geometry, slice_mm: float | None, tolerance_mm: float
) -> tuple[list[FloatArray], list[str]]:
    """The septal/posterior probes in the SAX world, on the slice at ``slice_mm``.

    A probe crossing the slice (within ``tolerance_mm`` of its ends) is drawn
    whole, projected along the long axis onto it; ``slice_mm=None`` gives the
    true 3-D lines.
    """
    lines: list[FloatArray] = []
    walls: list[str] = []
    for wall, segs in result.probes.items():
        for seg in np.asarray(segs, dtype=np.float64).reshape(-1, 2, 3):
            if not np.all(np.isfinite(seg)):
                continue
            q = to_sax_world(grid, seg)
            if slice_mm is not None:
                if not (q[:, 0].min() - tolerance_mm <= slice_mm <= q[:, 0].max() + tolerance_mm):
                    continue
                q[:, 0] = slice_mm
            lines.append(q)
            walls.append(str(wall))
    return lines, walls


def insertion_markers(
    result: MeasurementResult, grid: Geometry, slice_mm: float
) -> tuple[FloatArray, list[FloatArray]]:
    """RV insertion points projected on the SAX slice, and the lines from the LV axis to them.

    The lines mark the two insertion directions from which the AHA segment
    boundaries are counted.
    """
    frame = result.frame
    ins = np.asarray(frame.rv_insertion_points_mm, dtype=np.float64).reshape(-1, 3)
    ins = ins[np.all(np.isfinite(ins), axis=1)]
    if len(ins) == 0:
        return np.zeros((0, 3)), []
    axis = to_sax_world(grid, np.stack([frame.apex_mm, frame.base_center_mm]))
    t = (slice_mm - axis[1, 0]) / (axis[0, 0] - axis[1, 0]) if axis[0, 0] != axis[1, 0] else 0.0
    centre = axis[1] + t * (axis[0] - axis[1])
    points = to_sax_world(grid, ins)
    points[:, 0] = slice_mm
    centre[0] = slice_mm
    return points, [np.stack([centre, p]) for p in points]


def plane_view(
    session: ShortAxisSession, plane: str, labels: LabelVolume | None = None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8] | None]:
    """The CT (and labels) of a long-axis plane as 2-D arrays (rows apex -> base)."""
    image = session.plane_images[plane]
    if labels is None:
        return image, None
    return image, reformat(labels, session.planes[plane]).array[0]


def segment_changes(
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    segments_before: npt.ArrayLike | None,
    segments_after: npt.ArrayLike,
) -> dict[str, int]:
    """Changed voxels per AHA segment (``"1"``..``"17"``; ``"none"`` off the myocardium).

    A changed voxel counts for the segment it had in the automatic labels'
    segment map, else for the one it has in the corrected labels' map.

    >>> segment_changes([2, 2, 0, 1], [2, 0, 2, 2], [5, 5, 0, 0], [5, 0, 11, 11])
    {'5': 1, '11': 2}
    """
    old, new = np.asarray(before), np.asarray(after)
    changed = old != new
    seg = np.asarray(segments_after)[changed].astype(np.int64)
    if segments_before is not None:
        prior = np.asarray(segments_before)[changed].astype(np.int64)
        seg = np.where(prior > 0, prior, seg)
    counts = np.bincount(seg, minlength=18)
    out = {str(s): int(counts[s]) for s in range(1, len(counts)) if counts[s]}
    if counts[0]:
        out["none"] = int(counts[0])
    return out


# -- jobs (worker thread) -------------------------------------------------------
def enter_short_axis_job(
    result: MeasurementResult,
    labels: LabelVolume,
    image: ImageVolume,
    automatic: LabelVolume | None,
    automatic_measurement: Measurement | None,
    slice_mm: float,
) -> Generator[Progress, None, ShortAxisSession]:
    """Reformat ``image`` and ``labels`` onto the SAX grid of ``result.frame`` and measure."""
    yield 5, "Building the short-axis grid…"
    try:
        grid = short_axis_grid(result.frame, labels, slice_mm=slice_mm)
    except ValueError as exc:
        raise WallthickError(f"Cannot build the short-axis grid: {exc}") from exc
    yield 15, f"Reformatting onto {grid.shape[0]} short-axis slices…"
    sax_labels = reformat(labels, grid)
    sax_image = reformat(image, grid)
    auto_sax = None if automatic is None else reformat(automatic, grid)
    auto_segments = None
    if automatic is not None and result.labels.geometry.same_grid(automatic.geometry, atol=1e-3):
        if np.array_equal(result.labels.array, automatic.array):
            seg = LabelVolume.from_geometry(result.aha_segments, result.labels.geometry)
            auto_segments = reformat(seg, grid).array
    yield 45, "Measuring on the short-axis grid…"
    source = "corrected" if auto_sax is None or not np.array_equal(
        auto_sax.array, sax_labels.array
    ) else "auto"  # fmt: skip
    sax_result = measure_labels(sax_labels, sax_image, segmentation_source=source)
    yield 85, "Long-axis views…"
    planes = long_axis_planes(sax_result.frame, grid)
    plane_images = {name: reformat(image, g).array[0] for name, g in planes.items()}
    yield 100, "Short-axis view ready."
    return ShortAxisSession(
        grid=grid,
        image=sax_image,
        source_image=image,
        automatic=automatic,
        automatic_sax=auto_sax,
        automatic_measurement=automatic_measurement,
        automatic_segments_sax=auto_segments,
        axial_result=result,
        result=sax_result,
        planes=planes,
        plane_images=plane_images,
        saved=sax_labels.array.copy(),
    )


def sax_recompute_job(
    session: ShortAxisSession, labels: npt.NDArray[np.integer]
) -> Generator[Progress, None, MeasurementResult]:
    """Measure the edited SAX labels on the SAX grid (the CT is already on it)."""
    yield 10, "Recomputing from the edited short-axis labels…"
    sax_labels = sax_label_volume(session, labels)
    corrected = session.automatic_sax is None or not np.array_equal(
        session.automatic_sax.array, sax_labels.array
    )
    result = measure_labels(
        sax_labels, session.image, segmentation_source="corrected" if corrected else "auto"
    )
    yield 100, "Recomputed."
    return result


def sax_label_volume(session: ShortAxisSession, labels: npt.ArrayLike) -> LabelVolume:
    """The SAX layer's data as a :class:`LabelVolume` on the SAX grid."""
    array = np.asarray(labels)
    if array.shape != session.grid.shape or not np.issubdtype(array.dtype, np.integer):
        raise WallthickError(
            f"The short-axis labels must be integers of shape {session.grid.shape}, "
            f"got {array.dtype} {array.shape}."
        )
    meta = {"grid": "short_axis", "geometry": geometry_metadata(session.grid)}
    return LabelVolume.from_geometry(array.astype(np.uint8, copy=True), session.grid, meta)


def wall_deltas(before: Measurement | None, after: Measurement) -> dict[str, float | None]:
    """After minus before, septal and posterior (mm; None when either is missing)."""

    def diff(key: str) -> float | None:
        if before is None:
            return None
        a, b = float(getattr(after, key)), float(getattr(before, key))
        return round(a - b, 4) if math.isfinite(a) and math.isfinite(b) else None

    return {
        "septal_thickness_mm": diff("septal_thickness_mm"),
        "posterior_wall_thickness_mm": diff("posterior_wall_thickness_mm"),
    }


def sax_save_job(
    folder: Path,
    session: ShortAxisSession,
    labels: npt.NDArray[np.integer],
    analyst: str,
    versions: Mapping[str, str],
) -> Generator[Progress, None, tuple[Mapping[str, Path], Mapping[str, Any], MeasurementResult]]:
    """Measure and save the SAX labels as the corrected segmentation, on the SAX grid."""
    from wallthick.results import check_correction, save_correction

    sax_labels = sax_label_volume(session, labels)
    if session.automatic is None:
        check_correction(folder, sax_labels, None)
    check_correction(folder, sax_labels, session.automatic_sax)
    assert session.automatic is not None and session.automatic_sax is not None
    yield 10, "Measuring the corrected short-axis labels…"
    after = measure_labels(sax_labels, session.image, segmentation_source="corrected")
    before = session.automatic_measurement
    if before is None:
        yield 45, "Measuring the automatic labels (for the provenance)…"
        before = measure_labels(
            session.automatic, session.source_image, segmentation_source="auto"
        ).measurement
    yield 80, "Writing the correction…"
    extra = {
        "voxels_by_aha_segment": segment_changes(
            session.automatic_sax.array,
            sax_labels.array,
            session.automatic_segments_sax,
            after.aha_segments,
        ),
        "delta": wall_deltas(before, after.measurement),
        "grid": {"kind": "short_axis", **geometry_metadata(session.grid)},
    }
    saved = save_correction(
        folder,
        sax_labels,
        session.image,
        automatic=session.automatic,
        reference=session.automatic_sax,
        source_image=session.source_image,
        analyst=analyst,
        versions=versions,
        result=after,
        automatic_measurement=before,
        extra=extra,
    )
    yield 100, f"Saved to {folder}."
    return saved.files, saved.provenance, replace(after, image=session.image)
