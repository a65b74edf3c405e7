"""The widget's model: analysis state and the calls into wallthick (no Qt, no napari).

Each job function (:func:`run_job`, :func:`recompute_job`, :func:`save_job`) is a
generator that yields ``(percent, message)`` progress and returns its result;
the widget runs it in a ``thread_worker`` and hands the result back to
:class:`Analysis` on the GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wallthick import ImageVolume, LabelVolume, Measurement, MeasurementResult
from wallthick.measure import POSTERIOR_SEGMENTS, SEGMENT_NAMES, SEPTAL_SEGMENTS
from wallthick.results import (
    SEGMENTATION_NIFTI,
    SavedCorrection,
    check_correction,
    read_labels,
    save_correction,
)

__all__ = [
    "Analysis",
    "TableRow",
    "recompute_job",
    "run_job",
    "save_job",
    "table_rows",
]

Progress = tuple[int, str]


@dataclass(frozen=True)
class TableRow:
    """One line of the widget's table (NaN when not measured)."""

    name: str
    value_mm: float
    uncertainty_mm: float
    n_points: int | None = None


def table_rows(m: Measurement) -> list[TableRow]:
    """Septal, posterior and the 17 AHA segments of a measurement.

    Every line carries the 1-sigma uncertainty of its mean thickness (for a
    segment ``aha_N_uncertainty_mm``; measurements made before segments had
    one show NaN there).
    """
    septal = ", ".join(str(s) for s in SEPTAL_SEGMENTS)
    posterior = ", ".join(str(s) for s in POSTERIOR_SEGMENTS)
    rows = [
        TableRow(f"Septal (AHA {septal})", m.septal_thickness_mm, m.septal_uncertainty_mm),
        TableRow(
            f"Posterior (AHA {posterior})",
            m.posterior_wall_thickness_mm,
            m.posterior_uncertainty_mm,
        ),
    ]
    by_number = {s.segment: s for s in m.segments}
    for number, name in sorted(SEGMENT_NAMES.items()):
        s = by_number.get(number)
        if s is None:
            rows.append(TableRow(f"{number:>2} {name}", math.nan, math.nan, 0))
        else:
            rows.append(TableRow(f"{number:>2} {name}", s.mean_mm, s.uncertainty_mm, s.n_points))
    return rows


# -- jobs (run in a worker thread) --------------------------------------------
def run_job(
    image: ImageVolume, lv_seed_mm: tuple[float, float, float] | None = None
) -> Generator[Progress, None, MeasurementResult]:
    """Automatic segmentation (started from ``lv_seed_mm``, a point inside the
    LV cavity in LPS mm, when given), then measurement."""
    from wallthick.measure import measure_labels
    from wallthick.segment import segment_heart

    if lv_seed_mm is None:
        yield 5, "Segmenting the heart…"
        labels = segment_heart(image)
    else:
        yield 5, "Segmenting the heart from your LV seed point…"
        labels = segment_heart(image, lv_seed_mm=lv_seed_mm)
    yield 55, "Measuring wall thickness…"
    result = measure_labels(labels, image, segmentation_source="auto")
    yield 100, "Measured."
    return result


def recompute_job(
    labels: LabelVolume, image: ImageVolume | None, corrected: bool
) -> Generator[Progress, None, MeasurementResult]:
    """Measurement of (edited) labels."""
    from wallthick.measure import measure_labels

    yield 10, "Recomputing from the edited labels…"
    source = "corrected" if corrected else "auto"
    result = measure_labels(labels, image, segmentation_source=source)
    yield 100, "Recomputed."
    return result


def save_job(
    folder: Path,
    labels: LabelVolume,
    image: ImageVolume | None,
    automatic: LabelVolume | None,
    automatic_measurement: Measurement | None,
    analyst: str,
    versions: Mapping[str, str],
) -> Generator[Progress, None, SavedCorrection]:
    """Measure the corrected labels, then write them with their provenance."""
    from wallthick.measure import measure_labels

    reference = automatic if automatic is not None else _folder_automatic(folder)
    check_correction(folder, labels, reference)
    assert reference is not None
    yield 10, "Measuring the corrected labels…"
    after = measure_labels(labels, image, segmentation_source="corrected")
    before = automatic_measurement
    if before is None:
        yield 45, "Measuring the automatic labels (for the provenance)…"
        before = measure_labels(reference, image, segmentation_source="auto").measurement
    yield 80, "Writing the correction…"
    saved = save_correction(
        folder,
        labels,
        image,
        automatic=reference,
        analyst=analyst,
        versions=versions,
        result=after,
        automatic_measurement=before,
    )
    yield 100, f"Saved to {folder}."
    return saved


def _folder_automatic(folder: Path) -> LabelVolume | None:
    path = folder / SEGMENTATION_NIFTI
    return read_labels(path) if path.is_file() else None


# -- state (GUI thread only) ---------------------------------------------------
@dataclass
class Analysis:
    """What the widget knows about the scan being analysed.

    ``automatic`` is the reference segmentation of the provenance diff (from
    Run, or ``segmentation.nii.gz`` of a results folder); ``result`` is the
    latest measurement shown.
    """

    image_name: str = ""
    automatic: LabelVolume | None = None
    automatic_measurement: Measurement | None = None
    result: MeasurementResult | None = None
    series_folder: Path | None = None
    stored_measurement: Measurement | None = None
    last_saved: Mapping[str, Any] | None = field(default=None)

    def reset(self, image_name: str, context: Mapping[str, Any]) -> None:
        """Start over for another image layer (``context``: its wallthick metadata)."""
        self.image_name = image_name
        self.automatic = None
        self.automatic_measurement = None
        self.result = None
        self.last_saved = None
        folder = context.get("series_folder")
        self.series_folder = Path(folder) if isinstance(folder, str) and folder else None
        stored = context.get("measurement")
        self.stored_measurement = (
            Measurement.from_dict(stored) if isinstance(stored, Mapping) else None
        )
        if self.series_folder is not None:
            self.automatic = _folder_automatic(self.series_folder)
            if context.get("segmentation_source") == "auto":
                self.automatic_measurement = self.stored_measurement

    def accept_run(self, result: MeasurementResult) -> None:
        self.automatic = result.labels
        self.automatic_measurement = result.measurement
        self.result = result

    def accept_recompute(self, result: MeasurementResult) -> None:
        self.result = result

    def accept_save(self, outcome: SavedCorrection) -> None:
        self.result = outcome.result
        self.automatic = outcome.automatic
        self.automatic_measurement = outcome.automatic_measurement
        self.last_saved = outcome.provenance

    def is_corrected(self, labels: np.ndarray) -> bool:
        """True when ``labels`` differ from the automatic segmentation."""
        if self.automatic is None or self.automatic.array.shape != labels.shape:
            return True
        return not np.array_equal(self.automatic.array, labels)

    @property
    def shown_measurement(self) -> Measurement | None:
        """The measurement to tabulate (latest computed, else the stored one)."""
        return self.result.measurement if self.result is not None else self.stored_measurement
