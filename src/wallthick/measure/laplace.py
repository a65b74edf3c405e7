"""Laplace-equation wall coordinate and mid-wall sample points.

The wall coordinate ``psi`` solves Laplace's equation in the myocardium with
``psi = 0`` on the LV cavity and ``psi = 1`` everywhere else (Jones et al.
2000; Yezzi & Prince 2003). Its gradient is a smooth field of directions
perpendicular to both wall surfaces, along which the thickness is measured.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage, sparse
from scipy.sparse import linalg as splinalg

__all__ = ["midwall_points", "solve_laplace", "wall_distances"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_OFFSETS = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]


def solve_laplace(
    myo: BoolArray,
    cav: BoolArray,
    *,
    insulated: BoolArray | None = None,
    initial: FloatArray | None = None,
    rtol: float = 1e-3,
) -> FloatArray:
    """Solve Laplace's equation in ``myo`` (0 on ``cav``, 1 elsewhere).

    Neighbours in ``insulated`` (e.g. above the basal cut of the wall) are
    zero-flux (Neumann) boundaries instead of ``psi = 1``, so the field lines
    run parallel to the cut. Returns the full array: the solution inside
    ``myo``, 0 in ``cav``, 1 elsewhere.

    Examples
    --------
    >>> myo = np.zeros((5, 5, 5), bool); myo[1:4, 1:4, 1:4] = True
    >>> cav = np.zeros_like(myo); cav[2, 2, 2] = True; myo[2, 2, 2] = False
    >>> psi = solve_laplace(myo, cav)
    >>> bool(0.0 < psi[1, 2, 2] < 1.0), float(psi[2, 2, 2]), float(psi[0, 0, 0])
    (True, 0.0, 1.0)
    """
    pad = np.pad(myo, 1)
    pad_cav = np.pad(cav, 1)
    pad_ins = np.pad(insulated, 1) if insulated is not None else np.zeros_like(pad)
    pad_ins &= ~pad & ~pad_cav
    n = int(pad.sum())
    index = np.full(pad.shape, -1, dtype=np.int64)
    index[pad] = np.arange(n)
    coords = np.argwhere(pad)  # never on the border: the padding is 1 voxel
    rows, cols = [], []
    rhs = np.zeros(n)
    diag = np.zeros(n)
    for off in _OFFSETS:
        nb = tuple((coords + np.asarray(off)).T)
        nb_idx = index[nb]
        is_myo = nb_idx >= 0
        ins = pad_ins[nb]
        rows.append(np.flatnonzero(is_myo))
        cols.append(nb_idx[is_myo])
        rhs += (~is_myo & ~pad_cav[nb] & ~ins).astype(np.float64)  # psi = 1 neighbours
        diag += ~ins
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    mat = sparse.csr_matrix((np.full(r.size, -1.0), (r, c)), shape=(n, n))
    mat = mat + sparse.diags(np.maximum(diag, 1.0), format="csr")
    guess = _initial_guess(pad, pad_cav) if initial is None else np.pad(initial, 1)
    x0 = guess[pad]
    sol, _ = splinalg.cg(mat, rhs, x0=x0, rtol=rtol, maxiter=2000)
    psi = np.where(pad_cav, 0.0, 1.0)
    psi[pad] = np.clip(sol, 0.0, 1.0)
    return np.asarray(psi[1:-1, 1:-1, 1:-1])


def _initial_guess(myo: BoolArray, cav: BoolArray) -> FloatArray:
    d_in = ndimage.distance_transform_edt(~cav)
    d_out = ndimage.distance_transform_edt(myo | cav)
    return np.asarray(d_in / np.maximum(d_in + d_out, 1e-6))


def wall_distances(myo: BoolArray, cav: BoolArray, step: float) -> tuple[FloatArray, FloatArray]:
    """Distance (mm) of every voxel to the cavity and to the LV's outside."""
    d_cav = ndimage.distance_transform_edt(~cav, sampling=step)
    d_out = ndimage.distance_transform_edt(myo | cav, sampling=step)
    return np.asarray(d_cav), np.asarray(d_out)


def midwall_points(psi: FloatArray, myo: BoolArray, step: float) -> tuple[FloatArray, FloatArray]:
    """Mid-wall sample points and unit wall directions (cavity -> outside).

    A myocardial voxel is a sample point when its distance to the
    ``psi = 0.5`` surface, estimated as ``|psi - 0.5| / |grad psi|``, is below
    half a voxel; so each point stands for ``step**2`` of mid-wall area.

    Returns positions (crop mm) and directions, both ``(n, 3)``.
    """
    grads = [np.asarray(g) for g in np.gradient(psi, step)]
    g = np.stack([gr[myo] for gr in grads], axis=-1)
    norm = np.linalg.norm(g, axis=-1)
    val = psi[myo]
    keep = (np.abs(val - 0.5) < 0.5 * step * norm) & (norm > 1e-6)
    pts = np.argwhere(myo)[keep].astype(np.float64) * step
    dirs = g[keep] / norm[keep, None]
    # move each point onto the psi = 0.5 surface (first-order)
    pts = pts - ((val[keep] - 0.5) / norm[keep])[:, None] * dirs
    return pts, dirs
