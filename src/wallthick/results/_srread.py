"""Reading wallthick DICOM SRs (TID 1500) back into :class:`Measurement` objects.

The layout read here is the one :mod:`wallthick.results.dicomsr` writes; reports
from other tools, broken files and non-SR objects are refused with a
:class:`~wallthick.errors.WallthickError` that names the file.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

from wallthick.errors import WallthickError
from wallthick.labels import LABEL_SNOMED_CODES, Label
from wallthick.measure.result import (
    AHA_SEGMENTS,
    MISSING_VALUE,
    Measurement,
    SegmentStats,
    SeriesInfo,
)
from wallthick.results.dicomsr import (
    AHA_SEGMENT_CODES,
    POSTERIOR_MODIFIER,
    QC_CONCEPT,
    REGIONS,
    SEPTUM_CODE,
    myocardium_code,
)

__all__ = ["read_sr_measurements"]

_SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_REPORT_TITLE = "126000"  # Imaging Measurement Report (TID 1500)
_GROUP = "125007"  # Measurement Group
_ALGORITHM_NAME = "111001"
_ALGORITHM_VERSION = "111003"
_ALGORITHM_PARAMETERS = "111002"
_FINDING_SITE = "363698007"
_TOPOGRAPHICAL_MODIFIER = "106233006"
_SOURCE_SERIES = "121232"
_UPPER_UNCERTAINTY = "371886008"
_STANDARD_DEVIATION = "386136009"
_THICKNESS, _VOLUME, _MASS = "122445", "118565006", "118538004"


def read_sr_measurements(path_or_folder: str | os.PathLike[str]) -> list[Measurement]:
    """See :func:`wallthick.results.dicomsr.load_measurements_from_sr`."""
    p = Path(path_or_folder)
    if p.is_dir():
        files = [f for f in sorted(p.rglob("*")) if f.is_file() and _is_sr_file(f)]
        if not files:
            raise WallthickError(f"{p}: no DICOM SR found in this folder.")
    elif p.is_file():
        files = [p]
    else:
        raise FileNotFoundError(f"{p}: DICOM SR file or folder not found.")
    return [_read_sr(f) for f in files]


def _is_sr_file(path: Path) -> bool:
    """Cheap test (header only) of whether ``path`` is a DICOM SR."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception:  # any unreadable file is simply not an SR here
        return False
    return str(ds.get("SOPClassUID", "")).startswith(_SR_CLASS_PREFIX)


def _read_sr(path: Path) -> Measurement:
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # pydicom only warns about a truncated element
            ds = pydicom.dcmread(path)
            sop_class = str(ds.get("SOPClassUID", ""))
            if sop_class.startswith(_SR_CLASS_PREFIX):
                ds.walk(lambda _ds, _elem: None)  # parse the whole tree now
    except Exception as exc:  # pydicom raises many types for a broken file
        raise WallthickError(
            f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})."
        ) from exc
    if not sop_class.startswith(_SR_CLASS_PREFIX):
        name = getattr(pydicom.uid.UID(sop_class), "name", "") if sop_class else "no SOP class"
        raise WallthickError(f"{path}: not a DICOM Structured Report ({name or sop_class}).")
    try:
        return _measurement(ds)
    except WallthickError as exc:
        raise WallthickError(f"{path}: {exc}") from None
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise WallthickError(
            f"{path}: malformed wallthick measurement report ({type(exc).__name__}: {exc})."
        ) from exc


def _concept(item: Any) -> str:
    seq = item.get("ConceptNameCodeSequence") or []
    return str(seq[0].CodeValue) if seq else ""


def _children(item: Any) -> list[Any]:
    return list(item.get("ContentSequence") or [])


def _measurement(ds: Any) -> Measurement:
    if _concept(ds) != _REPORT_TITLE:
        raise WallthickError("not a TID 1500 measurement report (an SR from another tool?).")
    groups = [
        g
        for container in _children(ds)
        for g in _children(container)
        if _concept(g) == _GROUP and _text(g, _ALGORITHM_NAME) == "wallthick"
    ]
    regions = {_region(g): g for g in groups}
    regions.pop("", None)
    if not regions:
        raise WallthickError(
            "holds no wallthick wall-thickness measurements (an SR from another tool?)."
        )
    missing = [r for r in REGIONS if r not in regions]
    if missing:
        raise WallthickError(
            f"incomplete wallthick report (a truncated file?): no measurement group for "
            f"{', '.join(missing)}."
        )
    return _build(ds, regions)


