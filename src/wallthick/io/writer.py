"""Write an :class:`~wallthick.volume.ImageVolume` as a CT Image Storage series.

One file per slice, geometry taken from the volume's affine: slice ``k`` sits at
``origin_mm + direction[:, 0] * spacing_mm[0] * k``; the DICOM row direction
(along a row, increasing column index) is ``direction[:, 2]`` and the column
direction is ``direction[:, 1]``. Voxel values (HU) are stored as signed 16-bit
integers with a RescaleSlope/RescaleIntercept chosen so that integer HU in the
int16 range round-trip exactly.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)
from pydicom.valuerep import format_number_as_ds

from wallthick.errors import MissingDependencyError
from wallthick.volume import ImageVolume

__all__ = ["write_dicom_series", "TRANSFER_SYNTAXES", "INFO_KEYS"]

logger = logging.getLogger(__name__)

#: Names accepted by ``write_dicom_series(transfer_syntax=...)``.
TRANSFER_SYNTAXES: dict[str, UID] = {
    "explicit-little": ExplicitVRLittleEndian,
    "implicit-little": ImplicitVRLittleEndian,
    "deflate": DeflatedExplicitVRLittleEndian,
    "jpeg2000-lossless": JPEG2000Lossless,
    "jpeg-ls-lossless": JPEGLSLossless,
    "rle": RLELossless,
}

_COMPRESSED = {JPEG2000Lossless, JPEGLSLossless, RLELossless}

#: ``info`` key -> DICOM keyword.
INFO_KEYS: dict[str, str] = {
    "patient_id": "PatientID",
    "patient_name": "PatientName",
    "patient_birth_date": "PatientBirthDate",
    "patient_sex": "PatientSex",
    "study_instance_uid": "StudyInstanceUID",
    "series_instance_uid": "SeriesInstanceUID",
    "frame_of_reference_uid": "FrameOfReferenceUID",
    "study_date": "StudyDate",
    "study_time": "StudyTime",
    "study_id": "StudyID",
    "study_description": "StudyDescription",
    "series_description": "SeriesDescription",
    "series_number": "SeriesNumber",
    "accession_number": "AccessionNumber",
    "accession": "AccessionNumber",
    "manufacturer": "Manufacturer",
    "institution_name": "InstitutionName",
    "phase_percent": "NominalPercentageOfCardiacPhase",
    "trigger_time_ms": "TriggerTime",
}

FileNaming = Literal["uid", "instance"]


@dataclass(frozen=True)
class _Storage:
    slope: float
    intercept: float

    def to_int16(self, plane: np.ndarray) -> npt.NDArray[np.int16]:
        if self.slope == 1.0 and self.intercept == 0.0:
            if plane.dtype == np.int16:
                return plane
            values = np.rint(plane) if plane.dtype.kind == "f" else plane
        else:
            values = np.rint((plane.astype(np.float64) - self.intercept) / self.slope)
        return np.clip(values, -32768, 32767).astype(np.int16)


def write_dicom_series(
    image: ImageVolume,
    out_dir: str | os.PathLike[str],
    *,
    info: Mapping[str, str | int | float] | None = None,
    transfer_syntax: str = "explicit-little",
    file_names: FileNaming = "uid",
    start_instance: int = 1,
    slice_thickness_mm: float | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``image`` as a CT Image Storage series, one file per slice.

    Parameters
    ----------
    image : ImageVolume
        Values in HU, axes ``(slice, row, column)``; any orientation.
    out_dir : path
        Folder to write into (created when missing).
    info : mapping, optional
        Patient/study/series attributes; keys from :data:`INFO_KEYS` (e.g.
        ``patient_id``, ``study_instance_uid``, ``series_description``,
        ``phase_percent``). Missing UIDs are generated, a missing date/time is
        the current UTC time.
    transfer_syntax : str
        One of :data:`TRANSFER_SYNTAXES` (``"explicit-little"``,
        ``"implicit-little"``, ``"deflate"``, ``"jpeg2000-lossless"``,
        ``"jpeg-ls-lossless"``, ``"rle"``).
    file_names : {"uid", "instance"}
        ``"uid"`` names files ``<SOPInstanceUID>.dcm``; ``"instance"`` names
        them ``IM<InstanceNumber:05d>.dcm``.
    start_instance : int
        InstanceNumber of the first slice (slice index 0).
    slice_thickness_mm : float, optional
        SliceThickness; defaults to the slice spacing.
    overwrite : bool
        Replace existing files of the same name instead of refusing.

    Returns
    -------
    list of Path
        The files written, in slice-index order.

    Raises
    ------
    ValueError, TypeError
        Bad arguments (unknown ``info`` key or transfer syntax, non-finite
        voxels, ...).
    FileExistsError
        A target file exists and ``overwrite`` is false.
    MissingDependencyError
        The encoder for a compressed transfer syntax is not installed.

    Examples
    --------
    >>> import tempfile
    >>> from wallthick.io import discover_series, load_series
    >>> axial = np.eye(3)[:, ::-1]  # slices along S, rows along P, columns along L
    >>> vol = ImageVolume(np.arange(48.0).reshape(3, 4, 4), (2.5, 0.5, 0.5), (0, 0, 0), axial)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_dicom_series(vol, folder, info={"phase_percent": 75})
    ...     back = load_series(discover_series(folder)[0])
    >>> len(paths), back.metadata["phase"], bool((back.array == vol.array).all())
    (3, '75%', True)
    """
    if not isinstance(image, ImageVolume):
        raise TypeError(f"Argument 'image' must be an ImageVolume, got {type(image).__name__}.")
    if transfer_syntax not in TRANSFER_SYNTAXES:
        raise ValueError(
            f"Argument 'transfer_syntax' must be one of {sorted(TRANSFER_SYNTAXES)}, "
            f"got {transfer_syntax!r}."
        )
    if file_names not in ("uid", "instance"):
        raise ValueError(f"Argument 'file_names' must be 'uid' or 'instance', got {file_names!r}.")
    if not isinstance(start_instance, int) or start_instance < 0:
        raise ValueError(f"Argument 'start_instance' must be an int >= 0, got {start_instance!r}.")
    fields = _check_info(info or {})
    tsuid = TRANSFER_SYNTAXES[transfer_syntax]
    storage = _choose_storage(image.array)
    thickness = float(image.spacing_mm[0] if slice_thickness_mm is None else slice_thickness_mm)
    if not thickness > 0:
        raise ValueError(f"Argument 'slice_thickness_mm' must be > 0, got {slice_thickness_mm!r}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    template = _template(image, fields, tsuid, storage, thickness)
    encode = _encoder(tsuid, image.array.shape[1:])
    planes = (storage.to_int16(image.array[k]) for k in range(image.array.shape[0]))
    # Encoders are called one frame at a time in this thread: the pydicom/openjpeg
    # encoders are neither faster nor safe when called from several threads.
    frames: Iterator[np.ndarray | bytes] = planes if encode is None else map(encode, planes)
    paths = [
        _write_slice(template, image, k, frame, out, file_names, start_instance, overwrite)
        for k, frame in enumerate(frames)
    ]
    logger.info("wrote %d slices (%s) to %s", len(paths), tsuid.name, out)
    return paths


def _check_info(info: Mapping[str, Any]) -> dict[str, str]:
    unknown = sorted(set(info) - set(INFO_KEYS))
    if unknown:
        raise ValueError(
            f"Argument 'info' has unknown keys {unknown}; expected some of {sorted(INFO_KEYS)}."
        )
    fields = {INFO_KEYS[k]: str(v) for k, v in info.items() if v is not None}
    for key in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        if key in fields and not UID(fields[key]).is_valid:
            raise ValueError(f"Argument 'info' has an invalid UID for {key}: {fields[key]!r}.")
    return fields


def _choose_storage(array: np.ndarray) -> _Storage:
    if array.dtype.kind not in "biuf":
        raise TypeError(f"ImageVolume values must be numeric, got dtype {array.dtype}.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("ImageVolume values must be finite to be written as DICOM.")
    lo, hi = float(array.min()), float(array.max())
    if lo >= -32768 and hi <= 32767:
        return _Storage(1.0, 0.0)
    slope = float(format_number_as_ds(max((hi - lo) / 65000.0, 1e-6)))
    intercept = float(format_number_as_ds((lo + hi) / 2.0))
    logger.warning(
        "values span %.6g..%.6g, beyond int16: storing with RescaleSlope %g", lo, hi, slope
    )
    return _Storage(slope, intercept)


def _ds(value: float) -> str:
    return format_number_as_ds(float(value) + 0.0)  # + 0.0 turns -0.0 into 0.0


def _now() -> tuple[str, str]:
    now = _dt.datetime.now(_dt.UTC)
    return now.strftime("%Y%m%d"), now.strftime("%H%M%S")


def _template(
    image: ImageVolume,
    fields: Mapping[str, str],
    tsuid: UID,
    storage: _Storage,
    thickness: float,
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.TransferSyntaxUID = tsuid
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    date, time = _now()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.PatientName = fields.get("PatientName", "Anonymous^")  # family name only (PS3.5 6.2.1.2)
    ds.PatientID = fields.get("PatientID", "ANONYMOUS")
    ds.PatientBirthDate = fields.get("PatientBirthDate", "")
    ds.PatientSex = fields.get("PatientSex", "")
    ds.StudyInstanceUID = fields.get("StudyInstanceUID") or generate_uid()
    ds.SeriesInstanceUID = fields.get("SeriesInstanceUID") or generate_uid()
    ds.FrameOfReferenceUID = fields.get("FrameOfReferenceUID") or generate_uid()
    ds.StudyDate = fields.get("StudyDate", date)
    ds.StudyTime = fields.get("StudyTime", time)
    ds.SeriesDate = ds.StudyDate
    ds.SeriesTime = ds.StudyTime
    ds.StudyID = fields.get("StudyID", "1")
    ds.AccessionNumber = fields.get("AccessionNumber", "")
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = fields.get("StudyDescription", "")
    ds.SeriesDescription = fields.get("SeriesDescription", "wallthick CT")
    ds.SeriesNumber = fields.get("SeriesNumber", "1")
    ds.Manufacturer = fields.get("Manufacturer", "wallthick")
    if "InstitutionName" in fields:
        ds.InstitutionName = fields["InstitutionName"]
    if "NominalPercentageOfCardiacPhase" in fields:
        ds.NominalPercentageOfCardiacPhase = float(fields["NominalPercentageOfCardiacPhase"])
    if "TriggerTime" in fields:
        ds.TriggerTime = _ds(float(fields["TriggerTime"]))
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    # an unpaired body part: Laterality (0020,0060, Type 2C) is then rightly absent
    ds.BodyPartExamined = "HEART"
    ds.KVP = "120"
    ds.AcquisitionNumber = "1"
    ds.ImageOrientationPatient = [_ds(v) for v in (*image.direction[:, 2], *image.direction[:, 1])]
    ds.PixelSpacing = [_ds(image.spacing_mm[1]), _ds(image.spacing_mm[2])]
    ds.SliceThickness = _ds(thickness)
    ds.SpacingBetweenSlices = _ds(image.spacing_mm[0])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(n) for n in image.array.shape[1:])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = _ds(storage.intercept)
    ds.RescaleSlope = _ds(storage.slope)
    ds.RescaleType = "HU"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    return ds


def _encoder(tsuid: UID, shape: tuple[int, ...]) -> Callable[[np.ndarray], bytes] | None:
    if tsuid not in _COMPRESSED:
        return None
    from pydicom.pixels import get_encoder

    encoder = get_encoder(tsuid)
    if not encoder.is_available:
        package = {JPEG2000Lossless: "pylibjpeg-openjpeg", JPEGLSLossless: "pyjpegls"}
        raise MissingDependencyError(f"Writing {tsuid.name}", package.get(tsuid, "pylibjpeg-rle"))
    rows, cols = shape
    if tsuid == JPEG2000Lossless and min(rows, cols) < 32:
        raise ValueError(
            f"JPEG 2000 encoding needs at least 32x32 pixels per slice, got {rows}x{cols}."
        )
    opts: dict[str, Any] = dict(
        rows=rows,
        columns=cols,
        samples_per_pixel=1,
        number_of_frames=1,
        bits_allocated=16,
        bits_stored=16,
        pixel_representation=1,
        photometric_interpretation="MONOCHROME2",
    )

    def encode(plane: np.ndarray) -> bytes:
        return bytes(encoder.encode(np.ascontiguousarray(plane), validate=False, **opts))

    return encode


def _write_slice(
    template: Dataset,
    image: ImageVolume,
    k: int,
    frame: np.ndarray | bytes,
    out: Path,
    file_names: FileNaming,
    start_instance: int,
    overwrite: bool,
) -> Path:
    ds = template
    sop_uid = generate_uid()
    position = image.origin_mm + image.direction[:, 0] * image.spacing_mm[0] * k
    normal = np.cross(image.direction[:, 2], image.direction[:, 1])
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = str(start_instance + k)
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.SliceLocation = _ds(float(position @ normal))
    if isinstance(frame, bytes):
        ds.PixelData = encapsulate([frame])
        elem = ds["PixelData"]
        elem.VR = "OB"
        elem.is_undefined_length = True
    else:
        ds.PixelData = frame.astype("<i2", copy=False).tobytes()
        ds["PixelData"].VR = "OW"
    name = f"{sop_uid}.dcm" if file_names == "uid" else f"IM{start_instance + k:05d}.dcm"
    path = out / name
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path
