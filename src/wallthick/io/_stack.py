"""Turning image planes (positions + orientation) into a regular 3-D grid.

Tolerances (documented in docs/loader.md):

* Slices are ordered by their position along the slice normal ``row x column``.
* Positions closer than ``DUPLICATE_MM`` along the normal are duplicates.
* Spacing: ``dev`` is the largest distance between a slice and its place on a
  regular grid from the first to the last slice. ``dev <= UNIFORM_FRACTION``
  of the spacing (or ``<= UNIFORM_MM``): regular, silently. ``dev <=
  SLIGHT_FRACTION``: regular, with a warning. Larger: resampled (linear) onto
  a regular grid whose spacing is the median gap, with a warning; a gap larger
  than ``MAX_GAP_FACTOR`` times the median is refused (missing slices or two
  stacks).
* Tilt: when slice positions drift sideways (in-plane) by more than
  ``TILT_FRACTION`` of a pixel over the stack, the stack is sheared (gantry
  tilt): it is resampled onto an orthogonal grid whose slice axis follows the
  positions, with a warning. Positions that are not on one line are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from wallthick.errors import InvalidSeriesError
from wallthick.volume import Geometry

__all__ = ["StackPlan", "plan_stack", "resample"]

DUPLICATE_MM = 0.01
UNIFORM_MM = 0.005
UNIFORM_FRACTION = 0.01
SLIGHT_FRACTION = 0.10
MAX_GAP_FACTOR = 5.0
TILT_FRACTION = 0.1
LINE_FRACTION = 0.25
FILL_HU = -1024.0

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Resampling:
    """How to sample the source stack at output grid points."""

    source_t: F64  # positions of the source slices along the normal (ascending)
    first: F64  # LPS position of the first source slice
    drift: F64  # LPS displacement of a slice origin per mm along the normal
    normal: F64
    row_dir: F64  # DICOM row direction (along a row)
    col_dir: F64  # DICOM column direction (down a column)
    pixel_spacing: tuple[float, float]  # (between rows, between columns)
    source_shape: tuple[int, int, int]


@dataclass(frozen=True)
class StackPlan:
    """Ordered planes and the grid they are put on."""

    order: tuple[int, ...]
    duplicates: tuple[tuple[int, int], ...]
    geometry: Geometry
    resampling: Resampling | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def source_shape(self) -> tuple[int, int, int]:
        rows, cols = self.geometry.shape[1:]
        if self.resampling is not None:
            return self.resampling.source_shape
        return (len(self.order), rows, cols)


def plan_stack(
    name: str,
    orientation: Sequence[float],
    pixel_spacing: Sequence[float],
    shape: tuple[int, int],
    positions: Sequence[Sequence[float]],
    thickness: float | None = None,
) -> StackPlan:
    """Order planes along their normal and decide the output grid.

    Parameters
    ----------
    name : str
        Series name for messages.
    orientation : 6 floats
        ImageOrientationPatient (row direction, column direction).
    pixel_spacing : 2 floats
        PixelSpacing (between rows, between columns).
    shape : (rows, columns)
    positions : (n, 3) floats
        ImagePositionPatient of each plane.
    thickness : float, optional
        Spacing used when there is a single plane.

    Examples
    --------
    >>> plan = plan_stack("s", [1, 0, 0, 0, 1, 0], [0.5, 0.5], (4, 4),
    ...                   [[0, 0, 4.0], [0, 0, 0.0], [0, 0, 2.0]])
    >>> plan.order, plan.geometry.spacing_mm.tolist()
    ((1, 2, 0), [2.0, 0.5, 0.5])
    """
    row_dir = np.asarray(orientation[:3], dtype=np.float64)
    col_dir = np.asarray(orientation[3:], dtype=np.float64)
    row_dir /= np.linalg.norm(row_dir)
    col_dir /= np.linalg.norm(col_dir)
    normal = np.cross(row_dir, col_dir)
    normal /= np.linalg.norm(normal)
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    t = pos @ normal
    order = np.argsort(t, kind="stable")
    keep, duplicates = _deduplicate(name, pos, t, order)
    pos_u, t_u = pos[keep], t[keep]
    dr, dc = float(pixel_spacing[0]), float(pixel_spacing[1])
    direction = np.stack([normal, col_dir, row_dir], axis=1)
    if len(keep) == 1:
        spacing = thickness if thickness and thickness > 0 else 1.0
        geom = Geometry((1, *shape), np.array([spacing, dr, dc]), pos_u[0], direction)
        return StackPlan(tuple(int(k) for k in keep), duplicates, geom)
    drift, tilted = _drift(name, pos_u, t_u, normal, min(dr, dc))
    notes: list[str] = []
    regular, spacing = _regular_spacing(name, t_u, notes)
    if tilted or not regular:
        sampling = Resampling(
            t_u, pos_u[0], drift, normal, row_dir, col_dir, (dr, dc), (len(keep), *shape)
        )
        geom = _resampled_grid(sampling, spacing, tilted)
        if tilted:
            angle = np.degrees(np.arctan(np.linalg.norm(drift - normal)))
            notes.append(
                f"{name}: gantry tilt of {angle:.2f} degrees (slice positions drift "
                "sideways); resampled onto an orthogonal grid."
            )
        return StackPlan(tuple(int(k) for k in keep), duplicates, geom, sampling, tuple(notes))
    geom = Geometry((len(keep), *shape), np.array([spacing, dr, dc]), pos_u[0], direction)
    return StackPlan(tuple(int(k) for k in keep), duplicates, geom, None, tuple(notes))


def _deduplicate(
    name: str, pos: F64, t: F64, order: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], tuple[tuple[int, int], ...]]:
    keep: list[int] = [int(order[0])]
    duplicates: list[tuple[int, int]] = []
    for idx in order[1:]:
        last = keep[-1]
        if abs(t[idx] - t[last]) >= DUPLICATE_MM:
            keep.append(int(idx))
        elif np.linalg.norm(pos[idx] - pos[last]) < 10 * DUPLICATE_MM:
            duplicates.append((last, int(idx)))
        else:
            raise InvalidSeriesError(
                f"{name}: two slices lie in the same plane at different in-plane positions "
                f"({pos[last].round(3).tolist()} and {pos[idx].round(3).tolist()}); "
                "inconsistent geometry, refusing to stack them."
            )
    return np.asarray(keep, dtype=np.intp), tuple(duplicates)


def _drift(name: str, pos: F64, t: F64, normal: F64, pixel: float) -> tuple[F64, bool]:
    """Displacement of slice origins per mm along the normal; detects gantry tilt."""
    rel = pos - pos[0]
    dt = t - t[0]
    lateral = rel - np.outer(dt, normal)
    per_mm = lateral[-1] / dt[-1]
    residual = np.linalg.norm(lateral - np.outer(dt, per_mm), axis=1).max()
    if residual > LINE_FRACTION * pixel:
        raise InvalidSeriesError(
            f"{name}: slice positions do not lie on one line (off by {residual:.2f} mm); "
            "inconsistent geometry, refusing to stack them."
        )
    tilted = bool(np.linalg.norm(lateral, axis=1).max() > TILT_FRACTION * pixel)
    return (normal + per_mm if tilted else normal.copy()), tilted


def _regular_spacing(name: str, t: F64, notes: list[str]) -> tuple[bool, float]:
    gaps = np.diff(t)
    n = len(t)
    mean = (t[-1] - t[0]) / (n - 1)
    dev = float(np.abs(t - (t[0] + mean * np.arange(n))).max())
    if dev <= max(UNIFORM_MM, UNIFORM_FRACTION * mean):
        return True, float(mean)
    if dev <= SLIGHT_FRACTION * mean:
        notes.append(
            f"{name}: slice spacing varies slightly (up to {dev:.3f} mm from a regular "
            f"{mean:.4g} mm grid); treated as regular."
        )
        return True, float(mean)
    median = float(np.median(gaps))
    if gaps.max() > MAX_GAP_FACTOR * median:
        raise InvalidSeriesError(
            f"{name}: gap of {gaps.max():.2f} mm between slices where the usual spacing is "
            f"{median:.2f} mm (missing slices or several stacks); refusing to interpolate."
        )
    notes.append(
        f"{name}: uneven slice spacing ({gaps.min():.3g}-{gaps.max():.3g} mm along the "
        f"normal); resampled onto a regular grid of the median gap ({median:.4g} mm) by "
        "linear interpolation."
    )
    return False, median


def _resampled_grid(s: Resampling, spacing_t: float, tilted: bool) -> Geometry:
    axis = s.drift / np.linalg.norm(s.drift)
    col = s.col_dir - (s.col_dir @ axis) * axis
    col /= np.linalg.norm(col)
    row = s.row_dir - (s.row_dir @ axis) * axis - (s.row_dir @ col) * col
    row /= np.linalg.norm(row)
    dr, dc = s.pixel_spacing
    n_rows, n_cols = s.source_shape[1:]
    # spacing along the new slice axis: the median gap measured along that axis
    step = spacing_t * float(np.linalg.norm(s.drift)) if tilted else spacing_t
    length = (s.source_t[-1] - s.source_t[0]) * float(np.linalg.norm(s.drift))
    n_slices = int(np.floor(length / step + 1e-6)) + 1
    # in-plane bounds: every source pixel centre of the first and last slice
    corners = []
    for t in (s.source_t[0], s.source_t[-1]):
        origin = s.first + (t - s.source_t[0]) * s.drift
        for i in (0, n_rows - 1):
            for j in (0, n_cols - 1):
                corners.append(origin + i * dr * s.col_dir + j * dc * s.row_dir)
    pts = np.asarray(corners) - s.first
    lo_c, hi_c = (pts @ col).min(), (pts @ col).max()
    lo_r, hi_r = (pts @ row).min(), (pts @ row).max()
    shape = (
        n_slices,
        int(np.floor((hi_c - lo_c) / dr + 1e-6)) + 1,
        int(np.floor((hi_r - lo_r) / dc + 1e-6)) + 1,
    )
    origin = s.first + lo_c * col + lo_r * row
    return Geometry(shape, np.array([step, dr, dc]), origin, np.stack([axis, col, row], axis=1))


def resample(source: np.ndarray, sampling: Resampling, grid: Geometry) -> np.ndarray:
    """Linear interpolation of the source stack at every voxel of ``grid``.

    Voxels outside the acquired slab are set to ``FILL_HU``. Every coordinate is
    affine in the output indices except the source slice index (piecewise linear
    in the position along the normal), so each output slice costs a few 2-D array
    operations plus one ``map_coordinates`` call.
    """
    from scipy.ndimage import map_coordinates

    s = sampling
    out = np.empty(grid.shape, dtype=np.float32)
    steps = grid.direction * grid.spacing_mm  # columns: LPS step per output index
    dr, dc = s.pixel_spacing
    n_src = s.source_shape[0]
    t_first, t_last = s.source_t[0], s.source_t[-1]

    def affine(vector: F64, scale: float) -> tuple[float, F64]:
        """Value at index (0,0,0) and per-index increments of ``(p - first) . vector``."""
        return float((grid.origin_mm - s.first) @ vector) / scale, (steps.T @ vector) / scale

    t0, dt = affine(s.normal, 1.0)
    a0, da = affine(s.col_dir, dr)
    b0, db = affine(s.row_dir, dc)
    shift_a, shift_b = float(s.drift @ s.col_dir) / dr, float(s.drift @ s.row_dir) / dc
    j = np.arange(grid.shape[1], dtype=np.float64)[:, None]
    i = np.arange(grid.shape[2], dtype=np.float64)[None, :]
    tol = 1e-6 * max(1.0, abs(t_last - t_first))
    for k in range(grid.shape[0]):
        t = t0 + k * dt[0] + j * dt[1] + i * dt[2]  # along the normal, from the first slice
        t = np.where(np.abs(t) < tol, 0.0, t)
        t = np.where(np.abs(t - (t_last - t_first)) < tol, t_last - t_first, t)
        fi = np.interp(t + t_first, s.source_t, np.arange(n_src, dtype=np.float64), -1.0, n_src)
        a = a0 + k * da[0] + j * da[1] + i * da[2] - t * shift_a
        b = b0 + k * db[0] + j * db[1] + i * db[2] - t * shift_b
        out[k] = map_coordinates(
            source, np.stack([fi, a, b]), order=1, mode="constant", cval=FILL_HU, prefilter=False
        )
    return out
