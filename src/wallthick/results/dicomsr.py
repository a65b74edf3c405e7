"""Measurements as a DICOM Structured Report (TID 1500), written beside the SEG.

One ``Comprehensive3DSR`` per measured series holds a TID 1500 Measurement
Report with one TID 1411 volumetric measurement group per region:

=====================  ==============================  ========  ===================
region                 finding site                    segment   measurements
=====================  ==============================  ========  ===================
septal wall            Interventricular septum         2         wall thickness
posterior wall         LV myocardium, Posterior        2         wall thickness
AHA segment 1-17       CID 3717 segment                2         wall thickness
LV myocardium          LV myocardium                   2         mass
LV cavity              Left ventricle                  1         volume
=====================  ==============================  ========  ===================

Every group references the SEG's segment and the source CT series, names the
algorithm (wallthick, version, segmenter) and carries a tracking identifier
derived from a hash of the patient and the region, so the same region of the
same patient keeps its UID across time points. Thicknesses carry their 1-sigma
uncertainty as upper/lower measurement uncertainty (mm); AHA segments carry the
spread of the thickness over the segment as a standard deviation. A value that
was not measured has no numeric item: the group says "<quantity>: Value
unknown" (DCM 114010) as a qualitative evaluation, never a number (an empty
measured value sequence would be legal DICOM but highdicom 0.28 cannot read it
back). Failed QC criteria are
qualitative evaluations in the private scheme ``99WALLTHICK``.

:func:`load_measurements_from_sr` reads such reports back.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wallthick._version import __version__
from wallthick.errors import InvalidSeriesError
from wallthick.labels import LABEL_SNOMED_CODES, Label
from wallthick.measure.result import (
    AHA_SEGMENTS,
    Measurement,
    SegmentStats,
)

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset

__all__ = ["SRContext", "load_measurements_from_sr", "tracking_uid", "write_measurement_sr"]

logger = logging.getLogger(__name__)

#: Private coding scheme of the QC criteria (qualitative evaluations).
QC_SCHEME = "99WALLTHICK"
QC_CONCEPT = ("QC-FAILED", "Quality control criterion failed")

#: AHA segment -> SNOMED CT code of DICOM CID 3717 (17-segment model).
AHA_SEGMENT_CODES: dict[int, tuple[str, str]] = {
    1: ("264850008", "left ventricle basal anterior segment"),
    2: ("396482007", "left ventricle basal anteroseptal segment"),
    3: ("396646008", "left ventricle basal inferoseptal segment"),
    4: ("264846001", "left ventricle basal inferior segment"),
    5: ("396652009", "left ventricle basal inferolateral segment"),
    6: ("396654005", "left ventricle basal anterolateral segment"),
    7: ("264848000", "left ventricle mid anterior segment"),
    8: ("396647004", "left ventricle mid anteroseptal segment"),
    9: ("396649001", "left ventricle mid inferoseptal segment"),
    10: ("264847005", "left ventricle mid inferior segment"),
    11: ("396655006", "left ventricle mid inferolateral segment"),
    12: ("396656007", "left ventricle mid anterolateral segment"),
    13: ("264844003", "left ventricle apical anterior segment"),
    14: ("264845002", "left ventricle apical septal segment"),
    15: ("264849008", "left ventricle apical inferior segment"),
    16: ("264853005", "left ventricle apical lateral segment"),
    17: ("128564006", "Apex of left ventricle"),
}
SEPTUM_CODE = ("589001", "Interventricular septum")
POSTERIOR_MODIFIER = ("255551008", "Posterior")
#: Region keys, in the order of the report.
REGIONS: tuple[str, ...] = (
    "septal",
    "posterior",
    *(f"aha_{i}" for i in AHA_SEGMENTS),
    "myocardium",
    "cavity",
)


@dataclass(frozen=True)
class SRContext:
    """What the report says beyond the numbers.

    Attributes
    ----------
    time_point : int
        Order of this study among the patient's studies (1 = baseline);
        0 when unknown (a single ``measure``): no time point context is written.
    observer_name : str
        The person who corrected the segmentation (empty: automatic only).
    """

    time_point: int = 0
    observer_name: str = ""


def tracking_uid(patient_key: str, region: str) -> str:
    """A UID stable for one patient and region, from a hash (no identifier in clear).

    Examples
    --------
    >>> tracking_uid("P1", "septal") == tracking_uid("P1", "septal")
    True
    >>> tracking_uid("P1", "septal") != tracking_uid("P2", "septal")
    True
    >>> tracking_uid("P1", "septal").startswith("2.25.")
    True
    """
    text = "\x00".join(("wallthick-tracking", patient_key, region))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16]
    return f"2.25.{int.from_bytes(digest, 'big')}"  # a UUID-sized integer, as in PS3.5 B.2


def region_label(region: str) -> str:
    """Human-readable name of a region key (the tracking identifier's text)."""
    names = {
        "septal": "septal wall",
        "posterior": "posterior wall",
        "myocardium": "LV myocardium",
        "cavity": "LV cavity",
    }
    return names.get(region) or f"AHA segment {region.split('_')[1]}"


def write_measurement_sr(
    measurement: Measurement,
    seg_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    context: SRContext | None = None,
) -> None:
    """Write ``measurement`` as a DICOM SR (TID 1500) referencing the SEG and its CT series.

    The SR joins the SEG's study and patient; its evidence is the SEG (the one
    instance its content references); the CT series is referenced by its UID,
    read from the SEG.

    Parameters
    ----------
    measurement : Measurement
        The numbers (a ``qc_failed`` one too: its failed criteria are written).
    seg_path : path
        The DICOM SEG of the labels that were measured (segments 1 and 2 are
        referenced).
    out_path : path
        File to write (the caller makes the write atomic).
    context : SRContext, optional
        Time point and person observer.

    Raises
    ------
    InvalidSeriesError
        The SEG cannot be read or names no source series.
    """
    import pydicom

    context = context or SRContext()
    try:
        seg = pydicom.dcmread(seg_path, stop_before_pixels=True)
        series_uid = str(seg.ReferencedSeriesSequence[0].SeriesInstanceUID)
    except (OSError, pydicom.errors.InvalidDicomError, AttributeError, IndexError) as exc:
        raise InvalidSeriesError(
            f"{Path(seg_path).name}: cannot read the DICOM SEG and its source series "
            f"for the DICOM SR ({exc})."
        ) from exc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # highdicom's checks of the (untrusted) source tags
        sr = _sr(_report(measurement, series_uid, seg, context), [seg])
    for w in caught[:10]:
        logger.debug("highdicom: %s", w.message)
    sr.save_as(Path(out_path))


def _sr(report: Any, evidence: list[Dataset]) -> Any:
    import highdicom as hd

    return hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=hd.UID(),
        series_number=9010,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="wallthick",
        is_complete=True,
        is_final=False,
        is_verified=False,
        series_description="wallthick measurements",
    )


