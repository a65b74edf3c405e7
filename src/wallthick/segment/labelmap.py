"""The ``labelmap`` segmenter: use an existing segmentation instead of computing one.

Reads a label map (NIfTI/NRRD/MHA through SimpleITK, a DICOM SEG through
highdicom, or a folder of one-structure NIfTI masks as TotalSegmentator
writes them), maps its values or segment names to :class:`~wallthick.labels.Label`
and resamples it (nearest neighbour, through the LPS geometry of both grids)
onto the grid of the image being measured.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wallthick.errors import MissingDependencyError, SegmentationError
from wallthick.labels import Label
from wallthick.volume import Geometry, ImageVolume, LabelVolume

__all__ = ["LABEL_PRESETS", "LabelMapSegmenter", "resample_labels"]

logger = logging.getLogger(__name__)

_TS_NAMES: dict[int | str, Label] = {
    "heart_myocardium": Label.LV_MYOCARDIUM,
    "heart_ventricle_left": Label.LV_BLOOD_POOL,
    "heart_ventricle_right": Label.RV_BLOOD_POOL,
    "heart_atrium_left": Label.LEFT_ATRIUM,
    "aorta": Label.AORTA,
}

#: Named label mappings. Integer keys are source values (or DICOM SEG segment
#: numbers); string keys are structure names (SEG segment labels, mask file
#: names), compared case-insensitively with ``_``/``-``/space treated alike.
LABEL_PRESETS: dict[str, dict[int | str, Label]] = {
    "wallthick": {
        **{int(lab): lab for lab in Label if lab != Label.BACKGROUND},
        **{lab.name: lab for lab in Label if lab != Label.BACKGROUND},
    },
    # TotalSegmentator task ``heartchambers_highres`` (values) and its names.
    "totalsegmentator": {
        1: Label.LV_MYOCARDIUM,
        2: Label.LEFT_ATRIUM,
        3: Label.LV_BLOOD_POOL,
        5: Label.RV_BLOOD_POOL,
        6: Label.AORTA,
        **_TS_NAMES,
    },
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def _resolve_mapping(mapping: Mapping[int | str, Any] | str) -> dict[int | str, Label]:
    if isinstance(mapping, str):
        try:
            return dict(LABEL_PRESETS[mapping])
        except KeyError:
            raise ValueError(
                f"Argument 'mapping' must be a mapping or one of {sorted(LABEL_PRESETS)}, "
                f"got {mapping!r}."
            ) from None
    out: dict[int | str, Label] = {}
    for key, value in mapping.items():
        label = Label[value.upper()] if isinstance(value, str) else Label(int(value))
        if isinstance(key, str):
            out[_norm(key)] = label
        elif isinstance(key, int | np.integer):
            out[int(key)] = label
        else:
            raise TypeError(f"Label mapping keys must be int or str, got {key!r}.")
    return out


@dataclass(frozen=True)
class LabelMapSegmenter:
    """Segmenter that reads an existing label map.

    Parameters
    ----------
    path : str or path-like
        A NIfTI/NRRD/MHA label image, a DICOM SEG file, or a folder of binary
        masks named after structures (``heart_myocardium.nii.gz``, ...).
    mapping : mapping or str
        Source value/segment number (int) or structure name (str) ->
        :class:`Label` (or its name). Or a preset name from
        :data:`LABEL_PRESETS` (``"wallthick"``, ``"totalsegmentator"``).
        Unmapped source values become background.

    Examples
    --------
    >>> LabelMapSegmenter("seg.nii.gz", mapping="totalsegmentator").name
    'labelmap'
    """

    path: str | os.PathLike[str]
    mapping: Mapping[int | str, Any] | str = "wallthick"
    name: str = field(default="labelmap", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.path, str | os.PathLike):
            raise TypeError(f"Argument 'path' must be a path, got {type(self.path).__name__}.")
        _resolve_mapping(self.mapping)  # validate early

    def segment(self, image: ImageVolume) -> LabelVolume:
        """Read, relabel and resample the label map onto ``image``'s grid."""
        path = Path(self.path)
        if not path.exists():
            raise SegmentationError(f"{path}: label map not found.")
        mapping = _resolve_mapping(self.mapping)
        source = _read_label_map(path, mapping)
        if not np.any(source.array):
            raise SegmentationError(
                f"{path}: no voxel of the label map maps to a wallthick label with mapping "
                f"{self.mapping!r}; check the mapping (source values/segment names)."
            )
        array = resample_labels(source, image.geometry)
        present = sorted(Label(int(v)).name for v in np.unique(array) if v)
        if Label.LV_BLOOD_POOL.name not in present or Label.LV_MYOCARDIUM.name not in present:
            logger.warning("%s: label map lacks LV cavity or myocardium on the image grid.", path)
        meta = {"segmenter": self.name, "source_path": str(path), "labels_present": present}
        return LabelVolume.from_geometry(array, image.geometry, meta)


def _read_label_map(path: Path, mapping: dict[int | str, Label]) -> LabelVolume:
    if path.is_dir():
        return _read_mask_folder(path, mapping)
    with path.open("rb") as fh:
        head = fh.read(132)
    if head[128:132] == b"DICM":
        return _read_dicom_seg(path, mapping)
    return _relabel_values(_read_sitk(path), mapping, path)


def _read_sitk(path: Path) -> LabelVolume:
    import SimpleITK as sitk

    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise SegmentationError(f"{path}: cannot read the label map ({exc}).") from exc
    if img.GetDimension() != 3 or img.GetNumberOfComponentsPerPixel() != 1:
        raise SegmentationError(f"{path}: a label map must be a 3-D scalar image.")
    if _is_float(img):
        img = sitk.Cast(sitk.Round(img), sitk.sitkInt32)
    return LabelVolume.from_sitk(img)


