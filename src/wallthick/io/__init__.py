"""Loading and writing CT volumes (DICOM series, NIfTI/NRRD/MHA files)."""

from wallthick.io.image import load_image, load_volume_file
from wallthick.io.writer import INFO_KEYS, TRANSFER_SYNTAXES, write_dicom_series

__all__ = [
    "INFO_KEYS",
    "TRANSFER_SYNTAXES",
    "load_image",
    "load_volume_file",
    "write_dicom_series",
]