def finite(value: float) -> bool:
    """``value`` is a number that was measured (not NaN or infinite)."""
    return isinstance(value, (int, float)) and math.isfinite(value)


def segment_of(measurement: Measurement, number: int) -> SegmentStats | None:
    """The statistics of AHA segment ``number``, or None if the measurement has none."""
    for s in measurement.segments:
        if s.segment == number:
            return s
    return None


def myocardium_code() -> tuple[str, str]:
    """SNOMED CT (code, meaning) of the LV myocardium."""
    return LABEL_SNOMED_CODES[Label.LV_MYOCARDIUM]


# -- building the report -------------------------------------------------------------
def _code(value: str, scheme: str, meaning: str) -> Any:
    import highdicom as hd

    return hd.sr.CodedConcept(value, scheme, meaning)


def _report(measurement: Measurement, series_uid: str, seg: Dataset, context: SRContext) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    common = _GroupCommon(
        patient_key=_patient_key(measurement, seg, series_uid),
        seg=seg,
        series_uid=series_uid,
        algorithm=_algorithm(measurement),
        time_point=_time_point(context.time_point),
        qc=_qc_evaluations(measurement.failed_criteria),
    )
    groups = [_group(region, measurement, common) for region in REGIONS]
    return hd.sr.MeasurementReport(
        observation_context=_observation_context(context),
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=groups,
    )


