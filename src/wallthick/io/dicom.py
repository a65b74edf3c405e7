"""Loading a discovered DICOM series into an :class:`~wallthick.volume.ImageVolume` in HU.

Values are ``float32`` Hounsfield units (RescaleSlope/Intercept applied per
image). The output is preallocated and filled one image at a time, so peak
memory stays close to the size of the volume.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from wallthick.errors import DecodeError, InvalidSeriesError
from wallthick.io._headers import ZERO_SLOPE, PlaneRef, guard, quiet, read_full
from wallthick.io._stack import StackPlan, plan_stack, resample
from wallthick.io.discover import MIN_SLICES, SeriesDescriptor, usability_problem
from wallthick.volume import ImageVolume

__all__ = ["load_series", "load_phases", "read_pixels", "MAX_VOLUME_BYTES", "MAX_FRAME_PIXELS"]

logger = logging.getLogger(__name__)

#: Largest output volume (float32 bytes) a series may declare before anything is allocated.
MAX_VOLUME_BYTES = 16 * 2**30
#: Largest image (rows x columns) accepted.
MAX_FRAME_PIXELS = 8192 * 8192
#: Encapsulated pixel data may not claim to expand more than this (bombs) beyond 256 MB.
MAX_EXPANSION = 1000
_NATIVE = {
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
}
_LITTLE_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99"}
_PACKAGES = {
    "1.2.840.10008.1.2.4.50": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.51": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.57": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.80": "pyjpegls",
    "1.2.840.10008.1.2.4.81": "pyjpegls",
    "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.91": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.5": "pylibjpeg-rle",
}


def load_series(
    descriptor: SeriesDescriptor, *, min_slices: int = MIN_SLICES, workers: int = 1
) -> ImageVolume:
    """Load one discovered series as a volume in HU.

    Parameters
    ----------
    descriptor : SeriesDescriptor
        From :func:`wallthick.io.discover_series`.
    min_slices : int
        Refuse series with fewer planes (default :data:`MIN_SLICES`).
    workers : int
        Processes decoding compressed pixel data (1 = in this process).

    Returns
    -------
    ImageVolume
        ``float32`` HU; slices ordered along the normal ``row x column`` (never by
        InstanceNumber); spacing from the positions. Uneven spacing and gantry tilt
        are resampled onto a regular orthogonal grid with a ``UserWarning``.

    Raises
    ------
    InvalidSeriesError
        Not a usable CT series (modality, localizer, too few slices, no pixel data,
        inconsistent geometry, conflicting duplicates, unreadable files, several
        temporal positions: use :func:`load_phases`).
    DecodeError
        Pixel data cannot be decoded (missing decoder named, truncated, corrupt).
    """
    _check_args(descriptor, min_slices, workers)
    if descriptor.temporal_positions > 1:
        raise InvalidSeriesError(
            f"{descriptor.label}: has {descriptor.temporal_positions} temporal positions "
            "(cardiac phases); load them with load_phases()."
        )
    volume, notes = _load_planes(descriptor, descriptor.planes, descriptor.phase, workers)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return volume


def load_phases(
    descriptor: SeriesDescriptor | Sequence[SeriesDescriptor],
    *,
    min_slices: int = MIN_SLICES,
    workers: int = 1,
) -> list[ImageVolume]:
    """Load every cardiac phase of a series or of a phase group, ordered by phase.

    Parameters
    ----------
    descriptor : SeriesDescriptor or sequence of SeriesDescriptor
        One series, or a group from :func:`wallthick.io.find_phase_groups`
        (already ordered by phase; each member is loaded in turn).

    Returns
    -------
    list of ImageVolume
        A multi-frame (enhanced) CT with several temporal positions gives one
        volume per position (``metadata["phase"]`` such as ``"70%"`` when the
        frames carry NominalPercentageOfCardiacPhase, else ``""``); any other
        series gives one volume.

    Raises
    ------
    InvalidSeriesError, DecodeError
        As :func:`load_series`.
    """
    if not isinstance(descriptor, SeriesDescriptor):
        group = list(descriptor)
        if not group:
            raise ValueError("Argument 'descriptor' must not be an empty group.")
        return [
            volume
            for member in group
            for volume in load_phases(member, min_slices=min_slices, workers=workers)
        ]
    _check_args(descriptor, min_slices, workers)
    by_time: dict[float | None, list[PlaneRef]] = defaultdict(list)
    for plane in descriptor.planes:
        by_time[plane.temporal_key].append(plane)
    if descriptor.temporal_positions <= 1 or len(by_time) <= 1:
        return [load_series(descriptor, min_slices=min_slices, workers=workers)]
    volumes: list[ImageVolume] = []
    for key in sorted(by_time, key=lambda k: -1.0 if k is None else k):
        planes = by_time[key]
        if len(planes) < min_slices:
            raise InvalidSeriesError(
                f"{descriptor.label}: temporal position {key} has too few slices "
                f"({len(planes)} < {min_slices})."
            )
        percent = planes[0].percent
        phase = f"{percent:g}%" if percent is not None else ""
        volume, notes = _load_planes(descriptor, planes, phase, workers)
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=2)
        volumes.append(volume.with_array(volume.array, temporal_position=key))
    return volumes


def _check_args(descriptor: SeriesDescriptor, min_slices: int, workers: int) -> None:
    if not isinstance(descriptor, SeriesDescriptor):
        raise TypeError(
            f"Argument 'descriptor' must be a SeriesDescriptor, got {type(descriptor).__name__}."
        )
    if not isinstance(min_slices, int) or min_slices < 1:
        raise ValueError(f"Argument 'min_slices' must be an int >= 1, got {min_slices!r}.")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"Argument 'workers' must be an int >= 1, got {workers!r}.")
    problem = usability_problem(descriptor, min_slices)
    if problem is not None:
        raise InvalidSeriesError(f"{descriptor.label}: cannot load: {problem}.")


def _load_planes(
    d: SeriesDescriptor, planes: Sequence[PlaneRef], phase: str, workers: int
) -> tuple[ImageVolume, list[str]]:
    assert d.orientation is not None and d.pixel_spacing is not None
    _check_size(d, len(planes))
    with quiet():
        plan = plan_stack(
            d.label,
            d.orientation,
            d.pixel_spacing,
            (d.rows, d.columns),
            [p.position for p in planes],
            d.slice_thickness_mm,
        )
        if int(np.prod(plan.geometry.shape)) * 4 > MAX_VOLUME_BYTES:
            raise InvalidSeriesError(
                f"{d.label}: the resampled grid {plan.geometry.shape} is larger than the loading limit."
            )
        try:
            source = np.empty(plan.source_shape, dtype=np.float32)
        except MemoryError as exc:
            raise InvalidSeriesError(f"{d.label}: not enough memory for the volume.") from exc
        _fill(d, planes, plan, source, workers)
        notes = list(plan.notes) + _check_duplicates(d, planes, plan, source)
        array = source
        if plan.resampling is not None:
            array = resample(source, plan.resampling, plan.geometry)
            del source
    metadata = _metadata(d, phase, plan)
    return ImageVolume.from_geometry(array, plan.geometry, metadata), notes


def _check_size(d: SeriesDescriptor, n_planes: int) -> None:
    pixels = d.rows * d.columns
    if d.rows < 1 or d.columns < 1 or pixels > MAX_FRAME_PIXELS:
        raise InvalidSeriesError(f"{d.label}: implausible image size {d.rows}x{d.columns}.")
    if pixels * n_planes * 4 > MAX_VOLUME_BYTES:
        raise InvalidSeriesError(
            f"{d.label}: {n_planes} images of {d.rows}x{d.columns} would need "
            f"{pixels * n_planes * 4 / 2**30:.1f} GiB; larger than the {MAX_VOLUME_BYTES / 2**30:.0f} GiB limit."
        )


def _metadata(d: SeriesDescriptor, phase: str, plan: StackPlan) -> dict[str, Any]:
    source = d.files[0] if len(d.files) == 1 else d.files[0].parent
    return {
        "patient_id": d.patient_id,
        "study_date": d.study_date,
        "study_time": d.study_time,
        "study_instance_uid": d.study_instance_uid,
        "series_instance_uid": d.series_instance_uid,
        "series_description": d.series_description,
        "series_number": d.series_number,
        "frame_of_reference_uid": d.frame_of_reference_uid,
        "modality": d.modality,
        "phase": phase,
        "trigger_time_ms": d.trigger_time_ms,
        "slice_thickness_mm": d.slice_thickness_mm,
        "resampled": plan.resampling is not None,
        "source_path": str(source),
    }


def _fill(
    d: SeriesDescriptor, planes: Sequence[PlaneRef], plan: StackPlan, out: np.ndarray, workers: int
) -> None:
    """Decode every kept plane into its slot of ``out`` (HU, float32)."""
    jobs: dict[Path, list[tuple[int, PlaneRef]]] = defaultdict(list)
    for slot, index in enumerate(plan.order):
        jobs[planes[index].path].append((slot, planes[index]))
    items = sorted(jobs.items(), key=lambda kv: kv[1][0][0])
    compressed = any(ts not in _NATIVE for ts in d.transfer_syntaxes)
    if workers > 1 and compressed and len(items) >= 2 * workers:
        _fill_parallel(d, items, out, workers)
        return
    for path, slots in items:
        for slot, image, slope, intercept in _decode_file(path, slots, d.rows, d.columns):
            _to_hu(image, slope, intercept, out[slot])


def _fill_parallel(
    d: SeriesDescriptor,
    items: list[tuple[Path, list[tuple[int, PlaneRef]]]],
    out: np.ndarray,
    workers: int,
) -> None:
    chunk = max(1, len(items) // (workers * 4))
    batches = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    # forking a process that runs other threads (Qt, dask) can deadlock: spawn then
    method = "fork" if threading.active_count() == 1 else "spawn"
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            for result in pool.map(_decode_batch, batches, [(d.rows, d.columns)] * len(batches)):
                for slot, image, slope, intercept in result:
                    _to_hu(image, slope, intercept, out[slot])
    except BrokenProcessPool as exc:
        raise DecodeError(
            f"{d.label}: a decoding process died (a decoder crashed on corrupt data); "
            "load with workers=1 to find the file."
        ) from exc


def _decode_batch(
    batch: list[tuple[Path, list[tuple[int, PlaneRef]]]], shape: tuple[int, int]
) -> list[tuple[int, np.ndarray, float, float]]:
    """Worker process: the stored images of a batch of files (rescaled by the parent)."""
    with quiet():
        return [item for path, slots in batch for item in _decode_file(path, slots, *shape)]


def _decode_file(
    path: Path, slots: list[tuple[int, PlaneRef]], rows: int, columns: int
) -> Iterator[tuple[int, np.ndarray, float, float]]:
    """Read one file; yield ``(slot, stored image, slope, intercept)`` per requested plane."""
    ds = read_full(path)
    _check_pixel_payload(path, ds, rows, columns)
    decoder = _decoder(path, ds)
    multiframe = slots[0][1].frame is not None
    if not multiframe:
        _check_position(path, ds, slots[0][1])
        slope, intercept = _rescale(ds)
    for slot, plane in slots:
        if multiframe:
            slope, intercept = plane.slope, plane.intercept
        image = _decode_frame(path, decoder, ds, plane.frame, (rows, columns))
        yield slot, image, slope, intercept


def _decode_frame(
    path: Path, decoder: Any, ds: Dataset, frame: int | None, shape: tuple[int, int]
) -> np.ndarray:
    native = _native_frame(ds, frame, shape)
    if native is not None:
        return native
    with guard(path, "decode its pixel data", DecodeError):
        arr, _ = decoder.as_array(ds, index=frame, as_rgb=False)
    if arr.shape != shape:
        raise DecodeError(f"{path}: decoded image has shape {arr.shape}, expected {shape}.")
    return np.asarray(arr)


def _native_frame(ds: Dataset, frame: int | None, shape: tuple[int, int]) -> np.ndarray | None:
    """Plain 16-bit little-endian pixels straight from the buffer (pydicom for anything else).

    Only when every stored bit is used (BitsStored == BitsAllocated == 16), so no
    masking or sign extension is needed; the payload length was checked before.
    """
    try:
        if (
            str(ds.file_meta.TransferSyntaxUID) not in _LITTLE_NATIVE
            or ds.BitsAllocated != 16
            or ds.BitsStored != 16
            or ds.get("SamplesPerPixel", 1) != 1
        ):
            return None
        dtype = np.dtype("<i2" if ds.PixelRepresentation == 1 else "<u2")
    except (AttributeError, TypeError, ValueError):
        return None
    pixels = shape[0] * shape[1]
    start = (frame or 0) * pixels
    return np.frombuffer(ds.PixelData, dtype=dtype, count=pixels, offset=start * 2).reshape(shape)


def _to_hu(
    arr: np.ndarray, slope: float, intercept: float, hu: np.ndarray | None = None
) -> np.ndarray:
    """``arr * slope + intercept`` as float32, written into ``hu`` when given."""
    if hu is None:
        hu = np.empty(arr.shape, dtype=np.float32)
    if slope == 1.0:
        np.add(arr, intercept, out=hu, casting="unsafe")
    else:
        np.multiply(arr, slope, out=hu, casting="unsafe")
        hu += np.float32(intercept)
    return hu


def read_pixels(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode the pixel data of one DICOM file, in HU, without any geometry.

    Returns a ``float32`` array ``(frames, rows, columns)`` with the file's
    RescaleSlope/Intercept applied. Useful to inspect single images; volumes come
    from :func:`load_series`.

    Raises
    ------
    InvalidSeriesError
        Unreadable file, no pixel data, implausible sizes.
    DecodeError
        Truncated or undecodable pixel data (names the package to install).
    """
    p = Path(path)
    with quiet():
        ds = read_full(p)
        with guard(p, "read its image attributes"):
            rows, columns = int(ds.Rows), int(ds.Columns)
            frames = int(ds.get("NumberOfFrames", 1) or 1)
        if not (1 <= rows * columns <= MAX_FRAME_PIXELS and 1 <= frames <= 65536):
            raise InvalidSeriesError(f"{p}: implausible size {frames}x{rows}x{columns}.")
        _check_pixel_payload(p, ds, rows, columns)
        decoder = _decoder(p, ds)
        slope, intercept = _rescale(ds)
        out = np.empty((frames, rows, columns), dtype=np.float32)
        for i in range(frames):
            image = _decode_frame(p, decoder, ds, i if frames > 1 else None, (rows, columns))
            _to_hu(image, slope, intercept, out[i])
    return out


