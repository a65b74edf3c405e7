"""Short-axis and long-axis grids of the LV, and resampling volumes onto them.

A short-axis (SAX) stack is an oblique grid aligned with the LV frame of a
measurement (:class:`~wallthick.measure.LVFrame`):

* array axis 0 (slices) runs along the long axis from the base to the apex,
  at ``slice_mm`` spacing, covering the LV plus a margin;
* array axis 1 (rows) runs from anterior to inferior, so the anterior wall is
  at the top of a displayed slice;
* array axis 2 (columns) runs from the septum to the lateral wall, so the RV
  is on the left, as in the usual cardiac short-axis view.

In-plane spacing is the native in-plane spacing of the scan. A label map
resampled onto this grid (:func:`reformat`) is an ordinary
:class:`~wallthick.volume.LabelVolume` with an oblique direction matrix:
:func:`~wallthick.measure.measure_labels` measures it directly (with the
image on its own grid), and ``wallthick batch`` measures a corrected
segmentation saved on it.

The two long-axis planes (:func:`long_axis_planes`) are one-slice grids
through the long axis: the 4-chamber plane contains the septal direction,
the 2-chamber plane the anterior direction; both have the apex at the top.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.labels import Label
from wallthick.measure.result import LVFrame
from wallthick.volume import Geometry, ImageVolume, LabelVolume

__all__ = [
    "index_map",
    "long_axis_planes",
    "lv_fraction_inside",
    "reformat",
    "short_axis_axes",
    "short_axis_grid",
]

FloatArray = npt.NDArray[np.float64]
V = TypeVar("V", ImageVolume, LabelVolume)

#: Patient anterior-superior in LPS: orients the frame when no RV insertion is known.
_ANTERIOR_SUPERIOR = np.array([0.0, -1.0, 1.0]) / math.sqrt(2.0)
_MAX_VOXELS = 400_000_000


def short_axis_axes(frame: LVFrame) -> FloatArray:
    """Direction matrix of the short-axis grid of ``frame`` (columns: slice, row, column).

    Column 0 points from the base to the apex, column 1 from anterior to
    inferior, column 2 from the septum to the lateral wall (all LPS unit
    vectors).

    Raises
    ------
    ValueError
        The frame's long axis and septal direction are not finite or not
        perpendicular enough to span a plane.

    Examples
    --------
    >>> f = LVFrame(np.zeros(3), np.array([0, 0, 80.0]), np.array([0, 0, 1.0]),
    ...             np.array([-1.0, 0, 0]), np.full((2, 3), np.nan))
    >>> (short_axis_axes(f).round(3) + 0.0).tolist()
    [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]
    """
    u = _unit(frame.long_axis, "frame.long_axis")
    s = np.asarray(frame.septal_direction, dtype=np.float64)
    s = s - (s @ u) * u
    if not np.all(np.isfinite(s)) or np.linalg.norm(s) < 0.5:
        raise ValueError(
            "Argument 'frame' must have a septal direction perpendicular to its long axis, "
            f"got long axis {u.round(3).tolist()} and septal {frame.septal_direction}."
        )
    s /= np.linalg.norm(s)
    a = np.cross(u, s)
    ins = np.asarray(frame.rv_insertion_points_mm, dtype=np.float64).reshape(-1, 3)
    if len(ins) and np.all(np.isfinite(ins[0])):
        anterior_ref = ins[0] - np.asarray(frame.base_center_mm, dtype=np.float64)
    else:
        anterior_ref = _ANTERIOR_SUPERIOR
    if a @ anterior_ref < 0:
        a = -a
    return np.stack([-u, -a, -s], axis=1)


def short_axis_grid(
    frame: LVFrame,
    labels: LabelVolume,
    *,
    slice_mm: float = 1.5,
    margin_mm: float = 15.0,
    in_plane_mm: float | None = None,
) -> Geometry:
    """The short-axis grid covering the LV of ``labels``, base to apex.

    Parameters
    ----------
    frame : LVFrame
        The LV frame of a measurement of ``labels`` (``MeasurementResult.frame``).
    labels : LabelVolume
        The label map whose LV (blood pool and myocardium) the grid must cover.
    slice_mm : float
        Distance between short-axis slices (1-2 mm is usual).
    margin_mm : float
        Margin around the LV on every side (keeps the RV next to the septum,
        which sets the septal direction, inside the grid).
    in_plane_mm : float, optional
        In-plane pixel spacing; the finest in-plane spacing of ``labels`` by
        default (native resolution).

    Returns
    -------
    Geometry
        Axes (slice, row, column) as described in the module docstring.

    Raises
    ------
    ValueError
        A spacing or margin out of range, no LV in ``labels``, or an unusable
        frame.
    """
    if not isinstance(frame, LVFrame):
        raise TypeError(f"Argument 'frame' must be an LVFrame, got {type(frame).__name__}.")
    if not isinstance(labels, LabelVolume):
        raise TypeError(f"Argument 'labels' must be a LabelVolume, got {type(labels).__name__}.")
    for name, value in (("slice_mm", slice_mm), ("in_plane_mm", in_plane_mm)):
        if value is not None and not (math.isfinite(value) and 0.1 <= value <= 10.0):
            raise ValueError(f"Argument '{name}' must be between 0.1 and 10 mm, got {value}.")
    if not (math.isfinite(margin_mm) and 0.0 <= margin_mm <= 100.0):
        raise ValueError(f"Argument 'margin_mm' must be between 0 and 100 mm, got {margin_mm}.")
    direction = short_axis_axes(frame)
    lv = np.isin(labels.array, (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM))
    if not lv.any():
        raise ValueError("Argument 'labels' has no LV blood pool or myocardium to cover.")
    pixel = float(in_plane_mm or min(labels.spacing_mm[1], labels.spacing_mm[2]))
    spacing = np.array([float(slice_mm), pixel, pixel])
    corners = labels.geometry.index_to_world(np.argwhere(_surface(lv)))
    coords = corners @ direction  # mm along the three SAX axes (from the LPS origin)
    lo = coords.min(0) - margin_mm
    hi = coords.max(0) + margin_mm
    shape = tuple(int(n) for n in np.ceil((hi - lo) / spacing).astype(int) + 1)
    if int(np.prod(shape)) > _MAX_VOXELS:
        raise ValueError(f"The short-axis grid {shape} would be too large; raise the spacing.")
    return Geometry(shape, spacing, direction @ lo, direction)  # type: ignore[arg-type]


def long_axis_planes(frame: LVFrame, short_axis: Geometry) -> dict[str, Geometry]:
    """The 4-chamber and 2-chamber planes through the long axis, as one-slice grids.

    Each grid has rows along the long axis from the apex (row 0) to the base,
    spans the extent of ``short_axis`` and uses its in-plane spacing. The
    4-chamber plane holds the septal direction (columns from the RV to the
    LV lateral wall); the 2-chamber plane holds the anterior direction
    (columns from inferior to anterior). The row of a short-axis slice in a
    plane is ``plane.world_to_index(point)[1]`` for any point of that slice.

    Returns
    -------
    dict
        ``{"four_chamber": Geometry, "two_chamber": Geometry}``.
    """
    if not isinstance(short_axis, Geometry):
        raise TypeError(
            f"Argument 'short_axis' must be a Geometry, got {type(short_axis).__name__}."
        )
    sax = short_axis_axes(frame)
    along = -sax[:, 0]  # apex -> base
    base = np.asarray(frame.base_center_mm, dtype=np.float64)
    corners = short_axis.index_to_world(
        np.array(np.meshgrid(*[(0, n - 1) for n in short_axis.shape], indexing="ij"))
        .reshape(3, -1)
        .T
    )
    pixel = float(short_axis.spacing_mm[1])
    planes = {}
    for name, across in (("four_chamber", sax[:, 2]), ("two_chamber", -sax[:, 1])):
        normal = np.cross(along, across)
        rel = corners - base
        r_lo, r_hi = float((rel @ along).min()), float((rel @ along).max())
        c_lo, c_hi = float((rel @ across).min()), float((rel @ across).max())
        shape = (
            1,
            int(math.ceil((r_hi - r_lo) / pixel)) + 1,
            int(math.ceil((c_hi - c_lo) / pixel)) + 1,
        )
        origin = base + r_lo * along + c_lo * across
        planes[name] = Geometry(
            shape, np.full(3, pixel), origin, np.stack([normal, along, across], 1)
        )
    return planes


def reformat(volume: V, geometry: Geometry, *, fill: float | None = None) -> V:
    """Resample an image or a label map onto another grid of the same patient.

    Images are interpolated trilinearly; points outside the volume get
    ``fill`` (the volume's minimum by default: air on CT). Label maps are
    resampled label by label: each label's indicator is interpolated
    trilinearly and every output voxel takes the label of largest weight
    (background outside), which keeps thin walls closer to their true
    surface than nearest-neighbour sampling.

    Parameters
    ----------
    volume : ImageVolume or LabelVolume
    geometry : Geometry
        The target grid (any orientation and spacing).
    fill : float, optional
        Image value outside ``volume``.

    Returns
    -------
    ImageVolume or LabelVolume
        Same kind as ``volume`` on ``geometry``, with its metadata.

    Examples
    --------
    >>> lab = LabelVolume(np.pad(np.ones((2, 2, 2), np.uint8), 1), (1, 1, 1), (0, 0, 0), np.eye(3))
    >>> flip = Geometry((4, 4, 4), (1, 1, 1), (3, 0, 0), np.diag([-1.0, 1, 1]))
    >>> bool((reformat(lab, flip).array == lab.array[::-1]).all())
    True
    """
    if not isinstance(volume, (ImageVolume, LabelVolume)):
        raise TypeError(
            f"Argument 'volume' must be an ImageVolume or LabelVolume, got {type(volume).__name__}."
        )
    if not isinstance(geometry, Geometry):
        raise TypeError(f"Argument 'geometry' must be a Geometry, got {type(geometry).__name__}.")
    matrix, offset = index_map(geometry, volume.geometry)
    if isinstance(volume, LabelVolume):
        array = _reformat_labels(volume.array, matrix, offset, geometry.shape)
        return LabelVolume.from_geometry(array, geometry, volume.metadata)  # type: ignore[return-value]
    values = np.asarray(volume.array, dtype=np.float32)
    cval = float(np.nanmin(values)) if fill is None else float(fill)
    out = ndimage.affine_transform(
        values,
        matrix,
        offset,
        output_shape=geometry.shape,
        order=1,
        mode="grid-constant",
        cval=cval,
    )
    return ImageVolume.from_geometry(np.asarray(out, np.float32), geometry, volume.metadata)  # type: ignore[return-value]


def lv_fraction_inside(labels: LabelVolume, geometry: Geometry) -> float:
    """Fraction of the LV voxels of ``labels`` whose centres lie inside ``geometry``.

    Checks that a label map on its own grid (e.g. a short-axis correction)
    belongs to an image: 1.0 when the whole LV is within the image's field
    of view, 0.0 when there is no LV.

    >>> lab = LabelVolume(np.full((2, 2, 2), 2, np.uint8), (1, 1, 1), (0, 0, 0), np.eye(3))
    >>> lv_fraction_inside(lab, Geometry((1, 2, 2), (1, 1, 1), (0, 0, 0), np.eye(3)))
    0.5
    """
    idx = np.argwhere(np.isin(labels.array, (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM)))
    if len(idx) == 0:
        return 0.0
    inside = geometry.world_to_index(labels.index_to_world(idx))
    ok = np.all((inside > -0.5) & (inside < np.asarray(geometry.shape) - 0.5), axis=1)
    return float(np.mean(ok))


def index_map(target: Geometry, source: Geometry) -> tuple[FloatArray, FloatArray]:
    """``source_index = matrix @ target_index + offset`` (for ``ndimage.affine_transform``)."""
    to_source = source.direction.T / source.spacing_mm[:, None]
    matrix = to_source @ (target.direction * target.spacing_mm[None, :])
    offset = to_source @ (target.origin_mm - source.origin_mm)
    return np.asarray(matrix), np.asarray(offset)


def _reformat_labels(
    array: npt.NDArray[np.integer],
    matrix: FloatArray,
    offset: FloatArray,
    shape: tuple[int, int, int],
) -> npt.NDArray[np.uint8]:
    values = [int(v) for v in np.unique(array) if v != Label.BACKGROUND]
    out = np.zeros(shape, dtype=np.uint8)
    best = np.zeros(shape, dtype=np.float32)
    total = np.zeros(shape, dtype=np.float32)
    for v in values:
        w = ndimage.affine_transform(
            (array == v).astype(np.float32), matrix, offset, output_shape=shape, order=1,
            mode="grid-constant", cval=0.0,
        )  # fmt: skip
        total += w
        win = w > best
        out[win] = v
        best[win] = w[win]
    out[best <= 1.0 - total] = Label.BACKGROUND  # background has the largest weight
    return out


def _surface(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return np.asarray(mask & ~ndimage.binary_erosion(mask))


def _unit(v: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(arr)) if arr.shape == (3,) else math.nan
    if not (math.isfinite(n) and n > 0):
        raise ValueError(
            f"Argument '{name}' must be a finite non-zero 3-vector, got {arr.tolist()}."
        )
    return arr / n
