"""QC picture of one measurement: where the contours and the measured walls are.

:func:`render_qc_picture` draws three panels with matplotlib's Agg canvas (no
display needed): an axial slice and a short-axis reformat through the
mid-ventricle, both with the LV cavity / myocardium / RV contours and the septal
and posterior probes, and the short-axis thickness map.
"""

from __future__ import annotations

import logging
import math
import textwrap
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from wallthick.labels import LABEL_COLORS, Label
from wallthick.measure.result import MeasurementResult
from wallthick.report._planes import (
    Plane,
    axial_plane,
    project_segments,
    sample_plane,
    short_axis_plane,
)
from wallthick.results import atomic_write

__all__ = ["render_qc_picture", "qc_figure", "PROBE_COLORS"]

logger = logging.getLogger(__name__)

#: Colours of the drawn septal / posterior measurements.
PROBE_COLORS: dict[str, str] = {"septal": "#ffd400", "posterior": "#00e5ff"}
#: Drawn in this order (the cavity last, so its edge stays visible on the myocardium's).
_CONTOURED = (Label.RV_BLOOD_POOL, Label.LV_MYOCARDIUM, Label.LV_BLOOD_POOL)
_MID_SEGMENTS = (7, 8, 9, 10, 11, 12)
_MAX_PIXELS = 400
#: Probes further than this from a panel's plane are drawn faint.
_IN_PLANE_MM = 6.0


def render_qc_picture(result: MeasurementResult, out_png: Path) -> None:
    """Write the QC picture of ``result`` to ``out_png`` (atomically).

    Parameters
    ----------
    result : MeasurementResult
        A measurement with its labels, LV frame and probes. ``result.image``
        may be ``None`` (the labels are then shown as grey levels).
    out_png : pathlib.Path
        Destination PNG; its folder must exist. Written to a temporary file in
        the same folder, then renamed.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`MeasurementResult`.
    FileNotFoundError
        If the folder of ``out_png`` does not exist.
    """
    if not isinstance(result, MeasurementResult):
        raise TypeError(
            f"Argument 'result' must be a MeasurementResult, got {type(result).__name__}."
        )
    out_png = Path(out_png)
    if not out_png.parent.is_dir():
        raise FileNotFoundError(f"Folder of the QC picture does not exist: {out_png.parent}")
    fig = qc_figure(result)
    with atomic_write(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    logger.debug("QC picture written to %s", out_png)


def qc_figure(result: MeasurementResult) -> Figure:
    """The QC picture as a matplotlib :class:`~matplotlib.figure.Figure`."""
    center, half_width, step = _view_box(result)
    planes = {
        "Axial (mid-ventricle)": axial_plane(center, half_width, step),
        "Short axis (mid-ventricle)": short_axis_plane(result.frame, center, half_width, step),
    }
    fig = Figure(figsize=(13.5, 5.0))
    axes = fig.subplots(1, 3)
    for ax, (name, plane) in zip(axes[:2], planes.items(), strict=True):
        _draw_anatomy(ax, result, plane)
        _draw_probes(ax, result, plane)
        ax.set_title(name, fontsize=10)
    _draw_thickness(fig, axes[2], result, planes["Short axis (mid-ventricle)"])
    _draw_orientation(axes[0], ("R", "L", "A", "P"))
    _draw_orientation(axes[1], ("septum", "lateral", "anterior", "inferior"))
    title = _title(result)
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=_legend_handles(), loc="lower center", ncol=5, fontsize=8, frameon=False)
    top = 0.92 - 0.05 * (title.count("\n") + 1)
    fig.subplots_adjust(left=0.03, right=0.97, top=top, bottom=0.1, wspace=0.25)
    return fig