def _rescale(ds: Dataset) -> tuple[float, float]:
    try:
        raw_slope, raw_intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
        slope = 1.0 if raw_slope is None or raw_slope == "" else float(raw_slope)
        intercept = 0.0 if raw_intercept is None or raw_intercept == "" else float(raw_intercept)
    except Exception as exc:
        raise InvalidSeriesError(f"{ds.filename}: invalid RescaleSlope/RescaleIntercept.") from exc
    if slope == 0.0:
        raise InvalidSeriesError(f"{ds.filename}: {ZERO_SLOPE}.")
    if not (np.isfinite(slope) and np.isfinite(intercept)):
        raise InvalidSeriesError(f"{ds.filename}: invalid RescaleSlope/RescaleIntercept.")
    return slope, intercept


def _check_position(path: Path, ds: Dataset, plane: PlaneRef) -> None:
    try:
        position = tuple(float(v) for v in ds.ImagePositionPatient)
    except Exception as exc:
        raise InvalidSeriesError(f"{path}: invalid ImagePositionPatient.") from exc
    if not np.allclose(position, plane.position, atol=1e-3):
        raise InvalidSeriesError(
            f"{path}: file changed since discovery (position differs); discover again."
        )


def _check_pixel_payload(path: Path, ds: Dataset, rows: int, columns: int) -> None:
    """Refuse absurd or truncated pixel data before any decoder allocates memory."""
    if "PixelData" not in ds:
        kind = "float pixel data (not supported)" if "FloatPixelData" in ds else "no pixel data"
        raise InvalidSeriesError(f"{path}: {kind}.")
    with guard(path, "read its image attributes"):
        header_shape = (int(ds.Rows), int(ds.Columns))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        bits = int(ds.BitsAllocated)
        samples = int(ds.get("SamplesPerPixel", 1))
        tsuid = str(ds.file_meta.TransferSyntaxUID)
        payload = ds.PixelData
    if not isinstance(payload, bytes | bytearray) or not payload:
        raise DecodeError(f"{path}: pixel data is empty.")
    if header_shape != (rows, columns):
        raise InvalidSeriesError(
            f"{path}: image size {header_shape} differs from the series {(rows, columns)}."
        )
    if samples != 1:
        raise InvalidSeriesError(f"{path}: {samples} samples per pixel; a CT image has 1.")
    if bits not in (8, 16, 32) or frames < 1:
        raise InvalidSeriesError(
            f"{path}: unsupported BitsAllocated {bits} or NumberOfFrames {frames}."
        )
    expected = rows * columns * frames * bits // 8
    if tsuid in _NATIVE:
        if len(payload) < expected:
            raise DecodeError(
                f"{path}: pixel data is truncated ({len(payload)} bytes for {expected} expected)."
            )
        return
    from pydicom.encaps import parse_fragments

    with guard(path, "parse its encapsulated pixel data", DecodeError):
        count, _ = parse_fragments(payload)
    if count - 1 < frames:  # the first item is the basic offset table
        raise DecodeError(
            f"{path}: encapsulated pixel data has {count - 1} fragments for {frames} frames."
        )
    if expected > 256 * 2**20 and expected > MAX_EXPANSION * len(payload):
        raise DecodeError(
            f"{path}: {len(payload)} compressed bytes cannot hold {frames} frames of {rows}x{columns}."
        )


