"""Wall-thickness measurement: LV frame, AHA segments, thickness, QC.

Typical use::

    from wallthick.measure import measure_wall_thickness
    result = measure_wall_thickness("/data/study/series")   # load + segment + measure
    result.measurement.septal_thickness_mm

or, from labels (e.g. after correcting them in napari)::

    result = measure_labels(labels, image, segmentation_source="corrected")

or, in short-axis slices (an oblique grid of the LV frame)::

    grid = short_axis_grid(result.frame, labels, slice_mm=1.5)
    sax_labels, sax_image = reformat(labels, grid), reformat(image, grid)
    measure_labels(sax_labels, image)        # the image stays on its own grid

See ``docs/method.md`` for the method and ``docs/validation.md`` for its accuracy.
"""

from wallthick.measure.aha import (
    AHA_SEGMENTS,
    POSTERIOR_SEGMENTS,
    SEGMENT_NAMES,
    SEPTAL_SEGMENTS,
    aha_segments,
)
from wallthick.measure.core import measure_labels
from wallthick.measure.options import MeasureOptions
from wallthick.measure.pipeline import measure_wall_thickness, select_end_diastole
from wallthick.measure.result import (
    CSV_COLUMNS,
    MEASURED_STATUSES,
    SCHEMA_VERSION,
    STATUSES,
    LVFrame,
    Measurement,
    MeasurementResult,
    PhaseInfo,
    SegmentStats,
    SeriesInfo,
    failed_row,
)
from wallthick.measure.sax import long_axis_planes, reformat, short_axis_axes, short_axis_grid

__all__ = [
    "AHA_SEGMENTS",
    "CSV_COLUMNS",
    "MEASURED_STATUSES",
    "POSTERIOR_SEGMENTS",
    "SCHEMA_VERSION",
    "SEGMENT_NAMES",
    "SEPTAL_SEGMENTS",
    "STATUSES",
    "LVFrame",
    "MeasureOptions",
    "Measurement",
    "MeasurementResult",
    "PhaseInfo",
    "SegmentStats",
    "SeriesInfo",
    "aha_segments",
    "failed_row",
    "long_axis_planes",
    "measure_labels",
    "measure_wall_thickness",
    "reformat",
    "select_end_diastole",
    "short_axis_axes",
    "short_axis_grid",
]