@dataclass(frozen=True)
class _GroupCommon:
    """What every measurement group of one report shares."""

    patient_key: str
    seg: Any
    series_uid: str
    algorithm: Any
    time_point: Any
    qc: list[Any]


def _patient_key(measurement: Measurement, seg: Dataset, series_uid: str) -> str:
    """Whom the tracking UIDs follow: the patient (hashed later), else the series."""
    pid = str(measurement.series.patient_id or seg.get("PatientID", "") or "")
    return f"patient:{pid}" if pid else f"series:{series_uid}"


def _algorithm(measurement: Measurement) -> Any:
    import highdicom as hd

    params = [
        f"segmenter={measurement.segmenter}",
        f"segmentation_source={measurement.segmentation_source}",
    ]
    if measurement.phase:
        params.append(f"phase={measurement.phase}")
    return hd.sr.AlgorithmIdentification(
        name="wallthick", version=measurement.wallthick_version or __version__, parameters=params
    )


def _time_point(order: int) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if order < 1:
        return None
    if order == 1:
        return hd.sr.TimePointContext(
            time_point="baseline", time_point_type=codes.UMLS.Baseline, time_point_order=1
        )
    return hd.sr.TimePointContext(time_point=f"follow-up {order - 1}", time_point_order=order)


def _qc_evaluations(criteria: Sequence[str]) -> list[Any]:
    import highdicom as hd

    name = _code(QC_CONCEPT[0], QC_SCHEME, QC_CONCEPT[1])
    return [
        hd.sr.QualitativeEvaluation(name, _code(c[:16], QC_SCHEME, c[:64]))
        for c in criteria
        if c.strip()
    ]


def _observation_context(context: SRContext) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=tracking_uid("device", "wallthick"),
            name="wallthick",
            manufacturer_name="wallthick",
            model_name="wallthick",
        ),
    )
    person = None
    name = _person_name(context.observer_name)
    if name:
        person = hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=name),
        )
    return hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device)


def _person_name(text: str) -> str:
    """``text`` as a DICOM PN value: no backslash or control characters, <= 64 characters."""
    cleaned = "".join(c for c in text if c.isprintable() and c not in "\\=")
    return cleaned.strip()[:64]


def _group(region: str, m: Measurement, common: _GroupCommon) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    segment = Label.LV_BLOOD_POOL if region == "cavity" else Label.LV_MYOCARDIUM
    items = _measurements(region, m)
    referenced = hd.sr.ReferencedSegment(
        sop_class_uid=str(common.seg.SOPClassUID),
        sop_instance_uid=str(common.seg.SOPInstanceUID),
        segment_number=int(segment),
        source_series=hd.sr.SourceSeriesForSegmentation(common.series_uid),
    )
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=tracking_uid(common.patient_key, region), identifier=region_label(region)
        ),
        referenced_segment=referenced,
        time_point_context=common.time_point,
        finding_type=_finding_type(segment),
        algorithm_id=common.algorithm,
        finding_sites=[_finding_site(region)],
        measurements=[i for i in items if isinstance(i, hd.sr.Measurement)] or None,
        qualitative_evaluations=[
            *common.qc,
            *(i for i in items if isinstance(i, hd.sr.QualitativeEvaluation)),
        ]
        or None,
        finding_category=codes.SCT.AnatomicalStructure,
    )


def _finding_type(segment: Label) -> Any:
    value, meaning = LABEL_SNOMED_CODES[segment]
    return _code(value, "SCT", meaning)


