"""Reports: QC pictures of single measurements and the cohort HTML/PDF report."""

from wallthick.report.document import ReportFiles, write_report
from wallthick.report.qc import render_qc_picture

__all__ = ["ReportFiles", "render_qc_picture", "write_report"]