# -- geometry of the views ------------------------------------------------------
def _view_box(result: MeasurementResult) -> tuple[npt.NDArray[np.float64], float, float]:
    """Centre on the long axis at mid-ventricular level, half width and pixel step."""
    frame = result.frame
    apex = np.asarray(frame.apex_mm, dtype=np.float64)
    axis = np.asarray(frame.long_axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    geom = result.labels.geometry
    # every myocardial voxel lies in the maps' box: search it, not the whole grid
    box_myo = np.argwhere(result.labels.array[result.box] == int(Label.LV_MYOCARDIUM))
    myo = box_myo + np.asarray(result.box_start)
    length = float(np.dot(np.asarray(frame.base_center_mm) - apex, axis))
    level = 0.5 * length
    if myo.size == 0:
        return apex + level * axis, 40.0, float(min(geom.spacing_mm))
    mid = np.isin(result.box_segments[tuple(box_myo.T)], _MID_SEGMENTS)
    pts = geom.index_to_world(myo[mid] if mid.any() else myo)
    along = (pts - apex) @ axis
    if mid.any():
        level = float(np.median(along))
    radial = np.linalg.norm((pts - apex) - along[:, None] * axis, axis=1)
    radius = float(np.percentile(radial, 98))
    half_width = float(np.clip(2.0 * radius + 5.0, 35.0, 120.0))
    step = max(float(min(geom.spacing_mm)) * 0.5, 2.0 * half_width / _MAX_PIXELS)
    return apex + level * axis, half_width, step


# -- drawing ------------------------------------------------------------------
def _draw_anatomy(ax: Axes, result: MeasurementResult, plane: Plane) -> None:
    labels = sample_plane(
        result.labels.array, result.labels.geometry, plane, order=0, cval=0
    ).astype(np.int64)
    if result.image is not None:
        grey = sample_plane(result.image.array, result.image.geometry, plane, order=1, cval=np.nan)
        vmin, vmax = _window(grey)
    else:
        grey, vmin, vmax = labels.astype(np.float64), 0.0, float(max(Label))
    cmap = matplotlib.colormaps["gray"].with_extremes(bad="black")
    ax.imshow(grey, cmap=cmap, vmin=vmin, vmax=vmax, extent=plane.extent, interpolation="nearest")
    offs = (np.arange(plane.size) - (plane.size - 1) / 2.0) * plane.step_mm
    for label in _CONTOURED:
        mask = (labels == int(label)).astype(np.float64)
        if 0 < mask.sum() < mask.size:
            ax.contour(
                offs, offs, mask, levels=[0.5], colors=[LABEL_COLORS[label][:3]], linewidths=1.0
            )
    ax.set_xlim(plane.extent[0], plane.extent[1])
    ax.set_ylim(plane.extent[2], plane.extent[3])
    ax.set_xticks([])
    ax.set_yticks([])


def _window(grey: npt.NDArray[np.float64]) -> tuple[float, float]:
    finite = grey[np.isfinite(grey)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [1.0, 99.5])
    return float(lo), float(max(hi, lo + 1e-6))


def _draw_probes(ax: Axes, result: MeasurementResult, plane: Plane) -> None:
    for wall, color in PROBE_COLORS.items():
        segs = result.probes.get(wall)
        if segs is None or np.asarray(segs).size == 0:
            continue
        xy, dist = project_segments(segs, plane)
        for line, d in zip(xy, dist, strict=True):
            near = d <= _IN_PLANE_MM
            ax.plot(
                line[:, 0],
                line[:, 1],
                color=color,
                linewidth=2.0 if near else 1.0,
                alpha=1.0 if near else 0.35,
                linestyle="-" if near else "--",
                marker="o",
                markersize=2.5 if near else 1.5,
            )


def _draw_thickness(fig: Figure, ax: Axes, result: MeasurementResult, plane: Plane) -> None:
    thick = result.box_thickness_mm
    sampled = sample_plane(
        thick, result.labels.geometry, plane, order=0, cval=-1.0, start=result.box_start
    )
    shown = np.ma.masked_less(np.where(np.isfinite(sampled), sampled, -1.0), 0.0)
    finite = thick[np.isfinite(thick)]
    vmax = max(15.0, float(np.percentile(finite, 99))) if finite.size else 15.0
    im = ax.imshow(
        shown, cmap="viridis", vmin=0.0, vmax=vmax, extent=plane.extent, interpolation="nearest"
    )
    _draw_probes(ax, result, plane)
    ax.set_facecolor("#202020")
    ax.set_xlim(plane.extent[0], plane.extent[1])
    ax.set_ylim(plane.extent[2], plane.extent[3])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("Wall thickness, short axis (mm)", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)


def _draw_orientation(ax: Axes, names: tuple[str, str, str, str]) -> None:
    left, right, top, bottom = names
    box = {"facecolor": "black", "alpha": 0.6, "edgecolor": "none", "pad": 1.0}
    style: dict[str, Any] = {
        "color": "white",
        "fontsize": 7,
        "transform": ax.transAxes,
        "bbox": box,
    }
    ax.text(0.01, 0.5, left, ha="left", va="center", **style)
    ax.text(0.99, 0.5, right, ha="right", va="center", **style)
    ax.text(0.5, 0.99, top, ha="center", va="top", **style)
    ax.text(0.5, 0.01, bottom, ha="center", va="bottom", **style)


def _fmt_pm(value: float, unc: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.1f} ± {unc:.1f} mm" if math.isfinite(unc) else f"{value:.1f} mm"


def _title(result: MeasurementResult) -> str:
    m = result.measurement
    uid = m.series.series_instance_uid
    line2 = [f"series …{uid[-16:]}" if uid else "series (no UID)"]
    if m.phase:
        line2.append(f"phase {m.phase}")
    line2.append(f"segmentation {m.segmentation_source}")
    failed = m.failed_criteria
    qc = "QC FAILED: " + ", ".join(failed) if failed else "QC: passed"
    return (
        f"Septal {_fmt_pm(m.septal_thickness_mm, m.septal_uncertainty_mm)}    "
        f"Posterior {_fmt_pm(m.posterior_wall_thickness_mm, m.posterior_uncertainty_mm)}\n"
        + "   ·   ".join(line2)
        + "\n"
        + textwrap.fill(qc, width=130)
    )


def _legend_handles() -> list[Line2D]:
    names = {
        Label.LV_BLOOD_POOL: "LV cavity",
        Label.LV_MYOCARDIUM: "LV myocardium",
        Label.RV_BLOOD_POOL: "RV",
    }
    handles = [Line2D([], [], color=LABEL_COLORS[k][:3], label=v) for k, v in names.items()]
    handles += [
        Line2D([], [], color=c, marker="o", linewidth=2, label=f"{w} measurement")
        for w, c in PROBE_COLORS.items()
    ]
    return handles
