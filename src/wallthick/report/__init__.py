"""Reports: QC pictures of single measurements and the cohort HTML/PDF report."""

from wallthick.report.qc import render_qc_picture

__all__ = ["render_qc_picture"]