def _is_float(img: Any) -> bool:
    import SimpleITK as sitk

    return bool(img.GetPixelID() in (sitk.sitkFloat32, sitk.sitkFloat64))


def _relabel_values(vol: LabelVolume, mapping: dict[int | str, Label], path: Path) -> LabelVolume:
    values = np.unique(vol.array)
    lut = {int(v): mapping.get(int(v), Label.BACKGROUND) for v in values if v != 0}
    unmapped = sorted(v for v, lab in lut.items() if lab == Label.BACKGROUND)
    if unmapped:
        logger.info("%s: source values %s are not mapped and become background.", path, unmapped)
    out = np.zeros(vol.array.shape, np.uint8)
    for value, label in lut.items():
        if label != Label.BACKGROUND:
            out[vol.array == value] = int(label)
    return LabelVolume.from_geometry(out, vol.geometry)


def _read_mask_folder(path: Path, mapping: dict[int | str, Label]) -> LabelVolume:
    out: npt.NDArray[np.uint8] | None = None
    geometry: Geometry | None = None
    for f in sorted(path.iterdir()):
        stem = _norm(re.sub(r"\.(nii\.gz|nii|nrrd|mha|mhd)$", "", f.name, flags=re.I))
        label = mapping.get(stem)
        if label is None or not f.is_file():
            continue
        mask = _read_sitk(f)
        if geometry is None:
            geometry = mask.geometry
            out = np.zeros(geometry.shape, np.uint8)
        elif not mask.geometry.same_grid(geometry):
            raise SegmentationError(f"{f}: mask grid differs from the other masks in {path}.")
        assert out is not None
        out[mask.array > 0] = int(label)
    if out is None or geometry is None:
        raise SegmentationError(
            f"{path}: no mask file named after a mapped structure "
            f"(expected e.g. {sorted(k for k in mapping if isinstance(k, str))[:5]})."
        )
    return LabelVolume.from_geometry(out, geometry)


def _read_dicom_seg(path: Path, mapping: dict[int | str, Label]) -> LabelVolume:
    try:
        import highdicom as hd
    except ImportError as exc:
        raise MissingDependencyError("Reading DICOM SEG label maps", "highdicom") from exc
    try:
        seg = hd.seg.segread(str(path))
        volume = seg.get_volume(combine_segments=True, relabel=False, skip_overlap_checks=True)
    except (ValueError, RuntimeError, AttributeError) as exc:
        raise SegmentationError(f"{path}: cannot read it as a 3-D DICOM SEG ({exc}).") from exc
    lut: dict[int, Label] = {}
    for item in seg.SegmentSequence:
        number = int(item.SegmentNumber)
        label = mapping.get(_norm(str(item.SegmentLabel)), mapping.get(number))
        if label is not None:
            lut[number] = label
    affine = np.asarray(volume.affine, dtype=np.float64)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    geometry = Geometry(volume.spatial_shape, spacing, affine[:3, 3], affine[:3, :3] / spacing)
    src = np.asarray(volume.array)
    out = np.zeros(src.shape, np.uint8)
    for number, label in lut.items():
        out[src == number] = int(label)
    return LabelVolume.from_geometry(out, geometry)


def resample_labels(labels: LabelVolume, target: Geometry) -> npt.NDArray[np.uint8]:
    """Nearest-neighbour resampling of ``labels`` onto ``target`` through LPS geometry.

    Examples
    --------
    >>> src = LabelVolume(np.ones((2, 2, 2), np.uint8), (2, 2, 2), (0, 0, 0), np.eye(3))
    >>> target = Geometry((4, 4, 4), (1, 1, 1), (-0.9, -0.9, -0.9), np.eye(3))
    >>> int(resample_labels(src, target).sum())
    64
    """
    if labels.geometry.same_grid(target):
        return np.ascontiguousarray(labels.array, dtype=np.uint8)
    out = np.zeros(target.shape, np.uint8)
    box = _target_box(labels, target)
    if box is None:
        return out
    lo, hi = box
    src = labels.array
    src_shape = np.asarray(src.shape)
    jj, kk = np.meshgrid(np.arange(lo[1], hi[1]), np.arange(lo[2], hi[2]), indexing="ij")
    for i in range(lo[0], hi[0]):
        idx = np.stack([np.full(jj.shape, i), jj, kk], axis=-1)
        src_idx = np.rint(labels.geometry.world_to_index(target.index_to_world(idx))).astype(int)
        inside = np.all((src_idx >= 0) & (src_idx < src_shape), axis=-1)
        vals = np.zeros(jj.shape, np.uint8)
        si = src_idx[inside]
        vals[inside] = src[si[:, 0], si[:, 1], si[:, 2]]
        out[i, lo[1] : hi[1], lo[2] : hi[2]] = vals
    return out


def _target_box(labels: LabelVolume, target: Geometry) -> tuple[np.ndarray, np.ndarray] | None:
    nz = np.argwhere(labels.array > 0)
    if nz.size == 0:
        return None
    a, b = nz.min(axis=0) - 1, nz.max(axis=0) + 1
    corners = np.array(
        [[x, y, z] for x in (a[0], b[0]) for y in (a[1], b[1]) for z in (a[2], b[2])]
    )
    t = target.world_to_index(labels.geometry.index_to_world(corners))
    lo = np.maximum(np.floor(t.min(axis=0)).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(t.max(axis=0)).astype(int) + 2, np.asarray(target.shape))
    if np.any(hi <= lo):
        return None
    return lo, hi
