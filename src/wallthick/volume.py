"""Geometry-carrying volumes passed between wallthick's stages.

Array axes are always ``(slice, row, column)``. ``spacing_mm``, ``origin_mm``
and ``direction`` describe the patient (LPS) geometry of those axes:

* ``spacing_mm[k]`` is the distance in mm between neighbours along array axis k;
* ``origin_mm`` is the LPS position of voxel ``(0, 0, 0)``;
* ``direction[:, k]`` is the LPS unit vector of array axis ``k``.

So the LPS position of index ``(i, j, k)`` is
``origin_mm + direction @ (spacing_mm * (i, j, k))``. The conversion to and
from SimpleITK's ``(x, y, z)`` axis order lives only in this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt

from wallthick.labels import Label

if TYPE_CHECKING:  # pragma: no cover
    import SimpleITK as sitk

__all__ = ["ImageVolume", "LabelVolume", "Geometry"]

_ORTHO_TOL = 1e-4


def _as_vector(value: Any, name: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,):
        raise ValueError(f"Argument '{name}' must have 3 elements, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"Argument '{name}' must be finite, got {arr.tolist()}.")
    return arr


def _as_direction(value: Any) -> npt.NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3, 3):
        raise ValueError(f"Argument 'direction' must be a 3x3 matrix, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("Argument 'direction' must be finite.")
    if not np.allclose(arr.T @ arr, np.eye(3), atol=_ORTHO_TOL):
        raise ValueError(
            "Argument 'direction' must be orthonormal (columns are the LPS unit "
            f"vectors of the array axes), got {arr.tolist()}."
        )
    return arr


@dataclass(frozen=True)
class Geometry:
    """Shape and patient geometry of a 3-D grid (no voxel values).

    Parameters
    ----------
    shape : tuple of int
        Array shape ``(slices, rows, columns)``.
    spacing_mm : array_like of float, shape (3,)
        Voxel spacing along the array axes, in mm, all > 0.
    origin_mm : array_like of float, shape (3,)
        LPS position of voxel ``(0, 0, 0)`` in mm.
    direction : array_like of float, shape (3, 3)
        Column ``k`` is the LPS unit vector of array axis ``k``.

    Examples
    --------
    >>> g = Geometry((2, 3, 4), (2.0, 1.0, 1.0), (0, 0, 0), np.eye(3))
    >>> g.index_to_world([1, 0, 0]).tolist()
    [2.0, 0.0, 0.0]
    """

    shape: tuple[int, int, int]
    spacing_mm: npt.NDArray[np.float64]
    origin_mm: npt.NDArray[np.float64]
    direction: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"Argument 'shape' must be 3 positive ints, got {self.shape}.")
        spacing = _as_vector(self.spacing_mm, "spacing_mm")
        if np.any(spacing <= 0):
            raise ValueError(f"Argument 'spacing_mm' must be > 0, got {spacing.tolist()}.")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "spacing_mm", spacing)
        object.__setattr__(self, "origin_mm", _as_vector(self.origin_mm, "origin_mm"))
        object.__setattr__(self, "direction", _as_direction(self.direction))
        for arr in (self.spacing_mm, self.origin_mm, self.direction):
            arr.flags.writeable = False

    @property
    def affine(self) -> npt.NDArray[np.float64]:
        """4x4 matrix mapping homogeneous ``(slice, row, column, 1)`` to LPS mm."""
        aff = np.eye(4)
        aff[:3, :3] = self.direction * self.spacing_mm[np.newaxis, :]
        aff[:3, 3] = self.origin_mm
        return aff

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in mm^3."""
        return float(np.prod(self.spacing_mm))

    def index_to_world(self, index: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map continuous indices ``(..., 3)`` to LPS mm ``(..., 3)``."""
        idx = np.asarray(index, dtype=np.float64)
        return idx @ (self.direction * self.spacing_mm).T + self.origin_mm

    def world_to_index(self, point_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map LPS mm ``(..., 3)`` to continuous indices ``(..., 3)``."""
        pts = np.asarray(point_mm, dtype=np.float64) - self.origin_mm
        return (pts @ self.direction) / self.spacing_mm

    def same_grid(self, other: Geometry, atol: float = 1e-4) -> bool:
        """True when both grids have the same shape and geometry."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing_mm, other.spacing_mm, atol=atol)
            and np.allclose(self.origin_mm, other.origin_mm, atol=atol)
            and np.allclose(self.direction, other.direction, atol=atol)
        )


def _check_array(array: Any, name: str) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"Argument '{name}' must be a numpy array, got {type(array).__name__}.")
    if array.ndim != 3:
        raise ValueError(f"Argument '{name}' must be 3-D (slice, row, column), got {array.ndim}-D.")
    if min(array.shape) < 1:
        raise ValueError(f"Argument '{name}' must not be empty, got shape {array.shape}.")
    return array


@dataclass(frozen=True, eq=False)
class _GridVolume:
    """Shared fields and geometry behaviour of :class:`ImageVolume` and
    :class:`LabelVolume` (an array on a patient-space grid)."""

    array: np.ndarray
    spacing_mm: npt.NDArray[np.float64]
    origin_mm: npt.NDArray[np.float64]
    direction: npt.NDArray[np.float64]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        arr = _check_array(self.array, "array")
        geom = Geometry(arr.shape, self.spacing_mm, self.origin_mm, self.direction)  # type: ignore[arg-type]
        object.__setattr__(self, "spacing_mm", geom.spacing_mm)
        object.__setattr__(self, "origin_mm", geom.origin_mm)
        object.__setattr__(self, "direction", geom.direction)
        object.__setattr__(self, "metadata", dict(self.metadata))

    # -- geometry ---------------------------------------------------------
    @property
    def geometry(self) -> Geometry:
        """The grid of this volume without its values."""
        return Geometry(self.array.shape, self.spacing_mm, self.origin_mm, self.direction)  # type: ignore[arg-type]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def affine(self) -> npt.NDArray[np.float64]:
        """4x4 index ``(slice, row, column)`` to LPS mm matrix."""
        return self.geometry.affine

    def index_to_world(self, index: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return self.geometry.index_to_world(index)

    def world_to_index(self, point_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return self.geometry.world_to_index(point_mm)

    def with_array(self, array: np.ndarray, **metadata: Any) -> Self:
        """A new volume of the same kind on the same grid holding ``array``."""
        if array.shape != self.array.shape:
            raise ValueError(
                f"Argument 'array' must have shape {self.array.shape}, got {array.shape}."
            )
        return type(self)(
            array, self.spacing_mm, self.origin_mm, self.direction, {**self.metadata, **metadata}
        )

    @classmethod
    def from_geometry(
        cls, array: np.ndarray, geometry: Geometry, metadata: Mapping[str, Any] | None = None
    ) -> Self:
        if tuple(array.shape) != geometry.shape:
            raise ValueError(
                f"Argument 'array' must have shape {geometry.shape}, got {array.shape}."
            )
        return cls(array, geometry.spacing_mm, geometry.origin_mm, geometry.direction, metadata or {})

    # -- SimpleITK --------------------------------------------------------
    @classmethod
    def from_sitk(cls, image: sitk.Image, metadata: Mapping[str, Any] | None = None) -> Self:
        """Build from a 3-D SimpleITK image (ITK uses LPS; axes are reversed)."""
        array, spacing, origin, direction = _from_sitk(image)
        return cls(array, spacing, origin, direction, metadata or {})

    def to_sitk(self) -> sitk.Image:
        """The equivalent SimpleITK image (exact round trip)."""
        return _to_sitk(self.array, self.spacing_mm, self.origin_mm, self.direction)


@dataclass(frozen=True, eq=False)
class ImageVolume(_GridVolume):
    """A 3-D image (e.g. CT in HU) with its patient geometry.

    Parameters
    ----------
    array : numpy.ndarray
        Voxel values, axes ``(slice, row, column)``.
    spacing_mm, origin_mm, direction
        See :class:`Geometry`.
    metadata : mapping, optional
        Free-form, JSON-serialisable description (series UIDs, phase, ...).

    Examples
    --------
    >>> vol = ImageVolume(np.zeros((2, 3, 4)), (2.0, 0.5, 0.5), (0, 0, 0), np.eye(3))
    >>> vol.affine[:3, :3].diagonal().tolist()
    [2.0, 0.5, 0.5]
    """


@dataclass(frozen=True, eq=False)
class LabelVolume(_GridVolume):
    """Integer labels (values of :class:`wallthick.labels.Label`) on a grid.

    Examples
    --------
    >>> lab = LabelVolume(np.zeros((2, 2, 2), np.uint8), (1, 1, 1), (0, 0, 0), np.eye(3))
    >>> lab.mask(Label.LV_MYOCARDIUM).any()
    np.False_
    """

    def __post_init__(self) -> None:
        arr = _check_array(self.array, "array")
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"Argument 'array' must hold integers, got dtype {arr.dtype}.")
        super().__post_init__()

    def mask(self, label: Label) -> npt.NDArray[np.bool_]:
        """Boolean mask of one label."""
        return np.asarray(self.array == int(label))

    def volume_ml(self, label: Label) -> float:
        """Volume of one label in millilitres."""
        voxels = float(np.count_nonzero(self.array == int(label)))
        return voxels * self.geometry.voxel_volume_mm3 / 1000.0


# -- the only place where numpy (slice,row,col) <-> ITK (x,y,z) is handled ---
def _from_sitk(
    image: sitk.Image,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import SimpleITK as sitk

    if image.GetDimension() != 3:
        raise ValueError(f"Argument 'image' must be 3-D, got {image.GetDimension()}-D.")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError("Argument 'image' must be a scalar image, got a vector image.")
    array = sitk.GetArrayFromImage(image)  # (z, y, x) == (slice, row, column)
    spacing = np.asarray(image.GetSpacing(), dtype=np.float64)[::-1]
    origin = np.asarray(image.GetOrigin(), dtype=np.float64)
    itk_dir = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    direction = itk_dir[:, ::-1]
    return array, spacing.copy(), origin, direction.copy()


def _to_sitk(
    array: np.ndarray, spacing: np.ndarray, origin: np.ndarray, direction: np.ndarray
) -> sitk.Image:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array), isVector=False)
    image.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    image.SetOrigin(tuple(float(o) for o in origin))
    image.SetDirection(tuple(float(d) for d in direction[:, ::-1].ravel()))
    return image
