"""Planar reformats of a volume in LPS millimetres (for QC pictures).

A :class:`Plane` is a centre and two in-plane unit vectors (``right`` and
``down`` as displayed) in LPS. Sampling goes through the volume's geometry
(``world_to_index``) so oblique and anisotropic grids are handled the same way
as axis-aligned ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.measure.result import LVFrame
from wallthick.volume import Geometry

__all__ = ["Plane", "axial_plane", "short_axis_plane", "sample_plane", "project_segments"]

#: LPS unit vector pointing to the patient's anterior.
_ANTERIOR = np.array([0.0, -1.0, 0.0])


@dataclass(frozen=True, eq=False)
class Plane:
    """A square display plane: pixel ``(r, c)`` lies at
    ``center + (c - (n - 1) / 2) * step * right + (r - (n - 1) / 2) * step * down``.
    """

    center_mm: npt.NDArray[np.float64]
    right: npt.NDArray[np.float64]
    down: npt.NDArray[np.float64]
    half_width_mm: float
    step_mm: float

    @property
    def size(self) -> int:
        return int(np.ceil(2.0 * self.half_width_mm / self.step_mm)) + 1

    @property
    def normal(self) -> npt.NDArray[np.float64]:
        n = np.cross(self.right, self.down)
        return np.asarray(n / np.linalg.norm(n), dtype=np.float64)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``imshow`` extent (left, right, bottom, top) in in-plane mm."""
        h = (self.size - 1) / 2.0 * self.step_mm
        half = self.step_mm / 2.0
        return (-h - half, h + half, h + half, -h - half)

    def world_points(self) -> npt.NDArray[np.float64]:
        """LPS positions of every pixel, shape ``(n, n, 3)``."""
        offs = (np.arange(self.size) - (self.size - 1) / 2.0) * self.step_mm
        rr, cc = np.meshgrid(offs, offs, indexing="ij")
        return np.asarray(
            self.center_mm + cc[..., None] * self.right + rr[..., None] * self.down,
            dtype=np.float64,
        )


def _unit(v: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(v, dtype=np.float64)
    norm = float(np.linalg.norm(arr))
    if norm < 1e-9:
        raise ValueError("Cannot normalise a zero-length vector.")
    return arr / norm


def axial_plane(center_mm: npt.ArrayLike, half_width_mm: float, step_mm: float) -> Plane:
    """Axial plane in radiological convention (patient's right on the left of
    the picture, anterior at the top)."""
    return Plane(
        np.asarray(center_mm, dtype=np.float64),
        np.array([1.0, 0.0, 0.0]),  # +L: patient's left to the right of the screen
        np.array([0.0, 1.0, 0.0]),  # +P: posterior towards the bottom
        float(half_width_mm),
        float(step_mm),
    )


def short_axis_plane(
    frame: LVFrame, center_mm: npt.ArrayLike, half_width_mm: float, step_mm: float
) -> Plane:
    """Short-axis plane (perpendicular to the long axis) as conventionally shown:
    septum on the left, anterior wall at the top, lateral wall on the right."""
    axis = _unit(frame.long_axis)
    septal = frame.septal_direction - np.dot(frame.septal_direction, axis) * axis
    septal = _unit(septal)
    up = _unit(np.cross(axis, septal))
    ins = np.asarray(frame.rv_insertion_points_mm, dtype=np.float64)
    anterior_hint = ins[0] - ins[1] if ins.shape == (2, 3) else _ANTERIOR
    if abs(float(np.dot(up, anterior_hint))) < 1e-6:
        anterior_hint = _ANTERIOR
    if float(np.dot(up, anterior_hint)) < 0:
        up = -up
    return Plane(
        np.asarray(center_mm, dtype=np.float64),
        -septal,  # lateral to the right
        -up,  # inferior towards the bottom
        float(half_width_mm),
        float(step_mm),
    )


def sample_plane(
    array: npt.NDArray[np.generic],
    geometry: Geometry,
    plane: Plane,
    *,
    order: int,
    cval: float,
    start: tuple[int, int, int] = (0, 0, 0),
) -> npt.NDArray[np.float64]:
    """Values of ``array`` (on ``geometry``) on the pixels of ``plane``.

    ``order=0`` for labels (nearest neighbour), ``1`` for images. ``array``
    may hold only a box of the grid of ``geometry``, from index ``start`` on
    (``cval`` beyond it: the samples are those of the whole grid when the box's
    outer voxels hold ``cval`` too, as a map's margin does). Only the index box the plane passes through is read
    (a view, no copy of the volume); the samples are those of the whole array.
    """
    idx = geometry.world_to_index(plane.world_points())  # (n, n, 3)
    coords = np.moveaxis(idx, -1, 0) - np.asarray(start, dtype=np.float64).reshape(3, 1, 1)
    box = _plane_box(coords, array.shape)
    if box is None:
        return np.full(coords.shape[1:], float(cval))
    data = np.asarray(array)[tuple(slice(a, b) for a, b in box)]
    lo = np.array([a for a, _ in box], dtype=np.float64).reshape(3, 1, 1)
    out = ndimage.map_coordinates(
        data, coords - lo, order=order, mode="constant", cval=cval, output=np.float64
    )
    return np.asarray(out, dtype=np.float64)


def _plane_box(
    coords: npt.NDArray[np.float64], shape: tuple[int, ...]
) -> list[tuple[int, int]] | None:
    """Index box ``[lo, hi)`` per axis holding every voxel an order-0/1 sample at
    ``coords`` reads, plus one voxel; an edge of the box is either the array's
    edge or beyond every sample, so sampling the box equals sampling the array.
    ``None`` when the samples miss the array."""
    box = []
    for k, n in enumerate(shape):
        lo = max(int(np.floor(coords[k].min())) - 1, 0)
        hi = min(int(np.ceil(coords[k].max())) + 2, n)
        if hi <= lo:
            return None
        box.append((lo, hi))
    return box


def project_segments(
    segments_mm: npt.ArrayLike, plane: Plane
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Project ``(n, 2, 3)`` LPS line segments into ``plane``.

    Returns the in-plane coordinates ``(n, 2, 2)`` as (x right, y down) in mm
    and the mean absolute out-of-plane distance of each segment ``(n,)``.
    """
    seg = np.asarray(segments_mm, dtype=np.float64).reshape(-1, 2, 3)
    rel = seg - plane.center_mm
    xy = np.stack([rel @ plane.right, rel @ plane.down], axis=-1)
    dist = np.abs(rel @ plane.normal).mean(axis=1)
    return xy, dist