def _text(group: Any, concept: str) -> str:
    for item in _children(group):
        if _concept(item) == concept and item.get("ValueType") == "TEXT":
            return str(item.TextValue)
    return ""


def _texts(group: Any, concept: str) -> list[str]:
    return [str(i.TextValue) for i in _walk(group) if _concept(i) == concept and "TextValue" in i]


def _walk(item: Any) -> list[Any]:
    out = []
    for child in _children(item):
        out += [child, *_walk(child)]
    return out


def _region(group: Any) -> str:
    sites = [i for i in _children(group) if _concept(i) == _FINDING_SITE]
    if len(sites) != 1:
        return ""
    code = str(sites[0].ConceptCodeSequence[0].CodeValue)
    modifiers = {
        str(m.ConceptCodeSequence[0].CodeValue)
        for m in _children(sites[0])
        if _concept(m) == _TOPOGRAPHICAL_MODIFIER
    }
    by_code = {v[0]: f"aha_{k}" for k, v in AHA_SEGMENT_CODES.items()}
    by_code[SEPTUM_CODE[0]] = "septal"
    by_code[LABEL_SNOMED_CODES[Label.LV_BLOOD_POOL][0]] = "cavity"
    if code == myocardium_code()[0]:
        return "posterior" if POSTERIOR_MODIFIER[0] in modifiers else "myocardium"
    return by_code.get(code, "")


def _value(group: Any, concept: str) -> tuple[float, float, float]:
    """(value, uncertainty, standard deviation) of the group's NUM item ``concept``."""
    for item in _children(group):
        if _concept(item) == concept and item.get("ValueType") == "NUM":
            props = {
                _concept(c): _number(c) for c in _children(item) if c.get("ValueType") == "NUM"
            }
            return (
                _number(item),
                props.get(_UPPER_UNCERTAINTY, math.nan),
                props.get(_STANDARD_DEVIATION, math.nan),
            )
    return math.nan, math.nan, math.nan


def _number(item: Any) -> float:
    seq = item.get("MeasuredValueSequence") or []
    if not seq:
        return math.nan
    if "FloatingPointValue" in seq[0]:
        return float(seq[0].FloatingPointValue)
    return float(seq[0].NumericValue)


def _build(ds: Any, regions: dict[str, Any]) -> Measurement:
    septal, septal_u, _ = _value(regions["septal"], _THICKNESS)
    posterior, posterior_u, _ = _value(regions["posterior"], _THICKNESS)
    segments = []
    for i in AHA_SEGMENTS:
        if f"aha_{i}" in regions:
            mean, u, std = _value(regions[f"aha_{i}"], _THICKNESS)
            segments.append(SegmentStats(i, mean, math.nan, math.nan, std, 0, u))
    first = regions["septal"]
    params = dict(p.partition("=")[::2] for p in _texts(first, _ALGORITHM_PARAMETERS))
    criteria = tuple(
        str(i.ConceptCodeSequence[0].CodeMeaning)
        for i in _children(first)
        if _concept(i) == QC_CONCEPT[0] and "ConceptCodeSequence" in i
    )
    series = SeriesInfo(
        patient_id=str(ds.get("PatientID", "") or ""),
        study_date=str(ds.get("StudyDate", "") or ""),
        study_time=str(ds.get("StudyTime", "") or ""),
        study_instance_uid=str(ds.get("StudyInstanceUID", "") or ""),
        series_instance_uid=next(iter(_uidrefs(first, _SOURCE_SERIES)), ""),
    )
    return Measurement(
        septal_thickness_mm=septal,
        septal_uncertainty_mm=septal_u,
        posterior_wall_thickness_mm=posterior,
        posterior_uncertainty_mm=posterior_u,
        segments=tuple(segments),
        lv_cavity_volume_ml=_value(regions["cavity"], _VOLUME)[0]
        if "cavity" in regions
        else math.nan,
        lv_mass_g=_value(regions["myocardium"], _MASS)[0] if "myocardium" in regions else math.nan,
        qc_flags=tuple(c for c in criteria if c != MISSING_VALUE),
        phase=params.get("phase", ""),
        segmentation_source=params.get("segmentation_source", "auto"),
        segmenter=params.get("segmenter", ""),
        series=series,
        wallthick_version=_text(first, _ALGORITHM_VERSION) or "",
    )


def _uidrefs(group: Any, concept: str) -> list[str]:
    return [str(i.UID) for i in _walk(group) if _concept(i) == concept and "UID" in i]
