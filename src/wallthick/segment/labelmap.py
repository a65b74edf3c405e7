"""The ``labelmap`` segmenter: use an existing segmentation instead of computing one.

Reads a label map (NIfTI/NRRD/MHA through SimpleITK, a DICOM SEG through
highdicom, or a folder of one-structure NIfTI masks as TotalSegmentator
writes them), maps its values or segment names to :class:`~wallthick.labels.Label`
and resamples it (nearest neighbour, through the LPS geometry of both grids)
onto the grid of the image being measured.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wallthick.errors import SegmentationError
from wallthick.labels import LABEL_SNOMED_CODES, Label
from wallthick.volume import Geometry, ImageVolume, LabelVolume

__all__ = [
    "LABEL_PRESETS",
    "LabelMapSegmenter",
    "load_label_mapping",
    "read_label_map",
    "resample_labels",
]

logger = logging.getLogger(__name__)

#: Label map file names: NIfTI, NRRD, MetaImage.
LABEL_FILE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")

#: The structure of each SNOMED CT code our DICOM SEGs (and other producers) use.
_CODES: dict[int | str, Label] = {
    f"sct:{code}": lab for lab, (code, _) in LABEL_SNOMED_CODES.items()
}

_TS_NAMES: dict[int | str, Label] = {
    "heart_myocardium": Label.LV_MYOCARDIUM,
    "heart_ventricle_left": Label.LV_BLOOD_POOL,
    "heart_ventricle_right": Label.RV_BLOOD_POOL,
    "heart_atrium_left": Label.LEFT_ATRIUM,
    "aorta": Label.AORTA,
    "heart_atrium_right": Label.BACKGROUND,
    "pulmonary_artery": Label.BACKGROUND,
}

#: Named label mappings. Integer keys are source values (or DICOM SEG segment
#: numbers); string keys are structure names (SEG segment labels, mask file
#: names), compared case-insensitively with ``_``/``-``/space treated alike,
#: or SEG segment codes ``"SCT:<code value>"``. A key mapped to
#: ``BACKGROUND`` is known and ignored; a value absent from the mapping is
#: read as background with a warning listing it.
LABEL_PRESETS: dict[str, dict[int | str, Label]] = {
    "wallthick": {
        **{int(lab): lab for lab in Label if lab != Label.BACKGROUND},
        **{lab.name.lower(): lab for lab in Label if lab != Label.BACKGROUND},
        **_CODES,
    },
    # TotalSegmentator task ``heartchambers_highres`` (values) and its names.
    "totalsegmentator": {
        1: Label.LV_MYOCARDIUM,
        2: Label.LEFT_ATRIUM,
        3: Label.LV_BLOOD_POOL,
        4: Label.BACKGROUND,  # right atrium
        5: Label.RV_BLOOD_POOL,
        6: Label.AORTA,
        7: Label.BACKGROUND,  # pulmonary artery
        **_TS_NAMES,
        **_CODES,
    },
}

_NEEDED = (Label.LV_MYOCARDIUM, Label.LV_BLOOD_POOL)


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def _as_label(value: Any, where: str) -> Label:
    try:
        if isinstance(value, Label):
            return value
        if isinstance(value, str):
            return Label[value.strip().upper()]
        return Label(int(value))
    except (KeyError, ValueError, TypeError):
        names = ", ".join(lab.name for lab in Label)
        raise ValueError(f"{where}: {value!r} is not a wallthick label (one of {names}).") from None


def _resolve_mapping(mapping: Mapping[Any, Any] | str) -> dict[int | str, Label]:
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
        label = _as_label(value, f"label mapping entry {key!r}")
        if isinstance(key, bool):
            raise TypeError(f"Label mapping keys must be int or str, got {key!r}.")
        if isinstance(key, int | np.integer):
            out[int(key)] = label
        elif isinstance(key, str) and key.strip().isdigit():
            out[int(key)] = label
        elif isinstance(key, str):
            out[_norm(key)] = label
        else:
            raise TypeError(f"Label mapping keys must be int or str, got {key!r}.")
    return out


def _mapping_name(mapping: Mapping[Any, Any] | str) -> str:
    return repr(mapping) if isinstance(mapping, str) else "given"


def load_label_mapping(spec: str | os.PathLike[str]) -> dict[int | str, Label] | str:
    """A preset name as it is, or a JSON file's mapping, checked.

    The JSON file holds one object: source value (as a string, ``"7"``),
    structure name or ``"SCT:<code>"`` -> wallthick label name, e.g.
    ``{"7": "LV_BLOOD_POOL", "9": "LV_MYOCARDIUM", "12": "BACKGROUND"}``.

    Raises
    ------
    ValueError
        Not a preset, the file cannot be read as a JSON object, or an entry
        names no wallthick label (the message names the file).

    Examples
    --------
    >>> load_label_mapping("totalsegmentator")
    'totalsegmentator'
    """
    text = os.fspath(spec)
    if text in LABEL_PRESETS:
        return text
    path = Path(text)
    if not path.is_file():
        raise ValueError(
            f"label mapping {text!r} is neither a preset ({', '.join(sorted(LABEL_PRESETS))}) "
            "nor a JSON file."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the label mapping as JSON ({exc}).") from exc
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: a label mapping must be a non-empty JSON object.")
    try:
        return _resolve_mapping(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class LabelMapSegmenter:
    """Segmenter that reads an existing label map.

    Parameters
    ----------
    path : str or path-like
        A NIfTI/NRRD/MHA label image, a DICOM SEG file, or a folder of binary
        masks named after structures (``heart_myocardium.nii.gz``, ...).
    mapping : mapping or str
        Source value/segment number (int), structure name or SEG code (str)
        -> :class:`Label` (or its name). Or a preset name from
        :data:`LABEL_PRESETS` (``"wallthick"``, ``"totalsegmentator"``).

    Examples
    --------
    >>> LabelMapSegmenter("seg.nii.gz", mapping="totalsegmentator").name
    'labelmap'
    """

    path: str | os.PathLike[str]
    mapping: Mapping[Any, Any] | str = "wallthick"
    name: str = field(default="labelmap", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.path, str | os.PathLike):
            raise TypeError(f"Argument 'path' must be a path, got {type(self.path).__name__}.")
        _resolve_mapping(self.mapping)  # validate early

    def segment(self, image: ImageVolume) -> LabelVolume:
        """Read, relabel and resample the label map onto ``image``'s grid.

        Raises
        ------
        SegmentationError
            The map cannot be read, has no LV myocardium or cavity under the
            mapping, or does not overlap the image in patient space (the
            messages name the label map and the image).
        """
        path = Path(self.path)
        source = read_label_map(path, self.mapping)
        array = resample_labels(source, image.geometry)
        _check_overlap(source, array, image, path)
        present = sorted(Label(int(v)).name for v in np.unique(array) if v)
        meta = {"segmenter": self.name, "source_path": str(path), "labels_present": present}
        return LabelVolume.from_geometry(array, image.geometry, meta)


def read_label_map(
    path: str | os.PathLike[str], mapping: Mapping[Any, Any] | str = "wallthick"
) -> LabelVolume:
    """A label map file, DICOM SEG or mask folder as wallthick labels on its own grid.

    Parameters
    ----------
    path : path
        NIfTI/NRRD/MHA label image, DICOM SEG, or a folder of one-structure
        masks (``heart_myocardium.nii.gz``, ...).
    mapping : mapping or str
        See :class:`LabelMapSegmenter`.

    Returns
    -------
    LabelVolume
        ``uint8`` :class:`Label` values; ``metadata["unmapped"]`` lists the
        source values/segments/files that the mapping does not know (each
        also reported by a ``UserWarning``).

    Raises
    ------
    SegmentationError
        Not found, unreadable, or no LV myocardium / LV cavity under the mapping.
    """
    p = Path(path)
    if not p.exists():
        raise SegmentationError(f"{p}: label map not found.")
    table = _resolve_mapping(mapping)
    if p.is_dir():
        labels, found = _read_mask_folder(p, table)
    elif _is_dicom(p):
        labels, found = _read_dicom_seg(p, table)
    else:
        labels, found = _relabel_values(_read_sitk(p), table)
    unmapped = [key for key, label in found if label is None]
    if unmapped:
        warnings.warn(
            f"{p}: {_kind(p)} {', '.join(map(str, unmapped))} not in the label mapping "
            f"{_mapping_name(mapping)}; read as background.",
            UserWarning,
            stacklevel=2,
        )
    _check_needed(labels, p, mapping, [key for key, _ in found])
    return LabelVolume.from_geometry(
        labels.array, labels.geometry, {"unmapped": [str(u) for u in unmapped]}
    )


def _kind(path: Path) -> str:
    if path.is_dir():
        return "mask files"
    return "segments" if _is_dicom(path) else "values"


def _lookup(table: Mapping[int | str, Label], key: int | str) -> Label | None:
    return table.get(key if isinstance(key, int) else _norm(key))


#: What a reader found: each source value / mask file / segment and its label
#: under the mapping (None: not in the mapping).
_Found = list[tuple[Any, Label | None]]


def _check_needed(
    labels: LabelVolume, path: Path, mapping: Mapping[Any, Any] | str, found: list[Any]
) -> None:
    present = set(np.unique(labels.array).tolist())
    missing = [lab.name for lab in _NEEDED if int(lab) not in present]
    if missing:
        shown = ", ".join(map(str, found[:12])) or "none"
        raise SegmentationError(
            f"{path}: no {' and no '.join(missing)} under the label mapping "
            f"{_mapping_name(mapping)} (found {_kind(path)}: {shown}). Give the mapping that "
            "names the LV myocardium and cavity (--label-mapping totalsegmentator, wallthick "
            "or a JSON file)."
        )


def _check_overlap(source: LabelVolume, array: np.ndarray, image: ImageVolume, path: Path) -> None:
    """The map's myocardium must land on the image: a map of another scan does not."""
    myo = int(Label.LV_MYOCARDIUM)
    src_ml = np.count_nonzero(source.array == myo) * source.geometry.voxel_volume_mm3
    on_image = np.count_nonzero(array == myo) * image.geometry.voxel_volume_mm3
    fraction = on_image / src_ml if src_ml else 0.0
    if fraction >= 0.5:
        return
    name = image.metadata.get("source_path") or "the image"
    lo, hi = _world_box(source.geometry)
    ilo, ihi = _world_box(image.geometry)
    raise SegmentationError(
        f"{path} does not overlap {name} in patient space: {100 * fraction:.0f} % of its LV "
        f"myocardium lies inside the image (label map LPS {_box(lo, hi)} mm, image "
        f"{_box(ilo, ihi)} mm). Was the label map made on this series?"
    )


