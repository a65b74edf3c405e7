"""``measure_wall_thickness``: one call from a path, a volume or phases to a result."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wallthick.errors import SegmentationError
from wallthick.measure.core import measure_labels, series_info
from wallthick.measure.options import MeasureOptions
from wallthick.measure.result import MeasurementResult, PhaseInfo
from wallthick.volume import ImageVolume, LabelVolume

if TYPE_CHECKING:  # pragma: no cover
    from wallthick.segment import Segmenter

__all__ = ["measure_wall_thickness", "select_end_diastole"]

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | ImageVolume | Sequence[ImageVolume]


def measure_wall_thickness(
    source: Source,
    options: MeasureOptions | None = None,
    *,
    segmenter: str | Segmenter = "classical",
) -> MeasurementResult:
    """Load, segment and measure one study; multiphase studies at end-diastole.

    Parameters
    ----------
    source : path, ImageVolume or sequence of ImageVolume
        A DICOM folder or file, a NIfTI/NRRD/MHA file, a loaded volume, or
        the phases of one multiphase acquisition.
    options : MeasureOptions, optional
    segmenter : str or Segmenter
        Name of a registered segmenter (``wallthick.segment``) or an object
        with ``name`` and ``segment(image) -> LabelVolume``.

    Returns
    -------
    MeasurementResult
        With several phases: the end-diastolic one (largest LV cavity
        volume); ``measurement.phases`` lists every phase and its cavity
        volume, ``measurement.phase`` names the one measured.

    Raises
    ------
    InvalidSeriesError
        The source cannot be loaded.
    SegmentationError
        No left ventricle found (message names the series).
    MeasurementError, QualityControlError
        See :func:`measure_labels`.
    """
    originals = _volumes(source)
    volumes = [_without_streaks(v) for v in originals]
    if len(volumes) == 1:
        image, labels = volumes[0], _segment(volumes[0], segmenter)
        phases: tuple[PhaseInfo, ...] = ()
    else:
        image, labels, phases = _end_diastole(volumes, segmenter)
    result = measure_labels(labels, image, options, series=series_info(image.metadata))
    # edges are refined on the streak-suppressed image; pictures show the original
    original = next(o for o, v in zip(originals, volumes, strict=True) if v is image)
    result = dataclasses.replace(result, image=original)
    chosen = [p.phase for p in phases if p.chosen]
    meas = dataclasses.replace(
        result.measurement,
        phases=phases,
        phase=str(image.metadata.get("phase", "")) or (chosen[0] if chosen else ""),
        segmenter=str(labels.metadata.get("segmenter", getattr(segmenter, "name", segmenter))),
    )
    return dataclasses.replace(result, measurement=meas)


def _end_diastole(
    volumes: list[ImageVolume], segmenter: str | Segmenter
) -> tuple[ImageVolume, LabelVolume, tuple[PhaseInfo, ...]]:
    """Segment every phase; a phase the segmenter cannot handle (often a
    systolic one) is reported with a NaN volume and skipped."""
    done: list[tuple[int, LabelVolume]] = []
    first_error: SegmentationError | None = None
    for i, vol in enumerate(volumes):
        try:
            done.append((i, _segment(vol, segmenter)))
        except SegmentationError as exc:
            logger.warning("phase %d not segmented, skipped for end-diastole: %s", i, exc)
            first_error = first_error or exc
    if not done:
        assert first_error is not None
        raise first_error
    best, infos = select_end_diastole([lab for _, lab in done], [volumes[i] for i, _ in done])
    by_index = {i: info for (i, _), info in zip(done, infos, strict=True)}
    phases = tuple(
        by_index.get(i)
        or PhaseInfo(
            phase=str(v.metadata.get("phase", "")) or f"#{i}",
            series_instance_uid=str(v.metadata.get("series_instance_uid", "")),
            lv_cavity_volume_ml=math.nan,
        )
        for i, v in enumerate(volumes)
    )
    index, labels = done[best]
    return volumes[index], labels, phases


def select_end_diastole(
    labels: Sequence[LabelVolume], images: Sequence[ImageVolume]
) -> tuple[int, tuple[PhaseInfo, ...]]:
    """Index of the phase with the largest LV cavity volume, and every phase's volume."""
    from wallthick.labels import Label

    vols = [lab.volume_ml(Label.LV_BLOOD_POOL) for lab in labels]
    best = max(range(len(vols)), key=vols.__getitem__)
    infos = tuple(
        PhaseInfo(
            phase=str(img.metadata.get("phase", "")) or f"#{i}",
            series_instance_uid=str(img.metadata.get("series_instance_uid", "")),
            lv_cavity_volume_ml=v,
            chosen=i == best,
        )
        for i, (img, v) in enumerate(zip(images, vols, strict=True))
    )
    logger.info("end-diastole: phase %s (%.1f ml)", infos[best].phase, vols[best])
    return best, infos


def _volumes(source: Source) -> list[ImageVolume]:
    if isinstance(source, ImageVolume):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        from wallthick.io import load_study

        return load_study(source)
    if isinstance(source, Sequence) and source and all(isinstance(v, ImageVolume) for v in source):
        return [v for v in source if isinstance(v, ImageVolume)]
    raise TypeError(
        "Argument 'source' must be a path, an ImageVolume or a non-empty sequence of "
        f"ImageVolume, got {type(source).__name__}."
    )


def _without_streaks(image: ImageVolume) -> ImageVolume:
    """``image`` with the metal streaks of device leads suppressed (the same
    voxels when there is no lead), used for segmenting and for the edges."""
    from wallthick.segment.classical import suppress_metal

    return suppress_metal(image)[0]


def _segment(image: ImageVolume, segmenter: str | Segmenter) -> LabelVolume:
    from wallthick.segment import segment_heart

    name = _name(image)
    try:
        return segment_heart(image, segmenter=segmenter)
    except SegmentationError as exc:
        if name and name in str(exc):
            raise
        raise SegmentationError(f"{name}: {exc}") from exc


def _name(image: ImageVolume) -> str:
    meta = image.metadata
    return str(meta.get("source_path") or meta.get("series_description") or "image")