def _finding_site(region: str) -> Any:
    import highdicom as hd

    if region == "septal":
        return hd.sr.FindingSite(_code(SEPTUM_CODE[0], "SCT", SEPTUM_CODE[1]))
    if region == "posterior":
        return hd.sr.FindingSite(
            _code(myocardium_code()[0], "SCT", myocardium_code()[1]),
            topographical_modifier=_code(POSTERIOR_MODIFIER[0], "SCT", POSTERIOR_MODIFIER[1]),
        )
    if region == "cavity":
        return hd.sr.FindingSite(_finding_type(Label.LV_BLOOD_POOL))
    if region == "myocardium":
        return hd.sr.FindingSite(_finding_type(Label.LV_MYOCARDIUM))
    value, meaning = AHA_SEGMENT_CODES[int(region.split("_")[1])]
    return hd.sr.FindingSite(_code(value, "SCT", meaning))


def _measurements(region: str, m: Measurement) -> list[Any]:
    from pydicom.sr.codedict import codes

    if region == "cavity":
        return [_num(codes.SCT.Volume, m.lv_cavity_volume_ml, _code("ml", "UCUM", "milliliter"))]
    if region == "myocardium":
        return [_num(codes.SCT.MassQuantity, m.lv_mass_g, _code("g", "UCUM", "gram"))]
    if region == "septal":
        return [_thickness(m.septal_thickness_mm, m.septal_uncertainty_mm)]
    if region == "posterior":
        return [_thickness(m.posterior_wall_thickness_mm, m.posterior_uncertainty_mm)]
    s = segment_of(m, int(region.split("_")[1]))
    if s is None:
        return [_thickness(math.nan, math.nan)]
    return [_thickness(s.mean_mm, s.uncertainty_mm, std_mm=s.std_mm, mean=True)]


def _thickness(
    value_mm: float, uncertainty_mm: float, *, std_mm: float = math.nan, mean: bool = False
) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if not finite(value_mm):
        return _num(codes.DCM.WallThickness, value_mm, codes.UCUM.Millimeter)
    props = hd.sr.MeasurementProperties(
        measurement_statistical_properties=_spread(std_mm) if finite(std_mm) else None
    )
    if finite(uncertainty_mm):
        for code, meaning in (("371886008", "+, range of upper measurement uncertainty"),
                              ("371885007", "-, range of lower measurement uncertainty")):  # fmt: skip
            props.append(
                hd.sr.NumContentItem(
                    _code(code, "SCT", meaning),
                    float(uncertainty_mm),
                    codes.UCUM.Millimeter,
                    relationship_type="HAS PROPERTIES",
                )
            )
    return hd.sr.Measurement(
        name=codes.DCM.WallThickness,
        value=float(value_mm),
        unit=codes.UCUM.Millimeter,
        derivation=codes.SCT.Mean if mean else None,
        properties=props if len(props) else None,
    )


def _spread(std_mm: float) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    item = hd.sr.NumContentItem(
        codes.SCT.StandardDeviation,
        float(std_mm),
        codes.UCUM.Millimeter,
        relationship_type="HAS PROPERTIES",
    )
    return hd.sr.MeasurementStatisticalProperties(
        values=[item], description="spread of the wall thickness over the segment"
    )


def _num(name: Any, value: float, unit: Any) -> Any:
    """A measurement; a value that was not measured becomes the qualitative
    evaluation '<name>: Value unknown' (DCM 114010) instead of a number."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if not finite(value):
        return hd.sr.QualitativeEvaluation(name, codes.DCM.ValueUnknown)
    return hd.sr.Measurement(name=name, value=float(value), unit=unit)


def load_measurements_from_sr(path_or_folder: str | os.PathLike[str]) -> list[Measurement]:
    """Measurements read back from wallthick DICOM SRs (a file, or a folder searched
    recursively, e.g. a results folder).

    Parameters
    ----------
    path_or_folder : path
        One SR file, or a folder: its DICOM SRs are read (other files are ignored).

    Returns
    -------
    list of Measurement
        One per SR, with the values, uncertainties, QC criteria, algorithm and
        the series/patient identification the report holds (no source path).

    Raises
    ------
    FileNotFoundError
        ``path_or_folder`` does not exist.
    WallthickError
        A file is not a readable DICOM SR, is not a TID 1500 report, or holds no
        wallthick measurements (an SR from another tool); a folder holds no SR.
        The message names the file.
    """
    from wallthick.results._srread import read_sr_measurements

    return read_sr_measurements(path_or_folder)
