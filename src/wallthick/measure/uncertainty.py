"""Per-scan 1-sigma uncertainty of a regional mean thickness.

The uncertainty of the mean thickness over a region (the septum, the
posterior wall, one AHA segment) is built from its sources, each in mm, and
combined in quadrature (``docs/method.md``):

* ``spread`` - standard error of the mean from the within-region spread,
  with ``n_eff = area / correlation area`` independent samples instead of
  the number of lines (neighbouring lines share voxels and noise); few
  usable lines give a small ``n_eff`` and a large term;
  image noise, weak contrast (a weak RV, faint LV blood) and a ragged
  segmentation all show up in this scatter, so it is not counted again;
* ``reference`` - a systematic error of the local reference levels,
  ``REFERENCE_FRACTION`` of the contrast, moves every edge of the region the
  same way by that fraction of its window (at most half a voxel); the two
  edges share the myocardium reference, so they add linearly;
* ``disagreement`` - where the image places an edge further from the label
  edge than the refinement may follow (half a voxel), the rest stays in the
  thickness: the region's median over its lines of ``offset - shift`` summed
  over both edges (the median, so that single lines meeting a trabecula or a
  neighbouring structure do not count; zero where labels and image agree);
* ``tail`` - ``|mean - median|`` of the region's thicknesses: a minority of
  lines much thicker or thinner than the rest (a papillary muscle or a
  trabecula taken into the wall, a bite out of it) pulls the mean by about
  this much, and the image cannot tell whether they belong to the wall;
* ``label_edge`` - an edge without usable contrast (weak RV, liver) keeps
  the label edge, known to half a voxel plus the segmenter's own error
  there (``LABEL_EDGE_EXTRA_MM``), per weak edge, weighted by the fraction
  of such lines; the two edges add linearly;
* ``method`` - residual bias of the method itself (straight lines, partial
  volume of the voxelised labels): on the analytic shells at most ~0.05 mm
  per mm of the largest voxel spacing (``METHOD_MM_PER_MM``).

``REFERENCE_FRACTION`` and ``LABEL_EDGE_EXTRA_MM`` were set on development
phantoms only (``scripts/coverage.py fit`` on seeds 7019-7031 and 8000-8009;
``docs/validation.md``, "Calibration of the uncertainty"); the other terms
have no free constant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from wallthick.measure.thickness import WallProfiles

__all__ = ["combine_terms", "region_uncertainty", "uncertainty_terms"]

BoolArray = npt.NDArray[np.bool_]

#: Segmenter label-edge error where the image cannot place the edge (fitted on development seeds).
LABEL_EDGE_EXTRA_MM = 0.2
#: Systematic error of a reference level as a fraction of the contrast (fitted likewise).
REFERENCE_FRACTION = 0.0075
#: Residual method bias per mm of the largest voxel spacing (analytic shells).
METHOD_MM_PER_MM = 0.05


def uncertainty_terms(
    prof: WallProfiles,
    sel: BoolArray,
    step_mm: float,
    max_spacing_mm: float,
    min_contrast_hu: float = 60.0,
) -> dict[str, float]:
    """The sources of the uncertainty of the mean thickness over ``sel``.

    Returns the terms that do not depend on the model's constants (mm) and
    what those constants multiply: ``window_mm`` (mean window of the edges
    with contrast, for ``REFERENCE_FRACTION``), ``half_voxel_mm`` and
    ``weak_edges`` (weak edges per line, 0-2, for ``LABEL_EDGE_EXTRA_MM``).
    Empty when fewer than two lines are selected.
    """
    n = int(sel.sum())
    if n < 2:
        return {}
    area = n * step_mm**2
    corr_len = 2.0 * max_spacing_mm + 1.0
    n_eff = max(1.0, area / (math.pi * corr_len**2))
    half = prof.half_voxel_mm[sel]
    win = prof.window_mm[sel]
    windows, weak_edges, resid = 0.0, 0.0, np.zeros(n)
    for contrast, offset, shift in (
        (prof.contrast_endo[sel], prof.offset_endo_mm[sel], prof.shift_endo_mm[sel]),
        (prof.contrast_epi[sel], prof.offset_epi_mm[sel], prof.shift_epi_mm[sel]),
    ):
        weak = np.abs(contrast) < min_contrast_hu
        windows += float(np.mean(np.where(weak, 0.0, win)))
        weak_edges += float(np.mean(weak))
        resid += np.where(weak, 0.0, offset - shift)
    t = prof.thickness_mm[sel]
    return {
        "spread_mm": float(np.std(t, ddof=1)) / math.sqrt(n_eff),
        "tail_mm": abs(float(np.mean(t)) - float(np.median(t))),
        "disagreement_mm": abs(float(np.median(resid))),
        "method_mm": METHOD_MM_PER_MM * max_spacing_mm,
        "window_mm": windows,
        "half_voxel_mm": float(np.mean(half)),
        "weak_edges": weak_edges,
        "n_eff": n_eff,
        "n_lines": float(n),
    }


def combine_terms(
    terms: Mapping[str, float],
    reference_fraction: float = REFERENCE_FRACTION,
    label_edge_extra_mm: float = LABEL_EDGE_EXTRA_MM,
) -> tuple[float, dict[str, float]]:
    """1-sigma uncertainty (mm) from :func:`uncertainty_terms` and the model's constants.

    Returns the total and every term in mm (``reference_mm`` and
    ``label_edge_mm`` included).
    """
    if not terms:
        return math.nan, {}
    h = terms["half_voxel_mm"]
    reference = min(reference_fraction * terms["window_mm"], 2.0 * h)
    label_edge = terms["weak_edges"] * (h + label_edge_extra_mm)
    parts = dict(terms, reference_mm=reference, label_edge_mm=label_edge)
    keys = ("spread_mm", "tail_mm", "reference_mm", "disagreement_mm", "label_edge_mm", "method_mm")
    parts.setdefault("tail_mm", 0.0)
    return math.sqrt(sum(parts[k] ** 2 for k in keys)), parts


def region_uncertainty(
    prof: WallProfiles,
    sel: BoolArray,
    step_mm: float,
    max_spacing_mm: float,
    scale: float = 1.0,
    min_contrast_hu: float = 60.0,
) -> tuple[float, dict[str, float]]:
    """Uncertainty (mm) of the mean thickness over the lines in ``sel`` and its terms."""
    terms = uncertainty_terms(prof, sel, step_mm, max_spacing_mm, min_contrast_hu)
    total, parts = combine_terms(terms)
    return scale * total, parts