def _world_box(geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(geometry.shape) - 1
    corners = np.array([[a, b, c] for a in (0, n[0]) for b in (0, n[1]) for c in (0, n[2])])
    world = geometry.index_to_world(corners)
    return world.min(axis=0), world.max(axis=0)


def _box(lo: np.ndarray, hi: np.ndarray) -> str:
    return "x".join(f"[{a:.0f}, {b:.0f}]" for a, b in zip(lo, hi, strict=True))


def _is_dicom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(132)[128:132] == b"DICM"


def _read_sitk(path: Path) -> LabelVolume:
    import SimpleITK as sitk

    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise SegmentationError(f"{path}: cannot read the label map ({_first_line(exc)}).") from exc
    if img.GetDimension() != 3 or img.GetNumberOfComponentsPerPixel() != 1:
        raise SegmentationError(f"{path}: a label map must be a 3-D scalar image.")
    if _is_float(img):
        img = sitk.Cast(sitk.Round(img), sitk.sitkInt32)
    return LabelVolume.from_sitk(img)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _is_float(img: Any) -> bool:
    import SimpleITK as sitk

    return bool(img.GetPixelID() in (sitk.sitkFloat32, sitk.sitkFloat64))


def _relabel(src: np.ndarray, lut: Mapping[int, Label]) -> npt.NDArray[np.uint8]:
    out = np.zeros(src.shape, np.uint8)
    for value, label in lut.items():
        if label != Label.BACKGROUND:
            out[src == value] = int(label)
    return out


def _relabel_values(
    vol: LabelVolume, table: Mapping[int | str, Label]
) -> tuple[LabelVolume, _Found]:
    found: _Found = [(int(v), table.get(int(v))) for v in np.unique(vol.array) if v != 0]
    lut = {v: lab for v, lab in found if lab is not None}
    return LabelVolume.from_geometry(_relabel(vol.array, lut), vol.geometry), found


def _read_mask_folder(path: Path, table: Mapping[int | str, Label]) -> tuple[LabelVolume, _Found]:
    out: npt.NDArray[np.uint8] | None = None
    geometry: Geometry | None = None
    found: _Found = []
    for f in sorted(path.iterdir()):
        if not f.is_file() or not f.name.lower().endswith(LABEL_FILE_SUFFIXES):
            continue
        stem = f.name[: -len(next(s for s in LABEL_FILE_SUFFIXES if f.name.lower().endswith(s)))]
        label = table.get(_norm(stem))
        found.append((stem, label))
        if label is None or label == Label.BACKGROUND:
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
        names = sorted(k for k, v in table.items() if isinstance(k, str) and ":" not in k and v)
        raise SegmentationError(
            f"{path}: no mask file named after a mapped structure "
            f"(expected e.g. {', '.join(n + '.nii.gz' for n in names[:4])}; "
            f"found {', '.join(str(k) for k, _ in found[:8]) or 'no label files'})."
        )
    return LabelVolume.from_geometry(out, geometry), found


def _read_dicom_seg(path: Path, table: Mapping[int | str, Label]) -> tuple[LabelVolume, _Found]:
    from wallthick.io.seg import read_dicom_seg

    seg = read_dicom_seg(path)
    lut: dict[int, Label] = {}
    found: _Found = []
    for s in seg.segments:
        keys: list[int | str] = [s.label, s.property_type, s.number]
        label = next((lab for k in keys if k and (lab := _lookup(table, k)) is not None), None)
        found.append((f"{s.number} ({s.label or s.property_meaning})", label))
        if label is not None:
            lut[s.number] = label
    array = _relabel(seg.labels.array, lut)
    return LabelVolume.from_geometry(array, seg.labels.geometry), found


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
