"""The results folder of ``wallthick measure``/``batch``: one public contract.

Everything that reads or writes a results folder goes through this package:
the batch, the report and the napari plugin.

* layout: file names (:data:`CSV_NAME`, :data:`RECORD_NAME`, ...), the series
  key (:func:`series_keys`, with the ``#n`` suffix of split UIDs) and the folder
  it names (:func:`series_output_dir`, :func:`find_series_folder`);
* the per-series record: :class:`SeriesRecord` (``to_json``/``from_json``),
  :func:`read_record`, :func:`write_record`, :func:`load_results`;
* atomic writes: :func:`atomic_write` and its text/JSON/CSV forms;
* label maps: :func:`read_labels`, :func:`write_labels`; DICOM SEG:
  :func:`write_seg`, :func:`read_seg`;
* corrections: :func:`save_correction` (measure, provenance, write), headless.

See ``docs/output_schema.md``.
"""

from wallthick.io.seg import read_dicom_seg as read_seg
from wallthick.results.atomic import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    write_csv,
)
from wallthick.results.correction import (
    SavedCorrection,
    check_correction,
    read_provenance,
    save_correction,
    write_correction,
)
from wallthick.results.dicomseg import write_dicom_seg as write_seg
from wallthick.results.dicomsr import load_measurements_from_sr, write_measurement_sr
from wallthick.results.folders import find_series_folder, image_series_key
from wallthick.results.labelmaps import read_labels, write_labels
from wallthick.results.layout import (
    CORRECTED_NIFTI,
    CORRECTED_SEG,
    CORRECTION_PROVENANCE,
    CSV_NAME,
    LOG_NAME,
    MANIFEST_NAME,
    MEASUREMENT_SR,
    OUTPUT_SCHEMA_VERSION,
    QC_PNG,
    RECORD_NAME,
    REJECTED_NAME,
    SEGMENTATION_NIFTI,
    SEGMENTATION_SEG,
    SKIPPED_COLUMNS,
    SKIPPED_NAME,
    TMP_PREFIX,
    remove_stale_temporaries,
    series_keys,
    series_output_dir,
    source_folder,
)
from wallthick.results.provenance import (
    PROVENANCE_SCHEMA_VERSION,
    analyst_name,
    build_provenance,
    label_changes,
    label_name,
)
from wallthick.results.record import (
    SERIES_COLUMNS,
    RecordError,
    SeriesRecord,
    StoredResult,
    find_records,
    load_results,
    read_record,
    sort_rows,
    write_record,
)

__all__ = [
    "CORRECTED_NIFTI",
    "CORRECTED_SEG",
    "CORRECTION_PROVENANCE",
    "CSV_NAME",
    "LOG_NAME",
    "MANIFEST_NAME",
    "MEASUREMENT_SR",
    "OUTPUT_SCHEMA_VERSION",
    "PROVENANCE_SCHEMA_VERSION",
    "QC_PNG",
    "RECORD_NAME",
    "REJECTED_NAME",
    "RecordError",
    "SEGMENTATION_NIFTI",
    "SEGMENTATION_SEG",
    "SERIES_COLUMNS",
    "SKIPPED_COLUMNS",
    "SKIPPED_NAME",
    "SavedCorrection",
    "SeriesRecord",
    "StoredResult",
    "TMP_PREFIX",
    "analyst_name",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "build_provenance",
    "check_correction",
    "find_records",
    "find_series_folder",
    "image_series_key",
    "label_changes",
    "label_name",
    "load_measurements_from_sr",
    "load_results",
    "read_labels",
    "read_provenance",
    "read_record",
    "read_seg",
    "remove_stale_temporaries",
    "save_correction",
    "series_keys",
    "series_output_dir",
    "sort_rows",
    "source_folder",
    "write_correction",
    "write_csv",
    "write_labels",
    "write_measurement_sr",
    "write_record",
    "write_seg",
]
