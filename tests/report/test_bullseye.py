from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Wedge

from wallthick.measure.aha import POSTERIOR_SEGMENTS, SEPTAL_SEGMENTS
from wallthick.report.bullseye import draw_bullseye, segment_geometry


def _center_angle(seg: int) -> float:
    _, _, t1, t2 = segment_geometry(seg)
    return ((t1 + t2) / 2.0) % 360.0


def test_standard_aha_layout() -> None:
    # segment 1 (basal anterior) at the top; 13 (apical anterior) too
    assert _center_angle(1) == 90.0 and _center_angle(7) == 90.0 and _center_angle(13) == 90.0
    # septal segments on the left half, posterior (inferolateral) on the lower right
    for seg in (*SEPTAL_SEGMENTS, 14):
        assert 90.0 < _center_angle(seg) < 270.0
    for seg in POSTERIOR_SEGMENTS:
        assert 270.0 < _center_angle(seg) < 360.0
    # rings: basal outside mid outside apical outside the apex cap
    radii = [segment_geometry(s)[:2] for s in (1, 7, 13, 17)]
    assert radii == [(3.0, 4.0), (2.0, 3.0), (1.0, 2.0), (0.0, 1.0)]
    # each ring covers the full circle exactly once
    for ring in (range(1, 7), range(7, 13), range(13, 17)):
        assert sum(segment_geometry(s)[3] - segment_geometry(s)[2] for s in ring) == 360.0


def test_segment_out_of_range() -> None:
    with pytest.raises(ValueError, match="AHA segment 1-17, got 18"):
        segment_geometry(18)


def test_draw_bullseye_colours_and_missing() -> None:
    fig = Figure()
    ax = fig.subplots()
    values = {s: float(s) for s in range(1, 17)}  # 17 missing
    draw_bullseye(ax, values, vmin=0.0, vmax=16.0, cmap="viridis")
    wedges = [p for p in ax.patches if isinstance(p, Wedge)]
    circles = [p for p in ax.patches if isinstance(p, Circle) and not isinstance(p, Wedge)]
    assert len(wedges) == 16 and len(circles) == 1
    assert circles[0].get_hatch() == "///"
    faces = np.array([w.get_facecolor() for w in wedges])
    assert len({tuple(np.round(f, 4)) for f in faces}) == 16  # distinct colours
    texts = [t.get_text() for t in ax.texts]
    assert "17\nn/a" in texts and "1\n1.0" in texts
    with pytest.raises(ValueError, match="'vmin' < 'vmax'"):
        draw_bullseye(ax, values, vmin=1.0, vmax=1.0)
    assert math.isfinite(values[1])


def test_marked_segments_are_outlined_with_their_direction() -> None:
    fig = Figure()
    ax = fig.subplots()
    values = {s: 0.1 * s for s in range(1, 18)}
    draw_bullseye(
        ax, values, vmin=-2.0, vmax=2.0, fmt="{:+.1f}", marks={5: "thickened", 9: "thinned"}
    )
    wedges = [p for p in ax.patches if isinstance(p, Wedge)]  # segments 1-16 in order
    widths = {seg: w.get_linewidth() for seg, w in zip(range(1, 17), wedges, strict=True)}
    assert widths[5] == widths[9] >= 2 * max(v for s, v in widths.items() if s not in (5, 9))
    assert wedges[4].get_edgecolor()[:3] == (0.0, 0.0, 0.0)
    texts = [t.get_text() for t in ax.texts]
    assert "5\n+0.5 ▲" in texts and "9\n+0.9 ▼" in texts and "6\n+0.6" in texts
