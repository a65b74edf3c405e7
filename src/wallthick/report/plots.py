"""Figures of the cohort report (matplotlib, no display needed).

Every function returns a :class:`~matplotlib.figure.Figure` built without
pyplot, so nothing global changes and the Agg/PDF canvases can render it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import matplotlib.dates as mdates
import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from wallthick.compare import WALLS, ComparisonRow
from wallthick.measure.aha import AHA_SEGMENTS
from wallthick.regional import SegmentChange
from wallthick.report.bullseye import changed_segments_text, draw_bullseye

__all__ = [
    "FLAG_COLORS",
    "bullseye_figure",
    "segment_values",
    "study_datetime",
    "timeline_figure",
    "waterfall_figure",
]

FLAG_COLORS: dict[str, str] = {
    "thickened": "#c62828",
    "thinned": "#1565c0",
    "stable": "#757575",
    "not_compared": "#ff9800",
}
_FLAG_MARKERS = {"thickened": "^", "thinned": "v", "stable": "o", "not_compared": "x"}
_WALL_COLORS = {"septal": "#6a1b9a", "posterior": "#00897b"}
_Z95 = 1.959964


def segment_values(row: Mapping[str, str]) -> dict[int, float]:
    """AHA segment -> mean thickness (mm) from a measurements.csv row."""
    return {s: _num(row.get(f"aha_{s}_mm")) for s in AHA_SEGMENTS}


def study_datetime(row: Mapping[str, str]) -> datetime | None:
    """Study date and time of a row (None when the date is missing)."""
    day = str(row.get("study_date", "") or "").replace("-", "")
    tm = "".join(ch for ch in str(row.get("study_time", "") or "").split(".")[0] if ch.isdigit())
    try:
        return datetime.strptime(day + (tm + "000000")[:6], "%Y%m%d%H%M%S")
    except ValueError:
        try:
            return datetime.strptime(day, "%Y%m%d")
        except ValueError:
            return None


def bullseye_figure(
    scans: Sequence[Mapping[str, str]],
    baseline_uid: str | None,
    title: str = "",
    segment_changes: Sequence[SegmentChange] = (),
) -> Figure:
    """Thickness bull's-eyes of each scan (top) and change from baseline (bottom).

    ``scans`` are one subject's rows in time order; ``baseline_uid`` picks the
    reference scan (default: the first). Segments that ``segment_changes``
    (:func:`wallthick.regional.compare_segments`) flag as changed beyond error
    are outlined and marked ▲ / ▼ on the change maps.
    """
    if not scans:
        raise ValueError("Argument 'scans' must hold at least one measurements row.")
    base = next((s for s in scans if s.get("series_instance_uid") == baseline_uid), scans[0])
    n = len(scans)
    fig = Figure(figsize=(3.3 * max(n, 2), 6.4))
    axes = np.atleast_2d(fig.subplots(2, max(n, 2), squeeze=False))
    values = [segment_values(s) for s in scans]
    finite = [v for vals in values for v in vals.values() if math.isfinite(v)]
    vmax = max(15.0, math.ceil(max(finite))) if finite else 15.0
    base_vals = segment_values(base)
    deltas = [{k: vals[k] - base_vals[k] for k in vals} for vals in values]
    dmax = max([2.0, *(abs(v) for d in deltas for v in d.values() if math.isfinite(v))])
    flagged: dict[tuple[str, str], dict[int, str]] = {}
    for c in segment_changes:
        if c.flag != "not_compared":
            marks = flagged.setdefault((c.baseline_series_uid, c.followup_series_uid), {})
            if c.changed:
                marks[c.segment] = c.flag
    base_uid = str(base.get("series_instance_uid", ""))
    for i, (scan, vals, delta) in enumerate(zip(scans, values, deltas, strict=True)):
        label = _scan_label(scan) + (" (baseline)" if scan is base else "")
        if scan.get("status") == "qc_failed" or scan.get("qc_flags"):
            label += "\nQC failed: not compared"
        draw_bullseye(axes[0, i], vals, vmin=0.0, vmax=vmax, cmap="viridis", title=label)
        if scan is base:
            axes[1, i].axis("off")
            axes[1, i].text(0.5, 0.5, "change from baseline →", ha="center", fontsize=9)
            continue
        pair = (base_uid, str(scan.get("series_instance_uid", "")))
        marks = flagged.get(pair, {})
        change_title = f"change {_scan_label(scan)}"
        if pair in flagged:
            change_title += "\n" + changed_segments_text(marks)
        elif segment_changes:
            change_title += "\nsegments not tested"
        draw_bullseye(
            axes[1, i],
            delta,
            vmin=-dmax,
            vmax=dmax,
            cmap="RdBu_r",
            title=change_title,
            colorbar_label="Δ mm",
            fmt="{:+.1f}",
            marks=marks,
        )
    for ax in axes.ravel()[len(scans) :]:
        if not ax.has_data() and not ax.patches:
            ax.axis("off")
    for j in range(n, axes.shape[1]):
        axes[0, j].axis("off")
        axes[1, j].axis("off")
    fig.suptitle(title or "AHA 17-segment wall thickness (mm) at end-diastole", fontsize=11)
    return fig


def timeline_figure(
    scans: Sequence[Mapping[str, str]], comparisons: Sequence[ComparisonRow], title: str = ""
) -> Figure:
    """Septal and posterior thickness over time, bars = 95 % interval (±1.96 u),
    follow-ups marked with their flag."""
    fig = Figure(figsize=(8.0, 3.6))
    ax = fig.subplots()
    flags = {(c.followup_series_uid, c.wall): c for c in comparisons}
    for k, (wall, (value_col, unc_col)) in enumerate(WALLS.items()):
        pts = [(study_datetime(s), _num(s.get(value_col)), _num(s.get(unc_col)), s) for s in scans]
        pts = [p for p in pts if p[0] is not None and math.isfinite(p[1])]
        if not pts:
            continue
        xs = [float(mdates.date2num(p[0])) for p in pts if p[0] is not None]
        ys = [p[1] for p in pts]
        err = [_Z95 * p[2] if math.isfinite(p[2]) else 0.0 for p in pts]
        ax.errorbar(xs, ys, yerr=err, color=_WALL_COLORS[wall], capsize=3, lw=1.2, label=wall)
        for x, (_t, y, _u, s) in zip(xs, pts, strict=True):
            c = flags.get((str(s.get("series_instance_uid", "")), wall))
            if c is None:
                continue
            ax.plot(
                [x], [y], marker=_FLAG_MARKERS[c.flag], ms=9, color=FLAG_COLORS[c.flag], zorder=5
            )
            text = c.flag if c.compared else "not compared"
            ax.annotate(
                text, (x, y), textcoords="offset points", xytext=(6, 6 - 14 * k), fontsize=7
            )
    for s in scans:
        status, when = str(s.get("status", "ok")), study_datetime(s)
        if status == "ok" or when is None:
            continue
        xw = float(mdates.date2num(when))
        ax.axvline(xw, color=FLAG_COLORS["not_compared"], ls=":", lw=1)
        text = " QC failed" if status == "qc_failed" else " failed"
        ax.text(xw, 0.02, text, transform=ax.get_xaxis_transform(), fontsize=7)
    ax.set_ylabel("wall thickness (mm)")
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], ls="", marker=_FLAG_MARKERS[f], color=FLAG_COLORS[f], label=f)
        for f in ("thickened", "thinned", "stable", "not_compared")
    ]
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    ax.set_title(title or "Thickness over time (bars: 95 % interval, ±1.96 u)", fontsize=10)
    fig.subplots_adjust(right=0.78, bottom=0.22)
    return fig


def waterfall_figure(comparisons: Sequence[ComparisonRow], title: str = "") -> Figure:
    """Sorted changes of every compared pair, one panel per wall, coloured by
    flag; black ticks mark ± the pair's threshold."""
    fig = Figure(figsize=(10.0, 6.0))
    axes = fig.subplots(2, 1, sharey=True)
    for ax, wall in zip(axes, WALLS, strict=True):
        rows = sorted(
            (c for c in comparisons if c.wall == wall and c.compared),
            key=lambda c: -c.delta_mm,
        )
        if not rows:
            ax.text(0.5, 0.5, f"no compared {wall} pairs", ha="center", transform=ax.transAxes)
            ax.set_xticks([])
            continue
        x = np.arange(len(rows))
        ax.bar(x, [c.delta_mm for c in rows], color=[FLAG_COLORS[c.flag] for c in rows], width=0.8)
        thr = [c.threshold_mm for c in rows]
        for sign in (1.0, -1.0):
            ax.hlines([sign * t for t in thr], x - 0.4, x + 0.4, color="black", lw=1.2, zorder=3)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_ylabel(f"{wall} Δ (mm)")
        ax.set_xticks(x)
        ax.set_xticklabels([_pair_label(c) for c in rows], rotation=90, fontsize=6)
        ax.grid(axis="y", alpha=0.3)
    handles: list[Artist] = [
        Patch(color=FLAG_COLORS[f], label=f) for f in ("thickened", "thinned", "stable")
    ]
    handles.append(Line2D([], [], ls="", marker="_", color="black", ms=10, label="± threshold"))
    axes[0].legend(handles=handles, fontsize=7, loc="upper right")
    fig.suptitle(title or "Change from baseline across the cohort", fontsize=11)
    fig.tight_layout()
    return fig


def _pair_label(c: ComparisonRow) -> str:
    return f"{c.group} {c.followup_date}"


def _scan_label(row: Mapping[str, str]) -> str:
    day = str(row.get("study_date", "") or "")
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}" if len(day) == 8 else (day or "undated")


def _num(value: object) -> float:
    try:
        return float(str(value)) if value not in (None, "") else math.nan
    except ValueError:
        return math.nan
