"""Options, tissue levels and sampling helpers shared by the classical segmenter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.volume import ImageVolume

__all__ = ["ClassicalOptions", "TissueLevels", "fibonacci_directions", "sample_world"]

FloatArray = npt.NDArray[np.float64]

#: Value used outside the image when sampling (air).
OUTSIDE_HU = -1000.0


@dataclass(frozen=True)
class ClassicalOptions:
    """Tuning of :class:`~wallthick.segment.classical.ClassicalSegmenter`.

    Distances are in mm. The defaults fit adult contrast-enhanced cardiac CT;
    no option is an HU threshold: all intensity levels are estimated per scan.

    Parameters
    ----------
    coarse_spacing_mm : float
        Grid used to localise candidate chambers before any fine work.
    sa_pixel_mm, sa_level_mm : float
        In-plane pixel and level spacing of the short-axis reformat.
    n_angles : int
        Rays per short-axis level for the epicardial edge and thickness prior.
    max_candidates, candidate_spacing_mm : int, float
        At most this many candidate points, this far apart, spread through the
        bright regions and scored by their myocardial shell.
    min_cavity_radius_mm : float
        Smallest inscribed radius of a candidate blood pool.
    min_wall_mm, max_wall_mm : float
        Plausible LV wall (a ray "is wrapped" when it crosses this much tissue).
    min_wrap_fraction : float
        Fraction of 3-D rays that must be wrapped for a candidate to be the LV.
    base_wrap_fraction : float
        A short-axis level belongs to the ventricle (below the mitral plane)
        while at least this fraction of its rays is wrapped in myocardium.
    lv_seed_mm : (float, float, float), optional
        A point inside the LV cavity (LPS mm, e.g. clicked by an analyst):
        the search for the LV is skipped and tracking starts there. It must
        still be a bright pool wrapped in myocardium, or the segmentation is
        refused.
    """

    coarse_spacing_mm: float = 3.0
    sa_pixel_mm: float = 0.5
    sa_level_mm: float = 1.0
    n_angles: int = 120
    max_candidates: int = 64
    candidate_spacing_mm: float = 15.0
    min_cavity_radius_mm: float = 7.0
    min_wall_mm: float = 4.0
    max_wall_mm: float = 25.0
    min_wrap_fraction: float = 0.45
    base_wrap_fraction: float = 0.95
    min_cavity_ml: float = 15.0
    max_cavity_ml: float = 600.0
    lv_seed_mm: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("coarse_spacing_mm", "sa_pixel_mm", "sa_level_mm", "min_wall_mm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Option '{name}' must be > 0, got {getattr(self, name)!r}.")
        if not 0 < self.base_wrap_fraction <= 1 or not 0 < self.min_wrap_fraction <= 1:
            raise ValueError("Options 'base_wrap_fraction'/'min_wrap_fraction' must be in (0, 1].")
        if self.lv_seed_mm is not None:
            seed = tuple(float(v) for v in self.lv_seed_mm)
            if len(seed) != 3 or not all(np.isfinite(seed)):
                raise ValueError(
                    f"Option 'lv_seed_mm' must be three finite numbers (LPS mm), got {self.lv_seed_mm!r}."
                )
            object.__setattr__(self, "lv_seed_mm", seed)
        if self.n_angles < 16:
            raise ValueError(f"Option 'n_angles' must be >= 16, got {self.n_angles}.")


@dataclass(frozen=True)
class TissueLevels:
    """Estimated mean HU of the tissues around the LV, and derived mid-levels."""

    blood_hu: float
    myocardium_hu: float
    fat_hu: float
    noise_hu: float

    @property
    def blood_myo_mid(self) -> float:
        """Half-way level between LV blood and myocardium (endocardial edge)."""
        return 0.5 * (self.blood_hu + self.myocardium_hu)

    @property
    def myo_fat_mid(self) -> float:
        """Half-way level between myocardium and fat (epicardial edge)."""
        return 0.5 * (self.myocardium_hu + self.fat_hu)

    @property
    def contrast_hu(self) -> float:
        return self.blood_hu - self.myocardium_hu


def sample_world(
    image: ImageVolume, points_mm: npt.ArrayLike, cval: float = OUTSIDE_HU
) -> npt.NDArray[np.float32]:
    """Trilinear samples of ``image`` at LPS points ``(..., 3)``.

    Examples
    --------
    >>> vol = ImageVolume(np.arange(8.0).reshape(2, 2, 2), (1, 1, 1), (0, 0, 0), np.eye(3))
    >>> sample_world(vol, [[0.5, 0.5, 0.5]]).tolist()
    [3.5]
    """
    pts = np.asarray(points_mm, dtype=np.float64)
    idx = image.world_to_index(pts.reshape(-1, 3))
    out = ndimage.map_coordinates(
        image.array, idx.T, order=1, mode="constant", cval=cval, output=np.float32, prefilter=False
    )
    return out.reshape(pts.shape[:-1])


def sample_affine(
    image: ImageVolume,
    origin_mm: npt.ArrayLike,
    axes_mm: npt.ArrayLike,
    coords: tuple[npt.ArrayLike, ...],
    cval: float = OUTSIDE_HU,
) -> npt.NDArray[np.float32]:
    """Samples at ``origin + sum_k coords[k] * axes[k]`` (LPS), computed through
    one combined affine map to voxel indices (fast for large reformats)."""
    inv = image.direction.T / image.spacing_mm[:, None]  # world offset -> index
    base = inv @ (np.asarray(origin_mm, dtype=np.float64) - image.origin_mm)
    axes = np.asarray(axes_mm, dtype=np.float64) @ inv.T  # (k, 3) index steps
    shape = np.broadcast_shapes(*(np.shape(c) for c in coords))
    idx = np.empty((3, *shape), np.float32)
    for d in range(3):
        acc = np.full(shape, base[d], np.float32)
        for c, ax in zip(coords, axes, strict=True):
            acc += np.asarray(c, dtype=np.float32) * np.float32(ax[d])
        idx[d] = acc
    out = ndimage.map_coordinates(
        image.array,
        idx.reshape(3, -1),
        order=1,
        mode="constant",
        cval=cval,
        output=np.float32,
        prefilter=False,
    )
    return out.reshape(shape)


def fibonacci_directions(n: int) -> FloatArray:
    """``n`` nearly uniform unit vectors on the sphere, shape ``(n, 3)``.

    Examples
    --------
    >>> d = fibonacci_directions(50)
    >>> bool(np.allclose(np.linalg.norm(d, axis=1), 1.0))
    True
    """
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    phi = np.pi * (1.0 + 5**0.5) * i
    rho = np.sqrt(1.0 - z * z)
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)


def first_true(mask: npt.NDArray[np.bool_], axis: int = -1) -> npt.NDArray[np.intp]:
    """Index of the first True along ``axis``; ``-1`` where there is none."""
    idx = np.argmax(mask, axis=axis)
    return np.where(np.any(mask, axis=axis), idx, -1)


def crossing(profile: npt.NDArray[np.float32], i: int, level: float, step: float) -> float:
    """Sub-sample position (in units of ``step``) where ``profile`` crosses
    ``level`` between samples ``i - 1`` and ``i`` (linear interpolation)."""
    if i <= 0:
        return 0.0
    a, b = float(profile[i - 1]), float(profile[i])
    frac = 0.5 if a == b else min(max((level - a) / (b - a), 0.0), 1.0)
    return (i - 1 + frac) * step
