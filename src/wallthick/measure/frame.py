"""The LV's own frame: long axis, short-axis levels and the septum direction.

* Mitral-plane centre: centroid of the LV cavity voxels not wrapped in
  myocardium (the open base of the cavity, towards the atrium and aorta).
* Apex: the myocardial point farthest from the mitral plane along the axis
  (centroid of the myocardium within 2 mm of that extreme); the long axis
  runs from the apex to the mitral-plane centre (refined twice from the
  cavity's principal axis).
* RV insertion points: in mid-ventricular short-axis slabs, the outer
  myocardial surface in contact with the RV blood pool forms an arc; its
  anterior and inferior ends are the insertion points and its bisector the
  septal direction. "Anterior" is the end further towards the patient's
  anterior and superior (``(0, -1, +1)`` in LPS; the inferior wall rests on
  the diaphragm). Anterior alone (``-y``) swapped the two ends on a heart
  whose insertions were equally anterior, mirroring segments 1/4, 5/6, ...

All positions here are in crop mm (see :mod:`wallthick.measure.grid`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.errors import MeasurementError
from wallthick.measure.grid import LVCrop

__all__ = ["FrameGeometry", "compute_frame"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_BIN_DEG = 5.0
_RING_BIN_DEG = 10.0


@dataclass(frozen=True, eq=False)
class FrameGeometry:
    """LV frame in crop mm, with the level and angle conventions."""

    apex: FloatArray
    base_center: FloatArray
    long_axis: FloatArray  # unit, apex -> base
    septal: FloatArray  # unit, perpendicular to long_axis
    anterior: FloatArray  # unit, completes the frame towards the patient's anterior
    insertion_points: FloatArray  # (2, 3) anterior, inferior
    anterior_insertion_deg: float  # angle of the anterior insertion (0 = septum)
    level_apex: float  # axial coordinate of the endocardial apex
    level_base: float  # axial coordinate of the most basal complete ring
    flags: tuple[str, ...] = ()

    def axial(self, x: FloatArray) -> FloatArray:
        return np.asarray((x - self.base_center) @ self.long_axis)

    def level(self, x: FloatArray) -> FloatArray:
        """0 at the endocardial apex, 1 at the most basal complete ring."""
        return (self.axial(x) - self.level_apex) / (self.level_base - self.level_apex)

    def angle_deg(self, x: FloatArray) -> FloatArray:
        """Short-axis angle, 0 at the septum, +90 towards anterior."""
        d = x - self.base_center
        return np.asarray(np.degrees(np.arctan2(d @ self.anterior, d @ self.septal)))


def compute_frame(crop: LVCrop, outer_wall: BoolArray) -> FrameGeometry:
    """Long axis, levels and septum of the LV in ``crop``.

    ``outer_wall`` marks the outer half of the myocardium (where the RV
    contact arc is looked for).
    """
    step = crop.step
    cav_pts = crop.iso_points(crop.cav)
    myo_pts = crop.iso_points(crop.myo)
    if len(cav_pts) < 50 or len(myo_pts) < 50:
        raise MeasurementError("The LV cavity or myocardium is too small to define a long axis.")
    base = _mitral_centre(crop, cav_pts)
    centroid = cav_pts.mean(0)
    axis = _principal_axis(cav_pts)
    if (base - centroid) @ axis < 0:
        axis = -axis
    apex = base
    for _ in range(3):
        proj = (myo_pts - base) @ axis
        apex = myo_pts[proj < proj.min() + 2.0].mean(0)
        axis = (base - apex) / np.linalg.norm(base - apex)
    level_apex = float(((cav_pts - base) @ axis).min())
    level_base = _basal_ring_level(myo_pts, base, axis, level_apex, step)
    seps, ant, ins, ai_deg, flags = _septum(crop, outer_wall, base, axis, level_apex, level_base)
    return FrameGeometry(
        apex=apex,
        base_center=base,
        long_axis=axis,
        septal=seps,
        anterior=ant,
        insertion_points=ins,
        anterior_insertion_deg=ai_deg,
        level_apex=level_apex,
        level_base=level_base,
        flags=flags,
    )


def _principal_axis(pts: FloatArray) -> FloatArray:
    c = pts - pts.mean(0)
    _, vecs = np.linalg.eigh(c.T @ c)
    return np.asarray(vecs[:, -1])


def _mitral_centre(crop: LVCrop, cav_pts: FloatArray) -> FloatArray:
    ball = ndimage.generate_binary_structure(3, 1)
    other = ~(crop.cav | crop.myo)
    open_base = crop.cav & ndimage.binary_dilation(other, ball)
    if open_base.sum() >= 10:
        return np.asarray(crop.iso_points(open_base).mean(0))
    # closed cavity: the end of the principal axis nearer the bulk of the myocardium's opening
    axis = _principal_axis(cav_pts)
    proj = (cav_pts - cav_pts.mean(0)) @ axis
    return np.asarray(cav_pts[proj > proj.max() - 2.0].mean(0))


def _ring_complete(angles_deg: FloatArray) -> bool:
    nbins = int(360 / _RING_BIN_DEG)
    hist = np.bincount(((angles_deg % 360.0) // _RING_BIN_DEG).astype(int), minlength=nbins)
    return bool(np.all(hist[:nbins] > 0))


def _basal_ring_level(
    myo_pts: FloatArray, base: FloatArray, axis: FloatArray, level_apex: float, step: float
) -> float:
    """Axial coordinate of the most basal slab whose myocardium goes all around."""
    e1 = np.cross(axis, [1.0, 0.0, 0.0])
    if np.linalg.norm(e1) < 0.5:
        e1 = np.cross(axis, [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    d = myo_pts - base
    ax = d @ axis
    ang = np.degrees(np.arctan2(d @ e2, d @ e1))
    top = float(ax.max())
    slab = max(step, 1.0)
    z = top
    while z > level_apex:
        sel = (ax <= z) & (ax > z - slab)
        if sel.sum() > 20 and _ring_complete(ang[sel]):
            return z - 0.5 * slab
        z -= slab
    return top


def _septum(
    crop: LVCrop,
    outer_wall: BoolArray,
    base: FloatArray,
    axis: FloatArray,
    level_apex: float,
    level_base: float,
) -> tuple[FloatArray, FloatArray, FloatArray, float, tuple[str, ...]]:
    """Septal and anterior unit vectors, RV insertion points, anterior insertion angle."""
    # Patient anterior + superior (LPS (0, -1, +1)) in crop axes: the anterior RV
    # insertion lies anterior and superior of the inferior one (the inferior wall
    # rests on the diaphragm). Anterior alone is ambiguous when the septum faces
    # the patient's right-anterior and both insertions are equally anterior.
    anterior_lps = crop.direction.T @ (np.array([0.0, -1.0, 1.0]) / np.sqrt(2.0))
    e_ant = anterior_lps - (anterior_lps @ axis) * axis
    if np.linalg.norm(e_ant) < 0.2:  # long axis along y: fall back to patient right
        right = crop.direction.T @ np.array([-1.0, 0.0, 0.0])
        e_ant = right - (right @ axis) * axis
    e_ant /= np.linalg.norm(e_ant)
    e_side = np.cross(axis, e_ant)
    rv_near = ndimage.binary_dilation(crop.rv, iterations=max(1, int(round(2.0 / crop.step))))
    contact = crop.myo & rv_near & outer_wall
    pts = crop.iso_points(contact)
    if len(pts) == 0:
        return _default_septum(crop, axis, e_ant, e_side, base)
    d = pts - base
    lev = (d @ axis - level_apex) / (level_base - level_apex)
    mid = (lev > 0.25) & (lev < 0.75)
    if mid.sum() < 10:
        return _default_septum(crop, axis, e_ant, e_side, base)
    pts, d = pts[mid], d[mid]
    ang = np.degrees(np.arctan2(d @ e_ant, d @ e_side)) % 360.0
    arc = _contact_arc(ang)
    if arc is None:
        return _default_septum(crop, axis, e_ant, e_side, base)
    start, end = arc  # counter-clockwise from start to end, in degrees
    mid_ang = np.radians(start + ((end - start) % 360.0) / 2.0)
    septal = np.cos(mid_ang) * e_side + np.sin(mid_ang) * e_ant
    ins = []
    for a in (start, end):
        near = np.abs(((ang - a + 180.0) % 360.0) - 180.0) < 2 * _BIN_DEG
        ins.append(pts[near].mean(0))
    ins_arr = np.array(ins)
    # anterior = the end further towards the patient's anterior-superior
    if (ins_arr[0] - base) @ e_ant < (ins_arr[1] - base) @ e_ant:
        ins_arr = ins_arr[::-1]
    anterior = np.cross(axis, septal)
    if (ins_arr[0] - base) @ anterior < 0:
        anterior = -anterior
    d_ai = ins_arr[0] - base
    ai_deg = float(np.degrees(np.arctan2(d_ai @ anterior, d_ai @ septal)))
    return septal, anterior, ins_arr, ai_deg, ()


def _contact_arc(ang: FloatArray) -> tuple[float, float] | None:
    """(start, end) of the occupied arc, counter-clockwise, from the largest gap."""
    nbins = int(360 / _BIN_DEG)
    hist = np.bincount((ang // _BIN_DEG).astype(int) % nbins, minlength=nbins)
    occ = hist >= 2
    if occ.sum() < 3 or occ.all():
        return None
    # largest circular run of empty bins
    empty = np.concatenate([~occ, ~occ])
    best_len, best_end = 0, 0
    run = 0
    for i, e in enumerate(empty):
        run = run + 1 if e else 0
        if run > best_len and run <= nbins:
            best_len, best_end = run, i
    gap_end = best_end % nbins  # last empty bin
    start = ((gap_end + 1) % nbins) * _BIN_DEG
    end = ((gap_end - best_len) % nbins + 1) * _BIN_DEG
    if (end - start) % 360.0 > 300.0:
        return None
    return float(start), float(end)


def _default_septum(
    crop: LVCrop, axis: FloatArray, e_ant: FloatArray, e_side: FloatArray, base: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, float, tuple[str, ...]]:
    """Without an RV contact arc: septum assumed towards the patient's right-anterior."""
    right_ant = crop.direction.T @ (np.array([-1.0, -1.0, 0.0]) / np.sqrt(2.0))
    s = right_ant - (right_ant @ axis) * axis
    s /= np.linalg.norm(s)
    anterior = np.cross(axis, s)
    if anterior @ e_ant < 0:
        anterior = -anterior
    ins = np.full((2, 3), np.nan)
    return s, anterior, ins, 60.0, ("rv_insertion_not_found",)
