"""Image formation: partial volume, blur and noise on the acquisition grid.

For every node of the scene the blurred, voxel-integrated indicator of its
region is ``Phi(-f / sigma)`` where ``f`` is the node's distance-like field and
``sigma`` the standard deviation of the PSF plus the voxel box along the
local surface normal (``sigma^2 = sigma_psf^2 + sum_k (n_k s_k)^2 / 12``).
By linearity the image is ``sum((HU_node - HU_parent) * occupancy)``. The grid
is processed in slabs so the 512x512x300 variant fits in memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter
from scipy.special import ndtr

from wallthick.labels import Label
from wallthick.phantom.scene import Scene
from wallthick.volume import Geometry

__all__ = ["render", "nested_fields", "add_noise", "AIR_HU"]

FloatArray = npt.NDArray[np.float64]
AIR_HU = -1000.0
_SLAB_VOXELS = 800_000


def nested_fields(scene: Scene, anatomical: FloatArray) -> dict[str, FloatArray]:
    """Fields of every node with each child clipped to its parent."""
    raw = scene.fields(anatomical)
    nested: dict[str, FloatArray] = {}
    for node in scene.nodes:
        f = raw[node.name]
        nested[node.name] = f if node.parent is None else np.maximum(f, nested[node.parent])
    return nested


def render(
    scene: Scene,
    geometry: Geometry,
    to_anatomical: Callable[[FloatArray], FloatArray],
    *,
    image: bool = True,
) -> tuple[npt.NDArray[np.float32] | None, npt.NDArray[np.uint8]]:
    """Noiseless image (HU, float32; None when ``image`` is false) and labels."""
    n_slices, rows, cols = geometry.shape
    labels = np.zeros(geometry.shape, np.uint8)
    out = np.zeros(geometry.shape, np.float32) if image else None
    step = max(6, _SLAB_VOXELS // (rows * cols))  # >= 6 slices: the 2 halo slices stay cheap
    for k0 in range(0, n_slices, step):
        k1 = min(k0 + step, n_slices)
        lo, hi = max(k0 - 1, 0), min(k1 + 1, n_slices)
        idx = np.stack(
            np.meshgrid(np.arange(lo, hi), np.arange(rows), np.arange(cols), indexing="ij"), -1
        ).astype(np.float64)
        anatomical = to_anatomical(geometry.index_to_world(idx))
        fields = nested_fields(scene, anatomical)
        keep = slice(k0 - lo, k0 - lo + (k1 - k0))
        labels[k0:k1] = _labels(scene, fields)[keep]
        if out is not None:
            sigma_psf = scene.spec.psf_fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
            offsets = scene.hu_offsets(anatomical)
            out[k0:k1] = _composite(scene, fields, offsets, geometry.spacing_mm, sigma_psf)[keep]
    return out, labels


def _labels(scene: Scene, fields: dict[str, FloatArray]) -> npt.NDArray[np.uint8]:
    first = next(iter(fields.values()))
    lab = np.full(first.shape, int(Label.BACKGROUND), np.uint8)
    for node in scene.nodes:  # parents come before children
        lab[fields[node.name] < 0] = int(node.label)
    return lab


def _composite(
    scene: Scene,
    fields: dict[str, FloatArray],
    offsets: dict[str, FloatArray],
    spacing: FloatArray,
    sigma_psf: float,
) -> FloatArray:
    """``sum((HU_node - HU_parent) * occupancy)``; ``offsets`` vary some nodes' HU."""
    hu = {node.name: node.hu for node in scene.nodes}
    first = next(iter(fields.values()))
    value = np.full(first.shape, AIR_HU)
    cut = 6.0 * float(np.sqrt(sigma_psf**2 + np.sum(spacing**2) / 12.0))
    zero = np.zeros(first.shape)
    for node in scene.nodes:
        f = fields[node.name]
        parent = node.parent
        delta: FloatArray | float = node.hu - (AIR_HU if parent is None else hu[parent])
        if node.name in offsets or (parent is not None and parent in offsets):
            delta = delta + offsets.get(node.name, zero) - offsets.get(parent or "", zero)
        inside = f <= -cut
        value[inside] += delta[inside] if isinstance(delta, np.ndarray) else delta
        band = np.abs(f) < cut
        box = _bbox(band)
        if box is not None:
            fb, bb = f[box], band[box]
            sigma = _edge_sigma(fb, bb, spacing, sigma_psf)
            d = delta[box][bb] if isinstance(delta, np.ndarray) else delta
            value[box][bb] += d * ndtr(-fb[bb] / sigma)
    return value


def _bbox(mask: npt.NDArray[np.bool_]) -> tuple[slice, ...] | None:
    """Bounding box of ``mask`` grown by one voxel (for gradients), None when empty."""
    box = []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(np.any(mask, axis=others))
        if hit.size == 0:
            return None
        box.append(slice(max(int(hit[0]) - 1, 0), int(hit[-1]) + 2))
    return tuple(box)


def _edge_sigma(
    f: FloatArray, band: npt.NDArray[np.bool_], spacing: FloatArray, sigma_psf: float
) -> FloatArray:
    """PSF plus voxel-box standard deviation along the field's normal, on ``band``."""
    axes = [k for k in range(3) if f.shape[k] > 1]
    grads = np.gradient(f, *[float(spacing[k]) for k in axes], axis=axes) if axes else []
    if len(axes) == 1:
        grads = [grads]
    box = np.zeros(int(band.sum()))
    norm2 = np.zeros_like(box)
    for g, k in zip(grads, axes, strict=True):
        gb = np.clip(g[band], -2.0, 2.0)
        box += (gb * spacing[k]) ** 2
        norm2 += gb**2
    flat = float(np.mean(spacing**2))
    var = sigma_psf**2 + np.where(norm2 > 1e-6, box / np.maximum(norm2, 1e-6), flat) / 12.0
    return np.asarray(np.sqrt(var))


def add_noise(
    array: npt.NDArray[np.float32],
    spacing_mm: FloatArray,
    sd_hu: float,
    correlation_mm: float,
    seed: int,
) -> None:
    """Add Gaussian noise of standard deviation ``sd_hu`` in place (slab by slab).

    With ``correlation_mm > 0`` white noise is low-pass filtered with a
    Gaussian of that standard deviation (mm) and rescaled to ``sd_hu``.
    """
    if sd_hu <= 0:
        return
    rng = np.random.default_rng([seed, 11])
    sig = np.asarray(spacing_mm, float)
    sig = correlation_mm / sig if correlation_mm > 0 else np.zeros(3)
    white = rng.standard_normal(array.shape, dtype=np.float32)
    if sig.any():
        white = gaussian_filter(white, sig, mode="wrap")
    white *= np.float32(sd_hu / _kernel_norm(sig))
    array += white


def _kernel_norm(sig: FloatArray) -> float:
    if not sig.any():
        return 1.0
    size = [2 * int(np.ceil(4 * s)) + 1 for s in sig]
    delta = np.zeros(size)
    delta[tuple(s // 2 for s in size)] = 1.0
    return float(np.sqrt(np.sum(gaussian_filter(delta, sig, mode="constant") ** 2)))
