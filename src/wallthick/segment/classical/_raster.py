"""Draw the short-axis LV model onto the input image grid.

Each voxel centre of the input grid is mapped to short-axis coordinates
(level, angle, radius); it is cavity when its radius is inside the
interpolated endocardial radius and myocardium when inside the epicardial one.
The label boundary therefore sits where the model's sub-voxel edges are
(the half-way intensity), not one voxel in or out.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.labels import Label
from wallthick.segment.classical._shortaxis import LVModel, SAFrame
from wallthick.volume import Geometry

__all__ = ["frame_coordinates", "model_box", "rasterize_lv"]


def _model_points(model: LVModel, margin_mm: float) -> npt.NDArray[np.float64]:
    cos, sin = np.cos(model.angles), np.sin(model.angles)
    r = model.r_epi + margin_mm
    u = model.centers_uv[:, 0:1] + r * cos
    v = model.centers_uv[:, 1:2] + r * sin
    h = np.repeat(model.levels_mm[:, None], model.angles.size, axis=1)
    h_pad = np.concatenate([h - margin_mm, h + margin_mm])
    return model.frame.to_world(h_pad, np.concatenate([u, u]), np.concatenate([v, v])).reshape(
        -1, 3
    )


def model_box(
    model: LVModel, geometry: Geometry, margin_mm: float = 2.0
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Index box ``[lo, hi)`` of ``geometry`` holding the model (plus a margin)."""
    idx = geometry.world_to_index(_model_points(model, margin_mm))
    lo = np.maximum(np.floor(idx.min(axis=0)).astype(np.intp) - 1, 0)
    hi = np.minimum(np.ceil(idx.max(axis=0)).astype(np.intp) + 2, np.asarray(geometry.shape))
    return lo, np.maximum(hi, lo)


def frame_coordinates(
    model_frame: SAFrame,
    geometry: Geometry,
    i: int,
    jj: npt.NDArray[np.intp],
    kk: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Short-axis ``(h, u, v)`` of the voxel centres ``(i, jj, kk)`` of ``geometry``
    (one affine map: index -> LPS -> frame)."""
    to_world = geometry.direction * geometry.spacing_mm
    axes = np.stack([model_frame.axis, model_frame.e1, model_frame.e2])
    m = axes @ to_world  # frame coordinate per unit index step, (3 frame, 3 index)
    b = axes @ (geometry.origin_mm + to_world[:, 0] * i - model_frame.origin_mm)
    return tuple(b[c] + m[c, 1] * jj + m[c, 2] * kk for c in range(3))  # type: ignore[return-value]


def rasterize_lv(model: LVModel, geometry: Geometry, out: npt.NDArray[np.uint8]) -> None:
    """Write LV cavity and myocardium labels of ``model`` into ``out`` (in place)."""
    lo, hi = model_box(model, geometry)
    if np.any(hi <= lo):
        return
    n_ang = model.angles.size
    pad = 2
    endo = np.pad(model.r_endo, ((0, 0), (pad, pad)), mode="wrap")
    epi = np.pad(model.r_epi, ((0, 0), (pad, pad)), mode="wrap")
    r_max = float(np.max(model.r_epi))
    step = float(model.levels_mm[1] - model.levels_mm[0]) if model.levels_mm.size > 1 else 1.0
    h0, n_lev = float(model.levels_mm[0]), model.levels_mm.size
    jj, kk = np.meshgrid(np.arange(lo[1], hi[1]), np.arange(lo[2], hi[2]), indexing="ij")
    for i in range(lo[0], hi[0]):
        h, u, v = frame_coordinates(model.frame, geometry, i, jj, kk)
        li = (h - h0) / step
        inside = (li >= -0.5) & (li <= n_lev - 0.5)
        if not inside.any():
            continue
        # only voxels of the slab within the largest epicardial radius are drawn
        li_c = np.clip(li[inside], 0, n_lev - 1)
        du = u[inside] - np.interp(li_c, np.arange(n_lev), model.centers_uv[:, 0])
        dv = v[inside] - np.interp(li_c, np.arange(n_lev), model.centers_uv[:, 1])
        r = np.hypot(du, dv)
        near = r < r_max
        if not near.any():
            continue
        du, dv, r, li_c = du[near], dv[near], r[near], li_c[near]
        ai = np.mod(np.arctan2(dv, du), 2 * np.pi) / (2 * np.pi) * n_ang + pad
        coords = np.stack([li_c, ai])
        r_endo = ndimage.map_coordinates(endo, coords, order=1, mode="nearest")
        r_epi = ndimage.map_coordinates(epi, coords, order=1, mode="nearest")
        where = tuple(w[near] for w in np.nonzero(inside))
        sl = out[i, lo[1] : hi[1], lo[2] : hi[2]]
        myo = (r < r_epi) & (r >= r_endo)
        cav = r < r_endo
        sl[where[0][myo], where[1][myo]] = int(Label.LV_MYOCARDIUM)
        sl[where[0][cav], where[1][cav]] = int(Label.LV_BLOOD_POOL)
