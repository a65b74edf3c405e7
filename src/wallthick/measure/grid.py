"""The LV crop: label/image arrays cut to the LV and an isotropic working grid.

Coordinates used inside the measurement ("crop mm") are millimetres along the
array axes of the label grid, measured from the first voxel of the crop:
``x = (index - start) * spacing``. World (LPS) positions follow from the
label grid's direction matrix. The isotropic grid has voxel ``k`` at
``x = k * step``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.errors import MeasurementError
from wallthick.labels import Label
from wallthick.measure.sax import index_map
from wallthick.volume import Geometry, ImageVolume, LabelVolume

__all__ = ["LVCrop", "crop_lv"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_PAD_MM = 12.0


@dataclass(frozen=True, eq=False)
class LVCrop:
    """Arrays of one LV measurement, cropped to the LV with a margin."""

    start: tuple[int, int, int]
    labels: npt.NDArray[np.integer]  # label grid, cropped
    image: npt.NDArray[np.float32] | None  # on the label grid, cropped
    spacing: FloatArray
    origin_world: FloatArray  # LPS of crop voxel 0
    direction: FloatArray
    step: float
    cav: BoolArray  # isotropic grid masks
    myo: BoolArray
    rv: BoolArray
    la: BoolArray
    image_iso: npt.NDArray[np.float32] | None

    def to_world(self, x_mm: FloatArray) -> FloatArray:
        """Crop-mm ``(..., 3)`` to LPS mm."""
        return np.asarray(x_mm @ self.direction.T + self.origin_world)

    def vector_to_world(self, v: FloatArray) -> FloatArray:
        return np.asarray(v @ self.direction.T)

    def iso_points(self, mask: BoolArray) -> FloatArray:
        """Crop-mm positions of the isotropic voxels in ``mask``."""
        return np.argwhere(mask).astype(np.float64) * self.step


def crop_lv(labels: LabelVolume, image: ImageVolume | None, step: float) -> LVCrop:
    """Cut the label map (and image) to the LV and build the isotropic masks."""
    arr = labels.array
    spacing = np.asarray(labels.spacing_mm, dtype=np.float64)
    idx = _lv_extent(arr)
    start: tuple[int, ...] = (0, 0, 0)
    lab = None
    if idx is not None:
        pad = np.ceil(_PAD_MM / spacing).astype(int)
        start = tuple(max(int(i[0]) - int(p), 0) for i, p in zip(idx, pad, strict=True))
        stop = (
            min(int(i[-1]) + int(p) + 1, n) for i, p, n in zip(idx, pad, arr.shape, strict=True)
        )
        lab = arr[tuple(slice(a, b) for a, b in zip(start, stop, strict=True))]  # every LV voxel
    if lab is None or not (
        np.any(lab == Label.LV_MYOCARDIUM) and np.any(lab == Label.LV_BLOOD_POOL)
    ):
        raise MeasurementError(
            f"{_name(labels)}: the label map has no LV myocardium or no LV blood pool; "
            "nothing to measure (check the segmentation)."
        )
    img = None if image is None else _image_on_crop(image, labels, start, lab.shape)
    iso_shape = tuple(
        int(np.floor((n - 1) * s / step)) + 1 for n, s in zip(lab.shape, spacing, strict=True)
    )
    zoom = np.full(3, step) / spacing

    def iso(values: npt.NDArray[np.float32], order: int = 1) -> npt.NDArray[np.float32]:
        out = ndimage.affine_transform(
            values, zoom, output_shape=iso_shape, order=order, mode="nearest"
        )
        return np.asarray(out, dtype=np.float32)

    # nearest-neighbour labels are enough here: the iso grid only sets the wall
    # directions, the frame and the line density; edges come from the label grid
    lab_iso = ndimage.affine_transform(lab, zoom, output_shape=iso_shape, order=0, mode="nearest")

    def iso_mask(label: Label) -> BoolArray:
        return np.asarray(lab_iso == label)

    myo = iso_mask(Label.LV_MYOCARDIUM)
    cav = iso_mask(Label.LV_BLOOD_POOL)
    return LVCrop(
        start=start,  # type: ignore[arg-type]
        labels=lab,
        image=img,
        spacing=spacing,
        origin_world=labels.geometry.index_to_world(np.asarray(start, dtype=np.float64)),
        direction=np.asarray(labels.direction, dtype=np.float64),
        step=float(step),
        cav=cav,
        myo=myo,
        rv=iso_mask(Label.RV_BLOOD_POOL) & ~myo & ~cav,
        la=iso_mask(Label.LEFT_ATRIUM) & ~myo & ~cav,
        image_iso=None if img is None else iso(img),
    )


def _lv_extent(arr: npt.NDArray[np.integer]) -> list[npt.NDArray[np.intp]] | None:
    """Indices along each axis holding LV voxels (``None`` without any): one pass
    over the whole grid, then the slab of LV slices only."""
    lv = arr == Label.LV_MYOCARDIUM
    lv |= arr == Label.LV_BLOOD_POOL
    slices = np.flatnonzero(lv.any(axis=(1, 2)))
    if slices.size == 0:
        return None
    slab = lv[slices[0] : slices[-1] + 1]
    return [slices, np.flatnonzero(slab.any(axis=(0, 2))), np.flatnonzero(slab.any(axis=(0, 1)))]


def _image_on_crop(
    image: ImageVolume, labels: LabelVolume, start: tuple[int, ...], shape: tuple[int, ...]
) -> npt.NDArray[np.float32]:
    if image.geometry.same_grid(labels.geometry, atol=1e-3):
        sl = tuple(slice(a, a + n) for a, n in zip(start, shape, strict=True))
        return np.asarray(image.array[sl], dtype=np.float32)
    # different grids (e.g. labels on a short-axis grid): sample the image at the
    # crop's voxel centres (trilinear, edge values continued beyond the image)
    crop = Geometry(
        shape,  # type: ignore[arg-type]
        labels.spacing_mm,
        labels.geometry.index_to_world(np.asarray(start, dtype=np.float64)),
        labels.direction,
    )
    matrix, offset = index_map(crop, image.geometry)
    vals = ndimage.affine_transform(
        np.asarray(image.array, dtype=np.float32), matrix, offset, output_shape=shape,
        order=1, mode="nearest",
    )  # fmt: skip
    return np.asarray(vals, dtype=np.float32)


def _name(labels: LabelVolume) -> str:
    meta = labels.metadata
    return str(meta.get("series_description") or meta.get("source_path") or "label map")
