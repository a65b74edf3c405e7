"""wallthick: left-ventricular wall thickness on cardiac CT.

The core never imports napari or Qt; ``import wallthick`` works on a server
with no display.
"""

import logging

from wallthick._version import __version__
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
from wallthick.measure.result import Measurement, MeasurementResult, SegmentStats
from wallthick.volume import Geometry, ImageVolume, LabelVolume

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
]
