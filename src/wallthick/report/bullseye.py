"""The AHA 17-segment bull's-eye plot (Cerqueira et al., Circulation 2002).

Standard layout: rings from outside in are basal (1-6), mid (7-12), apical
(13-16) and the apex cap (17). Segment 1 (basal anterior) is at the top and
numbering runs counter-clockwise, so the septum (2, 3, 8, 9, 14) is on the left
and the lateral wall (5, 6, 11, 12, 16) on the right.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.patches import Circle, Wedge

__all__ = ["changed_segments_text", "draw_bullseye", "segment_geometry"]

# Ring radii (apex cap, apical, mid, basal outer edges).
_R_APEX, _R_APICAL, _R_MID, _R_BASAL = 1.0, 2.0, 3.0, 4.0


def segment_geometry(segment: int) -> tuple[float, float, float, float]:
    """``(inner_radius, outer_radius, theta1_deg, theta2_deg)`` of a segment, angles
    counter-clockwise from 3 o'clock (segment 17 is the full central disc).

    Examples
    --------
    >>> segment_geometry(1)
    (3.0, 4.0, 60.0, 120.0)
    >>> segment_geometry(14)
    (1.0, 2.0, 135.0, 225.0)
    """
    if segment == 17:
        return (0.0, _R_APEX, 0.0, 360.0)
    if 1 <= segment <= 12:
        inner, outer = (_R_MID, _R_BASAL) if segment <= 6 else (_R_APICAL, _R_MID)
        k = (segment - 1) % 6
        start = 60.0 + 60.0 * k
        return (inner, outer, start, start + 60.0)
    if 13 <= segment <= 16:
        start = 45.0 + 90.0 * (segment - 13)
        return (_R_APEX, _R_APICAL, start, start + 90.0)
    raise ValueError(f"Argument 'segment' must be an AHA segment 1-17, got {segment}.")


def changed_segments_text(marks: Mapping[int, str]) -> str:
    """Which segments changed beyond error, for a change map's title.

    Examples
    --------
    >>> changed_segments_text({9: "thickened", 8: "thickened", 12: "thinned"})
    'thickened beyond error: 8, 9; thinned: 12'
    >>> changed_segments_text({})
    'no segment beyond error'
    """
    parts: list[str] = []
    for flag in ("thickened", "thinned"):
        segs = sorted(s for s, f in marks.items() if f == flag)
        if segs:
            name = f"{flag} beyond error" if not parts else flag
            parts.append(f"{name}: " + ", ".join(str(s) for s in segs))
    return "; ".join(parts) or "no segment beyond error"


def draw_bullseye(
    ax: Axes,
    values_mm: Mapping[int, float],
    *,
    vmin: float,
    vmax: float,
    cmap: str | Colormap = "viridis",
    title: str = "",
    colorbar_label: str | None = "mm",
    fmt: str = "{:.1f}",
    marks: Mapping[int, str] | None = None,
) -> ScalarMappable:
    """Draw a 17-segment bull's-eye of ``values_mm`` (segment -> value) on ``ax``.

    Missing or NaN segments are drawn hatched grey. ``marks`` maps segments to
    ``"thickened"`` / ``"thinned"``: those get a thick black outline and a
    ▲ / ▼ after their value (a change beyond error). Returns the colour mapping
    (for a colour bar). A colour bar is added when ``colorbar_label`` is not None.
    """
    if not vmax > vmin:
        raise ValueError(f"Arguments 'vmin' < 'vmax' required, got vmin={vmin}, vmax={vmax}.")
    colormap = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    norm = Normalize(vmin=vmin, vmax=vmax)
    for seg in range(1, 18):
        value = float(values_mm.get(seg, math.nan))
        _draw_segment(ax, seg, value, colormap, norm, fmt, (marks or {}).get(seg, ""))
    ax.set_xlim(-_R_BASAL - 0.6, _R_BASAL + 0.6)
    ax.set_ylim(-_R_BASAL - 0.6, _R_BASAL + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    style: dict[str, Any] = {"fontsize": 7, "color": "#333333", "ha": "center", "va": "center"}
    ax.text(0, _R_BASAL + 0.35, "anterior", **style)
    ax.text(0, -_R_BASAL - 0.35, "inferior", **style)
    ax.text(-_R_BASAL - 0.35, 0, "septal", rotation=90, **style)
    ax.text(_R_BASAL + 0.35, 0, "lateral", rotation=-90, **style)
    if title:
        ax.set_title(title, fontsize=9)
    mappable = ScalarMappable(norm=norm, cmap=colormap)
    if colorbar_label is not None and ax.figure is not None:
        cb = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.02)
        cb.set_label(colorbar_label, fontsize=8)
        cb.ax.tick_params(labelsize=7)
    return mappable


_MARK_SYMBOLS = {"thickened": " ▲", "thinned": " ▼"}


def _draw_segment(
    ax: Axes, seg: int, value: float, colormap: Colormap, norm: Normalize, fmt: str, mark: str
) -> None:
    inner, outer, t1, t2 = segment_geometry(seg)
    missing = not math.isfinite(value)
    face = (0.85, 0.85, 0.85, 1.0) if missing else colormap(norm(value))
    common: dict[str, Any] = {"facecolor": face, "edgecolor": "white", "linewidth": 1.2}
    if mark in _MARK_SYMBOLS:
        common.update(edgecolor="black", linewidth=2.4, zorder=3)
    if missing:
        common["hatch"] = "///"
    if seg == 17:
        ax.add_patch(Circle((0.0, 0.0), outer, **common))
        cx = cy = 0.0
    else:
        ax.add_patch(Wedge((0.0, 0.0), outer, t1, t2, width=outer - inner, **common))
        mid_r, mid_t = (inner + outer) / 2.0, math.radians((t1 + t2) / 2.0)
        cx, cy = mid_r * math.cos(mid_t), mid_r * math.sin(mid_t)
    luminance = 0.5 if missing else float(np.dot(face[:3], (0.299, 0.587, 0.114)))
    color = "black" if luminance > 0.5 else "white"
    label = f"{seg}\n" + ("n/a" if missing else fmt.format(value)) + _MARK_SYMBOLS.get(mark, "")
    ax.text(
        cx, cy, label, ha="center", va="center", fontsize=6.5, color=color, linespacing=1.0,
        zorder=4,
    )  # fmt: skip
