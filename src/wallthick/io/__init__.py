"""Loading and writing CT volumes (DICOM series, NIfTI/NRRD/MHA files).

Typical use::

    series = discover_series("/data/study")   # headers only
    volume = load_series(series.usable[0])     # float32 HU, LPS geometry

See docs/loader.md for tolerances and refusals.
"""

from wallthick.io.dicom import load_phases, load_series, read_pixels
from wallthick.io.discover import (
    MIN_SLICES,
    RejectedFile,
    SeriesDescriptor,
    SeriesList,
    discover_series,
    find_phase_groups,
    is_ct_image_series,
)
from wallthick.io.image import load_image, load_study, load_volume_file
from wallthick.io.seg import (
    DicomSeg,
    SegSegment,
    is_dicom_seg,
    read_dicom_seg,
    referenced_series_uids,
)
from wallthick.io.writer import INFO_KEYS, TRANSFER_SYNTAXES, write_dicom_series

__all__ = [
    "INFO_KEYS",
    "DicomSeg",
    "MIN_SLICES",
    "TRANSFER_SYNTAXES",
    "RejectedFile",
    "SeriesDescriptor",
    "SegSegment",
    "SeriesList",
    "discover_series",
    "find_phase_groups",
    "is_ct_image_series",
    "is_dicom_seg",
    "load_image",
    "load_phases",
    "load_series",
    "load_study",
    "load_volume_file",
    "read_dicom_seg",
    "read_pixels",
    "referenced_series_uids",
    "write_dicom_series",
]
