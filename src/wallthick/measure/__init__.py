"""Wall-thickness measurement: LV frame, AHA segments, thickness, QC.

Typical use::

    from wallthick.measure import measure_wall_thickness
    result = measure_wall_thickness("/data/study/series")   # load + segment + measure
    result.measurement.septal_thickness_mm

or, from labels (e.g. after correcting them in napari)::

    result = measure_labels(labels, image, segmentation_source="corrected")

See ``docs/method.md`` for the method and ``docs/validation.md`` for its accuracy.
"""

from wallthick.measure.aha import SEGMENT_NAMES, aha_segments
from wallthick.measure.core import measure_labels
from wallthick.measure.options import MeasureOptions
from wallthick.measure.pipeline import measure_wall_thickness, select_end_diastole
from wallthick.measure.result import (
    AHA_SEGMENTS,
    CSV_COLUMNS,
    POSTERIOR_SEGMENTS,
    SCHEMA_VERSION,
    SEPTAL_SEGMENTS,
    LVFrame,
    Measurement,
    MeasurementResult,
    PhaseInfo,
    SegmentStats,
    SeriesInfo,
    failed_row,
)

__all__ = [
    "AHA_SEGMENTS",
    "CSV_COLUMNS",
    "POSTERIOR_SEGMENTS",
    "SCHEMA_VERSION",
    "SEGMENT_NAMES",
    "SEPTAL_SEGMENTS",
    "LVFrame",
    "MeasureOptions",
    "Measurement",
    "MeasurementResult",
    "PhaseInfo",
    "SegmentStats",
    "SeriesInfo",
    "aha_segments",
    "failed_row",
    "measure_labels",
    "measure_wall_thickness",
    "select_end_diastole",
]
