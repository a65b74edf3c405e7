"""The short-axis mode's layers in the viewer (the napari side of :mod:`._sax`).

Entering the mode moves every layer already in the viewer into the SAX world
(:func:`~napari_wallthick._sax.sax_world_from_lps_world`) and hides it, adds the
SAX layers (CT, editable segmentation, thickness, AHA segment outlines, probes,
RV insertions) and docks the long-axis views; leaving restores everything.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import napari
import napari.layers
import numpy as np

from napari_wallthick._convert import (
    META_KEY,
    image_layer_data,
    labels_layer_data,
    thickness_layer_data,
)
from napari_wallthick._sax import (
    SAX_AXES,
    ShortAxisSession,
    insertion_markers,
    plane_view,
    sax_affine,
    sax_label_volume,
    sax_probe_lines,
    sax_world_from_lps_world,
)
from napari_wallthick._sax_view import LongAxisViews
from wallthick import MeasurementResult

__all__ = ["ShortAxisLayers"]

logger = logging.getLogger(__name__)

PROBE_COLORS = {"septal": "magenta", "posterior": "white"}
INSERTION_COLOR = "yellow"


class ShortAxisLayers:
    """The SAX layers of one session and the world change around them."""

    def __init__(self, viewer: napari.viewer.Viewer, image_name: str) -> None:
        self.viewer = viewer
        self.session: ShortAxisSession | None = None
        self.views = LongAxisViews()
        self._dock: Any = None
        self._backup: dict[int, tuple[napari.layers.Layer, np.ndarray, bool]] = {}
        self._axis_labels: tuple[str, ...] = ()
        suffix = image_name
        self.names = {
            "image": f"SAX CT {suffix}",
            "labels": f"SAX segmentation {suffix}",
            "thickness": f"SAX thickness mm {suffix}",
            "segments": f"SAX AHA segments {suffix}",
            "probes": f"SAX probes {suffix}",
            "insertions": f"SAX RV insertions {suffix}",
        }

    @property
    def active(self) -> bool:
        return self.session is not None

    def labels_layer(self) -> napari.layers.Labels | None:
        name = self.names["labels"]
        layer = self.viewer.layers[name] if name in self.viewer.layers else None
        return layer if isinstance(layer, napari.layers.Labels) else None

    def has_unsaved_edits(self) -> bool:
        layer = self.labels_layer()
        return bool(
            self.session and layer is not None and self.session.has_unsaved_edits(layer.data)
        )

    # -- enter / leave ----------------------------------------------------------
    def show(self, session: ShortAxisSession) -> None:
        self.session = session
        self._move_world(session)
        grid, extra = session.grid, {"grid": "short_axis"}
        data, kw, _ = image_layer_data(session.image, self.names["image"], extra)
        self.viewer.add_image(data, **self._sax_kwargs(kw, "sax_image"))
        lab = sax_label_volume(session, session.saved)
        data, kw, _ = labels_layer_data(lab, self.names["labels"], extra)
        labels = self.viewer.add_labels(data.copy(), **self._sax_kwargs(kw, "sax_labels"))
        self.viewer.add_labels(
            session.result.aha_segments.copy(),
            name=self.names["segments"],
            affine=sax_affine(grid),
            axis_labels=SAX_AXES,
            units="mm",
            opacity=0.9,
            metadata={META_KEY: {"kind": "sax_segments"}},
        ).contour = 1
        for key in ("probes", "insertions"):
            self.viewer.add_shapes(
                None, ndim=3, name=self.names[key], axis_labels=SAX_AXES, units="mm",
                metadata={META_KEY: {"kind": f"sax_{key}"}}, opacity=1.0,
            )  # fmt: skip
        self.show_result(session.result)
        self.viewer.dims.axis_labels = SAX_AXES
        self.viewer.dims.set_point(0, 0.5 * (grid.shape[0] - 1) * grid.spacing_mm[0])
        self.viewer.layers.selection.active = labels
        self._dock = self.viewer.window.add_dock_widget(self.views, name="Long axis", area="right")
        self.update_overlays()

    def hide(self) -> None:
        for name in self.names.values():
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
        for layer, affine, visible in self._backup.values():
            if layer in self.viewer.layers:
                layer.affine = affine
                layer.visible = visible
        self._backup.clear()
        if self._axis_labels:
            self.viewer.dims.axis_labels = self._axis_labels
        if self._dock is not None:
            self.viewer.window.remove_dock_widget(self._dock)
            self._dock = None
        self.session = None

    def _move_world(self, session: ShortAxisSession) -> None:
        to_sax = sax_world_from_lps_world(session.grid)
        self._axis_labels = tuple(self.viewer.dims.axis_labels)
        for layer in list(self.viewer.layers):
            matrix = np.array(layer.affine.affine_matrix, dtype=np.float64)
            self._backup[id(layer)] = (layer, matrix, bool(layer.visible))
            layer.visible = False
            if matrix.shape == (4, 4):
                with warnings.catch_warnings():
                    # hidden while the mode is on: napari may still slice it once
                    warnings.filterwarnings("ignore", "Non-orthogonal slicing", UserWarning)
                    layer.affine = to_sax @ matrix

    def _sax_kwargs(self, kwargs: dict[str, Any], kind: str) -> dict[str, Any]:
        assert self.session is not None
        out = {**kwargs, "affine": sax_affine(self.session.grid), "axis_labels": SAX_AXES}
        out["metadata"] = {META_KEY: {**kwargs["metadata"][META_KEY], "kind": kind}}
        return out

    # -- results and overlays ---------------------------------------------------------
    def show_result(self, result: MeasurementResult) -> None:
        """Thickness colours and AHA outlines of a measurement on the SAX grid."""
        assert self.session is not None
        self.session.result = result
        data, kw, _ = thickness_layer_data(result.thickness_mm, self.session.grid, "t")
        name = self.names["thickness"]
        if name in self.viewer.layers:
            self.viewer.layers[name].data = data
        else:
            kw = {**self._sax_kwargs(kw, "sax_thickness"), "name": name}
            self.viewer.add_image(data, **kw)
            labels = self.labels_layer()
            if labels is not None:  # keep the editable labels on top
                self.viewer.layers.move(
                    self.viewer.layers.index(name), self.viewer.layers.index(labels)
                )
        self.viewer.layers[self.names["segments"]].data = result.aha_segments.copy()
        self.update_overlays(labels_changed=True)

    def update_overlays(self, event: Any = None, *, labels_changed: bool = False) -> None:
        """Probes, RV insertions and the long-axis views at the current SAX slice."""
        session = self.session
        if session is None or self.names["probes"] not in self.viewer.layers:
            return
        try:
            dims = self.viewer.dims
            in_plane = dims.ndisplay == 2 and 0 not in dims.displayed
            slice_mm = float(dims.point[0])
            half = max(0.5 * float(session.grid.spacing_mm[0]), 0.5)
            lines, walls = sax_probe_lines(
                session.result, session.grid, slice_mm if in_plane else None, half
            )
            self._set_lines("probes", lines, [PROBE_COLORS.get(w, "white") for w in walls])
            points, spokes = insertion_markers(session.result, session.grid, slice_mm)
            self._set_lines(
                "insertions", spokes if in_plane else [], [INSERTION_COLOR] * len(spokes)
            )
            self._update_views(slice_mm / float(session.grid.spacing_mm[0]), labels_changed)
        except Exception as exc:  # an event callback must never raise
            logger.warning("could not draw the short-axis overlays: %s", exc)

    def _set_lines(self, key: str, lines: list[np.ndarray], colors: list[str]) -> None:
        layer = self.viewer.layers[self.names[key]]
        layer.data = []
        if lines:
            layer.add_lines(lines, edge_color=colors, edge_width=1.2)

    def _update_views(self, slice_index: float, labels_changed: bool) -> None:
        session = self.session
        assert session is not None
        if labels_changed or not hasattr(self, "_plane_labels"):
            labels = session.result.labels
            self._plane_labels = {
                name: plane_view(session, name, labels)[1] for name in session.planes
            }
        rows = {name: session.slice_row(name, slice_index) for name in session.planes}
        self.views.show_planes(session.plane_images, self._plane_labels, rows)
