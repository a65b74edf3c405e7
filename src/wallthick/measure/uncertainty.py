"""Per-scan 1-sigma uncertainty of a regional mean thickness.

Three terms, combined in quadrature (``docs/method.md``):

* ``spread`` - standard error of the mean from the within-region spread,
  with ``n_eff = area / correlation area`` independent samples instead of
  the number of lines (neighbouring lines share voxels and noise);
* ``boundary`` - sensitivity of the refined edges to their reference
  levels: the membership mid-level moved by ``noise/contrast`` shifts an edge
  by ``noise/contrast * window`` (at most half a voxel), both edges in the
  same direction;
* ``label_edge`` - where an edge had no usable contrast (weak RV, liver) or
  its intensity edge disagreed with the label, the label boundary is kept and
  is only known to about half a voxel plus the segmenter's error there:
  ``fraction of such edges * (half voxel + 0.3 mm)`` per edge.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from wallthick.measure.thickness import WallProfiles

__all__ = ["region_uncertainty"]

BoolArray = npt.NDArray[np.bool_]

#: Segmenter label-edge error assumed where the image cannot place the edge.
LABEL_EDGE_EXTRA_MM = 0.3
#: Systematic error of a reference level as a fraction of the contrast.
REFERENCE_FRACTION = 0.03


def region_uncertainty(
    prof: WallProfiles,
    sel: BoolArray,
    step_mm: float,
    max_spacing_mm: float,
    noise_hu: float,
    scale: float = 1.0,
) -> tuple[float, dict[str, float]]:
    """Uncertainty (mm) of the mean thickness over the lines in ``sel``."""
    n = int(sel.sum())
    if n < 2:
        return math.nan, {}
    t = prof.thickness_mm[sel]
    area = n * step_mm**2
    corr_len = 2.0 * max_spacing_mm + 1.0
    n_eff = max(1.0, area / (math.pi * corr_len**2))
    spread = float(np.std(t, ddof=1)) / math.sqrt(n_eff)
    half = prof.half_voxel_mm[sel]
    win = prof.window_mm[sel]
    terms = []
    for contrast, unc in (
        (prof.contrast_endo[sel], prof.uncertain_endo[sel]),
        (prof.contrast_epi[sel], prof.uncertain_epi[sel]),
    ):
        eps = np.hypot(
            noise_hu / np.maximum(np.abs(contrast), 1.0) / math.sqrt(n_eff), REFERENCE_FRACTION
        )
        shift = np.minimum(eps * win, half)
        terms.append(float(np.mean(np.where(unc, 0.0, shift))))
    boundary = terms[0] + terms[1]
    label_edge = float(
        np.mean(prof.uncertain_endo[sel]) * np.mean(half + LABEL_EDGE_EXTRA_MM)
        + np.mean(prof.uncertain_epi[sel]) * np.mean(half + LABEL_EDGE_EXTRA_MM)
    )
    total = scale * math.sqrt(spread**2 + boundary**2 + label_edge**2)
    parts = {
        "spread_mm": spread,
        "boundary_mm": boundary,
        "label_edge_mm": label_edge,
        "n_eff": n_eff,
    }
    return total, parts
