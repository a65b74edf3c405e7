"""Reading DICOM headers defensively: every file is untrusted input.

``read_header(path)`` returns a :class:`Header` (what discovery and loading need,
including one :class:`PlaneRef` per image plane) or raises
:class:`~wallthick.errors.InvalidSeriesError` naming the file and the problem.
No pixel data is read here.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from wallthick.errors import InvalidSeriesError, WallthickError
from wallthick.io._fastheader import RawHeader, parse_header

__all__ = ["Header", "PlaneRef", "read_header", "read_full", "quiet", "phase_from_text", "guard"]

logger = logging.getLogger(__name__)

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2.1"
LEGACY_ENHANCED_CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2.2"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
IMAGE_SOP_CLASSES = {CT_IMAGE, ENHANCED_CT_IMAGE, LEGACY_ENHANCED_CT_IMAGE}
MULTIFRAME_SOP_CLASSES = {ENHANCED_CT_IMAGE, LEGACY_ENHANCED_CT_IMAGE}

#: Upper bound on frames in one file (a fuzzed header cannot make us loop for ever).
MAX_FRAMES = 65536
_MAX_TEXT = 128
_PIXEL_TAGS = (b"\xe0\x7f\x10\x00", b"\xe0\x7f\x08\x00", b"\xe0\x7f\x09\x00")
_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*%")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class PlaneRef:
    """One image plane: a single-frame file, or one frame of a multi-frame file."""

    path: Path
    frame: int | None
    position: tuple[float, float, float]
    slope: float
    intercept: float
    temporal_key: float | None = None
    percent: float | None = None


@dataclass(frozen=True)
class Header:
    """What wallthick needs from one file's header (no pixel data)."""

    path: Path
    sop_class_uid: str
    transfer_syntax: str
    modality: str
    image_type: tuple[str, ...]
    patient_id: str
    patient_name: str
    study_instance_uid: str
    series_instance_uid: str
    frame_of_reference_uid: str
    study_date: str
    study_time: str
    study_description: str
    series_description: str
    series_number: int | None
    accession_number: str
    manufacturer: str
    rows: int
    columns: int
    orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    slice_thickness: float | None
    phase_percent: float | None
    trigger_time_ms: float | None
    number_of_frames: int
    has_pixel_data: bool | None
    planes: tuple[PlaneRef, ...]
    geometry_problem: str | None


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence library warnings (pydicom's value checks) while reading untrusted files.

    They are logged at debug level; wallthick's own warnings are emitted after
    leaving this context.
    """
    library_logger = logging.getLogger("pydicom")
    level = library_logger.level
    library_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        library_logger.setLevel(level)
    for w in caught[:20]:
        logger.debug("library warning: %s", w.message)


@contextlib.contextmanager
def guard(
    path: Path | str, what: str, error: type[InvalidSeriesError] = InvalidSeriesError
) -> Iterator[None]:
    """Turn any library failure while doing ``what`` on ``path`` into ``error``."""
    try:
        yield
    except WallthickError:
        raise
    except MemoryError as exc:
        raise error(f"{path}: not enough memory to {what} (the header may be corrupt).") from exc
    except RecursionError as exc:
        raise error(f"{path}: cannot {what}: structure nested too deeply.") from exc
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        # untrusted input: any library error becomes ours. BaseException, not
        # Exception: decoders written in Rust (pylibjpeg-rle) raise PyO3's
        # PanicException, a BaseException, on corrupt data.
        raise error(f"{path}: cannot {what}: {type(exc).__name__}: {clean(str(exc), 200)}") from exc


def clean(text: str, limit: int = _MAX_TEXT) -> str:
    """Printable, bounded text from an untrusted string."""
    text = _CONTROL.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def phase_from_text(text: str) -> float | None:
    """A cardiac phase percentage written in a description ("BestDiast 75%", "70 %").

    >>> phase_from_text("BestDiast 75%"), phase_from_text("Cardiac 0.6 CE"), phase_from_text("150%")
    (75.0, None, None)
    """
    match = _PERCENT.search(text)
    if match is None:
        return None
    value = float(match.group(1))
    return value if 0.0 <= value <= 100.0 else None


def read_header(path: Path, allow_fast: bool = True) -> Header:
    """Read one file's header; raise InvalidSeriesError when it is not usable DICOM.

    Plain CT slices go through a minimal explicit-VR reader
    (:mod:`wallthick.io._fastheader`); everything else through pydicom.
    """
    fast = _read_fast(path) if allow_fast else None
    has_pixels: bool | None
    if fast is not None:
        source: Any = fast
        meta_sop, tsuid, has_pixels = (
            fast.media_sop_class,
            fast.transfer_syntax,
            fast.has_pixel_data,
        )
    else:
        source, has_pixels = _read_dataset(path)
        meta = getattr(source, "file_meta", None)
        meta_sop = _text(meta, "MediaStorageSOPClassUID") if meta is not None else ""
        tsuid = _text(meta, "TransferSyntaxUID") if meta is not None else ""
    with guard(path, "read its header"):
        return _header(path, source, has_pixels, meta_sop, tsuid)


_FAST_CHUNK = 64 * 1024
_MULTIFRAME_TAGS = (0x52009229, 0x52009230)


def _read_fast(path: Path) -> RawHeader | None:
    with guard(path, "read it"), open(path, "rb") as fh:
        buffer = fh.read(_FAST_CHUNK)
    raw = parse_header(buffer, complete=len(buffer) < _FAST_CHUNK)
    if raw is None or any(tag in raw.elements for tag in _MULTIFRAME_TAGS):
        return None
    frames = raw.get("NumberOfFrames")
    if frames not in (None, "", "1"):
        return None
    return raw


class BoundedReader:
    """A read-only file whose ``read(n)`` never asks for more than what is left.

    A corrupt length field (e.g. 0xFFFFFFF0) would otherwise make Python allocate
    a buffer of that size before finding the end of the file.
    """

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "rb")
        self._size = self._fh.seek(0, 2)
        self._fh.seek(0)
        self.name = str(path)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._fh.read()
        return self._fh.read(min(size, max(0, self._size - self._fh.tell())))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> BoundedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_full(path: Path) -> Dataset:
    """The whole dataset of ``path`` (pixel data included), read defensively."""
    with guard(path, "read it"):
        data = path.read_bytes()  # one read; BytesIO never over-allocates on bad lengths
        force = data[128:132] != b"DICM" and data[:2] in (b"\x08\x00", b"\x02\x00")
        return pydicom.dcmread(io.BytesIO(data), force=force)


def _read_dataset(path: Path) -> tuple[Dataset, bool | None]:
    with guard(path, "read it as DICOM"), BoundedReader(path) as fh:
        try:
            ds = pydicom.dcmread(fh, stop_before_pixels=True)  # type: ignore[arg-type]
        except InvalidDicomError as exc:
            fh.seek(0)
            start = fh.read(4)
            if start[:2] not in (b"\x08\x00", b"\x02\x00"):
                raise InvalidSeriesError(f"{path}: not a DICOM file.") from exc
            fh.seek(0)
            ds = pydicom.dcmread(fh, stop_before_pixels=True, force=True)  # type: ignore[arg-type]
        deflated = str(getattr(ds.file_meta, "TransferSyntaxUID", "")) == "1.2.840.10008.1.2.1.99"
        has_pixels = None if deflated else fh.read(4) in _PIXEL_TAGS
    return ds, has_pixels


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword, "")
        if value is None:
            return ""
        if isinstance(value, list | tuple | MultiValue):
            return clean("\\".join(str(v) for v in value)).strip()
        return clean(str(value)).strip()
    except Exception:
        return ""


def _number(ds: Dataset, keyword: str) -> float | None:
    try:
        value = ds.get(keyword)
        number = float(value) if value not in (None, "") else None
    except Exception:
        return None
    return number if number is not None and math.isfinite(number) else None


def _floats(ds: Dataset, keyword: str, count: int) -> tuple[float, ...] | None:
    try:
        value = ds.get(keyword)
        if value is None:
            return None
        numbers = tuple(float(v) for v in value)
    except Exception:
        return None
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        return None
    return numbers


def _item(ds: Dataset | None, sequence: str) -> Dataset | None:
    if ds is None:
        return None
    try:
        seq = ds.get(sequence)
        return seq[0] if seq else None
    except Exception:
        return None


def _int(ds: Dataset, keyword: str, default: int = 0) -> int:
    number = _number(ds, keyword)
    return int(number) if number is not None and abs(number) < 2**31 else default


def _image_type(ds: Any) -> tuple[str, ...]:
    try:
        value = ds.get("ImageType")
        parts = value.split("\\") if isinstance(value, str) else list(value or ())
        return tuple(t for t in (clean(str(v)).strip().upper() for v in parts[:8]) if t)
    except Exception:
        return ()


def _header(path: Path, ds: Any, has_pixels: bool | None, meta_sop: str, tsuid: str) -> Header:
    """Build a Header from a pydicom Dataset or a RawHeader (both offer ``get``)."""
    frames = _int(ds, "NumberOfFrames", 1) if "NumberOfFrames" in ds else 1
    common: dict[str, Any] = dict(
        path=path,
        sop_class_uid=_text(ds, "SOPClassUID") or meta_sop,
        transfer_syntax=tsuid,
        modality=_text(ds, "Modality").upper(),
        image_type=_image_type(ds),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        series_instance_uid=_text(ds, "SeriesInstanceUID"),
        frame_of_reference_uid=_text(ds, "FrameOfReferenceUID"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        study_description=_text(ds, "StudyDescription"),
        series_description=_text(ds, "SeriesDescription"),
        series_number=_int(ds, "SeriesNumber", -1)
        if _number(ds, "SeriesNumber") is not None
        else None,
        accession_number=_text(ds, "AccessionNumber"),
        manufacturer=_text(ds, "Manufacturer"),
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        number_of_frames=frames,
        has_pixel_data=has_pixels,
    )
    if (
        common["sop_class_uid"] in MULTIFRAME_SOP_CLASSES
        or "PerFrameFunctionalGroupsSequence" in ds
    ):
        return Header(**common, **_multiframe_geometry(path, ds, frames))
    return Header(**common, **_classic_geometry(path, ds, frames))


def _classic_geometry(path: Path, ds: Dataset, frames: int) -> dict[str, Any]:
    orientation = _floats(ds, "ImageOrientationPatient", 6)
    spacing = _floats(ds, "PixelSpacing", 2)
    position = _floats(ds, "ImagePositionPatient", 3)
    percent = _number(ds, "NominalPercentageOfCardiacPhase")
    trigger = _number(ds, "TriggerTime")
    problem = _orientation_problem(orientation, spacing)
    if position is None:
        problem = problem or "no valid ImagePositionPatient"
    if frames != 1:
        problem = problem or f"multi-frame ({frames} frames) without per-frame geometry"
    slope = _number(ds, "RescaleSlope")
    intercept = _number(ds, "RescaleIntercept")
    if slope == 0.0:
        problem = problem or ZERO_SLOPE
    planes: tuple[PlaneRef, ...] = ()
    if problem is None and position is not None:
        planes = (PlaneRef(path, None, position, _slope(slope), intercept or 0.0, None),)  # type: ignore[arg-type]
    return dict(
        orientation=orientation,
        pixel_spacing=spacing,  # type: ignore[dict-item]
        slice_thickness=_number(ds, "SliceThickness"),
        phase_percent=percent if percent is not None and 0 <= percent <= 100 else None,
        trigger_time_ms=trigger,
        planes=planes,
        geometry_problem=problem,
    )


#: Why a series whose RescaleSlope is 0 is refused rather than guessed at.
ZERO_SLOPE = "RescaleSlope is 0 (every pixel would map to the intercept); refusing to guess a slope"


def _slope(value: float | None) -> float:
    """The slope to apply: 1 when the tag is absent or empty, else the value (0 is kept)."""
    return 1.0 if value is None else value


def _orientation_problem(
    orientation: tuple[float, ...] | None, spacing: tuple[float, ...] | None
) -> str | None:
    if orientation is None:
        return "no valid ImageOrientationPatient"
    row, col = orientation[:3], orientation[3:]
    norm_r = math.sqrt(sum(v * v for v in row))
    norm_c = math.sqrt(sum(v * v for v in col))
    dot = sum(a * b for a, b in zip(row, col, strict=True))
    if abs(norm_r - 1) > 1e-3 or abs(norm_c - 1) > 1e-3 or abs(dot) > 1e-3:
        return "ImageOrientationPatient is not two orthogonal unit vectors"
    if spacing is None or min(spacing) <= 0:
        return "no valid PixelSpacing"
    return None


def _multiframe_geometry(path: Path, ds: Dataset, frames: int) -> dict[str, Any]:
    shared = _item(ds, "SharedFunctionalGroupsSequence")
    try:
        per_frame = list(ds.get("PerFrameFunctionalGroupsSequence") or [])
    except Exception:
        per_frame = []
    problem: str | None = None
    if not 1 <= frames <= MAX_FRAMES:
        problem = f"NumberOfFrames {frames} is out of range"
    elif len(per_frame) != frames:
        problem = f"PerFrameFunctionalGroupsSequence has {len(per_frame)} items for {frames} frames"
    planes: list[PlaneRef] = []
    orientations: set[tuple[float, ...]] = set()
    spacings: set[tuple[float, ...]] = set()
    thickness: float | None = None
    percents: set[float | None] = set()
    first: dict[str, Any] | None = None
    for index, item in enumerate(per_frame if problem is None else []):
        frame = _frame_info(item, shared)
        if frame["position"] is None or frame["orientation"] is None or frame["spacing"] is None:
            problem = f"frame {index + 1} has no valid position, orientation or pixel spacing"
            break
        if frame["slope"] == 0.0:
            problem = f"frame {index + 1}: {ZERO_SLOPE}"
            break
        orientations.add(tuple(round(v, 4) for v in frame["orientation"]))
        spacings.add(tuple(round(v, 5) for v in frame["spacing"]))
        first = first or frame
        thickness = frame["thickness"]
        percents.add(frame["percent"])
        planes.append(
            PlaneRef(
                path,
                index,
                frame["position"],
                frame["slope"],
                frame["intercept"],
                frame["temporal"],
                frame["percent"],
            )
        )
    if problem is None and (len(orientations) > 1 or len(spacings) > 1):
        problem = "frames have different orientations or pixel spacings"
    same = first is not None and len(orientations) == 1 and len(spacings) == 1
    orientation = first["orientation"] if same and first else None
    spacing = first["spacing"] if same and first else None
    problem = problem or _orientation_problem(orientation, spacing)
    return dict(
        orientation=orientation,
        pixel_spacing=spacing,
        slice_thickness=thickness,
        phase_percent=percents.pop() if len(percents) == 1 else None,
        trigger_time_ms=None,
        planes=tuple(planes) if problem is None else (),
        geometry_problem=problem,
    )


def _frame_info(item: Dataset, shared: Dataset | None) -> dict[str, Any]:
    def group(name: str) -> Dataset | None:
        return _item(item, name) or _item(shared, name)

    position = group("PlanePositionSequence")
    orient = group("PlaneOrientationSequence")
    measures = group("PixelMeasuresSequence")
    transform = group("PixelValueTransformationSequence")
    cardiac = group("CardiacSynchronizationSequence")
    content = group("FrameContentSequence")
    percent = _number(cardiac, "NominalPercentageOfCardiacPhase") if cardiac else None
    temporal = percent
    if temporal is None and content is not None:
        temporal = _number(content, "TemporalPositionIndex")
    if temporal is None and cardiac is not None:
        temporal = _number(cardiac, "NominalCardiacTriggerDelayTime")
    return dict(
        position=_floats(position, "ImagePositionPatient", 3) if position else None,
        orientation=_floats(orient, "ImageOrientationPatient", 6) if orient else None,
        spacing=_floats(measures, "PixelSpacing", 2) if measures else None,
        thickness=_number(measures, "SliceThickness") if measures else None,
        slope=_slope(_number(transform, "RescaleSlope") if transform else None),
        intercept=(_number(transform, "RescaleIntercept") if transform else None) or 0.0,
        temporal=temporal,
        percent=percent if percent is not None and 0 <= percent <= 100 else None,
    )
