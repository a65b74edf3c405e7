"""wallthick: left-ventricular wall thickness on cardiac CT.

The verbs, in the order of a study::

    import wallthick

    image = wallthick.load_image("study/series")       # DICOM folder or volume file
    labels = wallthick.segment_heart(image)
    result = wallthick.measure_wall_thickness(image)   # segments, then measures
    rows = wallthick.compare_measurements([baseline, follow_up])
    wallthick.run_batch("scans/", "results/")          # a tree of scans, in parallel
    wallthick.write_report("results/", "results/report.html")
    measurements = wallthick.load_measurements_from_sr("results/")  # the DICOM SRs

The core never imports napari or Qt; ``import wallthick`` works on a server
with no display. The DICOM reader and its decoders, the batch runner and the
report (matplotlib) are imported on first use of :func:`load_image`,
:func:`run_batch` or :func:`write_report`.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from wallthick._version import __version__
from wallthick.compare import compare_measurements
from wallthick.errors import (
    DecodeError,
    InvalidSeriesError,
    MeasurementError,
    MissingDependencyError,
    QualityControlError,
    SegmentationError,
    WallthickError,
)
from wallthick.labels import Label
from wallthick.measure import measure_wall_thickness
from wallthick.measure.result import Measurement, MeasurementResult, SegmentStats
from wallthick.segment import segment_heart
from wallthick.volume import Geometry, ImageVolume, LabelVolume

if TYPE_CHECKING:  # pragma: no cover
    from wallthick.batch import load_measurements_from_sr, run_batch
    from wallthick.io import load_image
    from wallthick.report import write_report

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DecodeError",
    "Geometry",
    "ImageVolume",
    "InvalidSeriesError",
    "Label",
    "LabelVolume",
    "Measurement",
    "MeasurementError",
    "MeasurementResult",
    "MissingDependencyError",
    "QualityControlError",
    "SegmentStats",
    "SegmentationError",
    "WallthickError",
    "__version__",
    "compare_measurements",
    "load_image",
    "load_measurements_from_sr",
    "measure_wall_thickness",
    "run_batch",
    "segment_heart",
    "write_report",
]

#: verbs whose layers are heavy to import, and the module defining each
_LAZY = {
    "load_image": "wallthick.io",
    "load_measurements_from_sr": "wallthick.batch",
    "run_batch": "wallthick.batch",
    "write_report": "wallthick.report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wallthick' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