def _decoder(path: Path, ds: Dataset) -> Any:
    from pydicom.pixels import get_decoder

    tsuid = str(ds.file_meta.TransferSyntaxUID)
    try:
        decoder = get_decoder(tsuid)
    except (NotImplementedError, ValueError) as exc:
        raise DecodeError(f"{path}: transfer syntax {tsuid} is not supported.") from exc
    if not decoder.is_available:
        package = _PACKAGES.get(tsuid, "python-gdcm")
        raise DecodeError(
            f"{path}: no decoder installed for {decoder.UID.name}; install it with: pip install {package}"
        )
    return decoder


def _check_duplicates(
    d: SeriesDescriptor, planes: Sequence[PlaneRef], plan: StackPlan, out: np.ndarray
) -> list[str]:
    if not plan.duplicates:
        return []
    slot_of = {index: slot for slot, index in enumerate(plan.order)}
    for kept, dup in plan.duplicates:
        plane = planes[dup]
        [(_, stored, slope, intercept)] = list(
            _decode_file(plane.path, [(0, plane)], d.rows, d.columns)
        )
        image = _to_hu(stored, slope, intercept)
        if not np.array_equal(image, out[slot_of[kept]]):
            raise InvalidSeriesError(
                f"{d.label}: two different images at the same position "
                f"({planes[kept].path.name} and {plane.path.name}); mixed acquisitions or phases, "
                "refusing to choose one."
            )
    return [f"{d.label}: dropped {len(plan.duplicates)} duplicate image(s) at repeated positions."]
