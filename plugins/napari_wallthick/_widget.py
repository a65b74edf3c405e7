"""The "Wall thickness" dock widget (Qt view over :mod:`napari_wallthick._model`).

Every slot translates one UI event into one model/job call; jobs run in a
``thread_worker`` so the viewer never freezes, and every failure becomes a
napari notification (a Qt slot never raises).
"""

# no ``from __future__ import annotations``: napari evaluates the viewer
# annotation of the constructor at run time to inject the viewer.
import logging
import math
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import napari
import napari.layers
import numpy as np
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info
from napari.utils.transforms import Affine
from qtpy.QtCore import QEvent, QObject, Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_wallthick._convert import (
    META_KEY,
    THICKNESS_RANGE_MM,
    WORLD_AXES,
    labels_layer_data,
    probe_shapes,
    thickness_colormap,
    thickness_layer_data,
    volume_from_layer,
    world_to_lps,
)
from napari_wallthick._model import (
    Analysis,
    recompute_job,
    run_job,
    save_job,
    table_rows,
)
from napari_wallthick._results import correction_folder
from napari_wallthick._sax import enter_short_axis_job, sax_recompute_job, sax_save_job
from napari_wallthick._sax_mode import ShortAxisLayers
from napari_wallthick._sax_view import ask_yes_no
from wallthick import ImageVolume, LabelVolume, MeasurementResult, WallthickError
from wallthick.results import SavedCorrection

__all__ = ["WallThicknessWidget"]

logger = logging.getLogger(__name__)

PROBE_COLORS = {"septal": "magenta", "posterior": "white"}
AXIAL = "Axial"
SHORT_AXIS = "Short axis"
#: layer kinds that are not scans to choose in the Image list
_NOT_SCANS = ("thickness", "sax_image", "sax_thickness")
#: Points layer whose last point, if any, starts the segmentation inside the LV.
SEED_LAYER = "LV seed"
EDIT_HINT = (
    "Correct: select the segmentation layer, then paint (2 = myocardium, 1 = LV cavity, "
    "3 = RV), erase, fill or polygon; Ctrl+Z undoes. Then Recompute."
)


def _layer_affine(layer: napari.layers.Layer) -> np.ndarray:
    """The full data->world matrix of a layer (its scale/translate/rotate and affine)."""
    physical = Affine(
        scale=layer.scale, translate=layer.translate, rotate=layer.rotate, shear=layer.shear
    )
    return np.asarray(layer.affine.affine_matrix @ physical.affine_matrix)


def _context(layer: napari.layers.Layer) -> dict[str, Any]:
    entry = layer.metadata.get(META_KEY, {})
    return dict(entry) if isinstance(entry, dict) else {}


class WallThicknessWidget(QWidget):
    """Dock widget: Run, correct, Recompute, Save correction."""

    #: the window whose close events are watched (Qt sends events before __init__ ends)
    _close_guarded: QObject | None = None
    #: answers a yes/no question ``(title, text)``; None shows a dialog. Tests set it.
    ask: Callable[[str, str], bool] | None = None

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = viewer
        self.analysis = Analysis()
        self._worker: Any = None
        self.sax: ShortAxisLayers | None = None
        self._saved_axial: np.ndarray | None = None
        self._build_ui()
        self.viewer.dims.events.point.connect(self._update_probes)
        self.viewer.dims.events.ndisplay.connect(self._update_probes)
        self.viewer.layers.events.inserted.connect(self._refresh_images)
        self.viewer.layers.events.removed.connect(self._refresh_images)
        self.viewer.layers.events.changed.connect(self._refresh_images)
        self._refresh_images()

    # -- view -----------------------------------------------------------
    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_form())
        layout.addLayout(self._build_buttons())
        self._build_status(layout)
        layout.addLayout(self._build_legend())
        probes = QLabel("probes: septal magenta, posterior white")
        probes.setStyleSheet("color: gray;")
        layout.addWidget(probes)
        layout.addWidget(self._build_table())
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.setMinimumWidth(380)

    def _build_form(self) -> QFormLayout:
        self.image_combo = QComboBox()
        self.image_combo.currentTextChanged.connect(self._on_image_changed)
        self.analyst_edit = QLineEdit()
        self.analyst_edit.setPlaceholderText("your name (default: OS user)")
        self.results_edit = QLineEdit()
        self.results_edit.setPlaceholderText("results folder of wallthick batch")
        browse = QPushButton("…")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._on_browse)
        results_row = QHBoxLayout()
        results_row.addWidget(self.results_edit)
        results_row.addWidget(browse)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems([AXIAL, SHORT_AXIS])
        self.mode_combo.setToolTip(
            "Short axis: edit in slices perpendicular to the LV long axis of the last "
            "measurement, base to apex, with the 4- and 2-chamber views beside them"
        )
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.slice_spin = QDoubleSpinBox()
        self.slice_spin.setRange(0.5, 3.0)
        self.slice_spin.setSingleStep(0.5)
        self.slice_spin.setValue(1.5)
        self.slice_spin.setSuffix(" mm")
        self.slice_spin.setToolTip("Distance between short-axis slices")
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.mode_combo, stretch=1)
        mode_row.addWidget(QLabel("slices"))
        mode_row.addWidget(self.slice_spin)
        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        form.addRow("Analyst", self.analyst_edit)
        form.addRow("Results", results_row)
        form.addRow("View", mode_row)
        return form

    def _build_buttons(self) -> QHBoxLayout:
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Segment the heart and measure the wall thickness")
        self.recompute_button = QPushButton("Recompute")
        self.recompute_button.setToolTip("Measure again from the (edited) labels")
        self.save_button = QPushButton("Save correction")
        self.save_button.setToolTip(
            "Write segmentation_corrected.nii.gz and correction_provenance.json"
        )
        self.seed_button = QPushButton("LV seed")
        self.seed_button.setToolTip(
            "If Run misses the LV: click one point inside the LV cavity, then Run again "
            f"(the last point of the '{SEED_LAYER}' layer is used; delete the layer to go back "
            "to the automatic search)"
        )
        self.seed_button.clicked.connect(self._on_seed)
        self.run_button.clicked.connect(self._on_run)
        self.recompute_button.clicked.connect(self._on_recompute)
        self.save_button.clicked.connect(self._on_save)
        buttons = QHBoxLayout()
        for b in (self.seed_button, self.run_button, self.recompute_button, self.save_button):
            buttons.addWidget(b)
        return buttons

    def _build_status(self, layout: QVBoxLayout) -> None:
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel("Open a scan, choose it above and press Run.")
        self.status.setWordWrap(True)
        hint = QLabel(EDIT_HINT)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: gray;")
        for w in (self.progress, self.status, hint):
            layout.addWidget(w)

    def _build_table(self) -> QTableWidget:
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["", "mm", "± mm", "points"])
        header = self.table.horizontalHeader()
        if header is not None:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        vheader = self.table.verticalHeader()
        if vheader is not None:
            vheader.setVisible(False)
            vheader.setDefaultSectionSize(22)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(19 * 22 + 30)
        return self.table

    def _build_legend(self) -> QHBoxLayout:
        legend = QHBoxLayout()
        legend.addWidget(QLabel("thickness 0 mm"))
        legend.addWidget(_colour_bar(), stretch=1)
        legend.addWidget(QLabel(f"{THICKNESS_RANGE_MM:g} mm"))
        return legend

    @property
    def busy(self) -> bool:
        """True while a job runs."""
        return self._worker is not None

    def _set_busy(self, busy: bool) -> None:
        for b in (self.run_button, self.recompute_button, self.save_button):
            b.setEnabled(not busy)

    def _show_table(self) -> None:
        session = self.sax.session if self.sax is not None else None
        m = session.result.measurement if session is not None else self.analysis.shown_measurement
        if m is None:
            self.table.setRowCount(0)
            self.summary.setText("")
            return
        rows = table_rows(m)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(r.name))
            cells = (
                _fmt(r.value_mm),
                _fmt(r.uncertainty_mm),
                "" if r.n_points is None else str(r.n_points),
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j + 1, item)
        qc = (
            f"QC FAILED ({', '.join(m.failed_criteria)}): review before using the values"
            if m.status == "qc_failed"
            else "QC passed"
        )
        self.summary.setText(
            f"Labels: {m.segmentation_source}. LV cavity {_fmt(m.lv_cavity_volume_ml)} ml, "
            f"LV mass {_fmt(m.lv_mass_g)} g. Status {m.status}: {qc}."
        )

    # -- layers -----------------------------------------------------------
    def _refresh_images(self, event: Any = None) -> None:
        current = self.image_combo.currentText()
        names = [
            layer.name
            for layer in self.viewer.layers
            if isinstance(layer, napari.layers.Image)
            and _context(layer).get("kind") not in _NOT_SCANS
            and layer.ndim == 3
        ]
        self.image_combo.blockSignals(True)
        self.image_combo.clear()
        self.image_combo.addItems(names)
        if current in names:
            self.image_combo.setCurrentText(current)
        self.image_combo.blockSignals(False)
        if self.image_combo.currentText() != self.analysis.image_name:
            self._on_image_changed(self.image_combo.currentText())

    def _on_image_changed(self, name: str) -> None:
        try:
            layer = self.viewer.layers[name] if name else None
            self.analysis.reset(name, _context(layer) if layer is not None else {})
        except (WallthickError, OSError, KeyError, ValueError, TypeError) as exc:
            self.analysis.reset(name, {})
            show_error(f"Wall thickness: cannot read the results of '{name}': {exc}")
        if self.analysis.series_folder is not None:
            self.results_edit.setText(str(self.analysis.series_folder.parent))
        self._show_table()

    def image_layer(self) -> napari.layers.Image | None:
        name = self.image_combo.currentText()
        if not name or name not in self.viewer.layers:
            return None
        layer = self.viewer.layers[name]
        return layer if isinstance(layer, napari.layers.Image) else None

    def labels_layer(self) -> napari.layers.Labels | None:
        """The segmentation layer of the current image (created by Run or the reader)."""
        image = self.image_layer()
        if image is None:
            return None
        candidates = [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, napari.layers.Labels) and layer.data.shape == image.data.shape
        ]
        for layer in candidates:
            if _context(layer).get("image_name") == image.name:
                return layer
        return candidates[0] if candidates else None

    def _image_volume(self) -> ImageVolume:
        layer = self.image_layer()
        if layer is None:
            raise WallthickError("No 3-D image layer is selected; open a scan first.")
        vol = volume_from_layer(layer.data, layer.metadata, _layer_affine(layer), layer.name)
        assert isinstance(vol, ImageVolume)
        return vol

    def _labels_volume(self) -> LabelVolume:
        layer = self.labels_layer()
        if layer is None:
            raise WallthickError("There is no segmentation layer for this image; press Run first.")
        vol = volume_from_layer(
            layer.data, layer.metadata, _layer_affine(layer), layer.name, labels=True
        )
        assert isinstance(vol, LabelVolume)
        return vol

    def _show_result(self, result: MeasurementResult, *, replace_labels: bool) -> None:
        image_name = self.analysis.image_name
        labels_layer = self.labels_layer()
        if labels_layer is None or replace_labels:
            data, kwargs, _ = labels_layer_data(
                result.labels, f"segmentation {image_name}", {"image_name": image_name}
            )
            if labels_layer is None:
                labels_layer = self.viewer.add_labels(data.copy(), **kwargs)
            else:
                labels_layer.data = data.copy()  # a new segmentation: history restarts
        thick_name = f"thickness mm {image_name}"
        data, kwargs, _ = thickness_layer_data(
            result.thickness_mm, result.labels.geometry, thick_name
        )
        if thick_name in self.viewer.layers:
            self.viewer.layers[thick_name].data = data
        else:
            self.viewer.add_image(data, **kwargs)
        self._show_probes(result, f"probes {image_name}")
        self.viewer.layers.selection.active = labels_layer
        self._show_table()

    def _show_probes(self, result: MeasurementResult, name: str) -> None:
        if name not in self.viewer.layers:
            self.viewer.add_shapes(
                None,
                ndim=3,
                name=name,
                axis_labels=WORLD_AXES,
                units="mm",
                metadata={META_KEY: {"kind": "probes"}},
                opacity=1.0,
            )
        self._update_probes()

    def _update_probes(self, event: Any = None) -> None:
        """Draw the probes crossing the displayed slice (all of them in 3-D)."""
        if self.sax is not None:
            self.sax.update_overlays()
            return
        result = self.analysis.result
        name = f"probes {self.analysis.image_name}"
        if result is None or name not in self.viewer.layers:
            return
        try:
            layer = self.viewer.layers[name]
            dims = self.viewer.dims
            in_plane = dims.ndisplay == 2 and 0 not in dims.displayed
            slice_s = float(dims.point[0]) if in_plane else None
            half_step = float(dims.range[0].step) / 2.0
            lines, walls = probe_shapes(result.probes, slice_s, max(half_step, 0.5))
            layer.data = []
            if lines:
                colors = [PROBE_COLORS.get(w, "white") for w in walls]
                layer.add_lines(lines, edge_color=colors, edge_width=1.2)
        except Exception as exc:  # an event callback must never raise
            logger.warning("could not draw the probes: %s", exc)

    # -- slots --------------------------------------------------------------
    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Results folder", self.results_edit.text())
        if folder:
            self.results_edit.setText(folder)

    def _on_seed(self) -> None:
        """Add (or select) the LV seed points layer, ready to click."""
        if SEED_LAYER in self.viewer.layers:
            layer = self.viewer.layers[SEED_LAYER]
        else:
            layer = self.viewer.add_points(
                np.empty((0, 3)), name=SEED_LAYER, ndim=3, size=6, face_color="yellow"
            )
        self.viewer.layers.selection.active = layer
        layer.mode = "add"
        self.status.setText("Click a point inside the LV cavity, then Run.")

    def lv_seed_mm(self) -> tuple[float, float, float] | None:
        """LPS mm of the last point of the LV seed layer, or None."""
        if SEED_LAYER not in self.viewer.layers:
            return None
        layer = self.viewer.layers[SEED_LAYER]
        if not isinstance(layer, napari.layers.Points) or len(layer.data) == 0:
            return None
        world = np.asarray(layer.data_to_world(np.asarray(layer.data[-1], dtype=np.float64)))
        lps = world_to_lps(world[-3:])
        return float(lps[0]), float(lps[1]), float(lps[2])

    def _on_run(self) -> None:
        self._guarded(
            lambda: self._start(run_job(self._image_volume(), self.lv_seed_mm()), self._on_run_done)
        )

    def _on_recompute(self) -> None:
        def start() -> None:
            if self.sax is not None and self.sax.session is not None:
                layer = self.sax.labels_layer()
                if layer is None:
                    raise WallthickError("The short-axis segmentation layer was removed.")
                job = sax_recompute_job(self.sax.session, np.asarray(layer.data))
                self._start(job, self._on_sax_recompute_done)
                return
            labels = self._labels_volume()
            image = self._image_volume()
            corrected = self.analysis.is_corrected(labels.array)
            self._start(recompute_job(labels, image, corrected), self._on_recompute_done)

        self._guarded(start)

    def _on_save(self) -> None:
        def start() -> None:
            if self.sax is not None and self.sax.session is not None:
                self._start_sax_save(self.sax)
                return
            image = self._image_volume()
            labels = self._labels_volume()
            folder = self._save_folder(image)
            job = save_job(
                folder,
                labels,
                image,
                self.analysis.automatic,
                self.analysis.automatic_measurement,
                self.analyst_edit.text(),
                {"napari": napari.__version__, "napari_wallthick": _plugin_version()},
            )
            self._start(job, self._on_save_done)

        self._guarded(start)

    def _save_folder(self, image: ImageVolume) -> Path:
        if self.analysis.series_folder is not None:
            return self.analysis.series_folder
        root = self.results_edit.text().strip()
        if not root:
            raise WallthickError(
                "Choose the results folder (of wallthick batch, or a new one) before saving."
            )
        return correction_folder(root, image)

    def _on_run_done(self, result: MeasurementResult) -> None:
        self.analysis.accept_run(result)
        self._show_result(result, replace_labels=True)
        self._saved_axial = np.asarray(result.labels.array).copy()

    def _on_recompute_done(self, result: MeasurementResult) -> None:
        self.analysis.accept_recompute(result)
        self._show_result(result, replace_labels=False)

    def _on_save_done(self, outcome: SavedCorrection) -> None:
        self.analysis.accept_save(outcome)
        self._show_result(outcome.result, replace_labels=False)
        folder = outcome.files["segmentation_corrected"].parent
        self.analysis.series_folder = folder
        layer = self.labels_layer()
        self._saved_axial = None if layer is None else np.asarray(layer.data).copy()
        show_info(f"Correction saved in {folder}")

    # -- short-axis mode -------------------------------------------------------
    def _on_mode(self, mode: str) -> None:
        if mode == SHORT_AXIS and self.sax is None:
            self._guarded(self._enter_short_axis)
        elif mode == AXIAL and self.sax is not None:
            self._guarded(self._leave_short_axis)
        if not self.busy:
            self._sync_mode_combo()

    def _sync_mode_combo(self) -> None:
        """Show the mode actually in force (after a refusal, a 'No' or a failure)."""
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentText(SHORT_AXIS if self.sax is not None else AXIAL)
        self.mode_combo.blockSignals(False)

    def _enter_short_axis(self) -> None:
        result = self.analysis.result
        if result is None:
            raise WallthickError(
                "Short-axis editing needs the LV long axis of a measurement, and there is "
                "none yet: press Run (or Recompute on the loaded labels) first."
            )
        if self._axial_unsaved() and not self._question(
            "Unsaved edits",
            "The segmentation has edits that are not saved. They are carried into the "
            "short-axis view but stay unsaved. Switch to the short-axis view?",
        ):
            return
        job = enter_short_axis_job(
            result,
            self._labels_volume(),
            self._image_volume(),
            self.analysis.automatic,
            self.analysis.automatic_measurement,
            float(self.slice_spin.value()),
        )
        self._start(job, self._on_short_axis_ready)

    def _on_short_axis_ready(self, session: Any) -> None:
        sax = ShortAxisLayers(self.viewer, self.analysis.image_name)
        self.sax = sax
        sax.show(session)
        self._sync_mode_combo()
        self._show_table()
        self.status.setText(
            f"Short axis: {session.grid.shape[0]} slices of "
            f"{session.grid.spacing_mm[0]:g} mm, base (first) to apex. Edit the "
            f"'{sax.names['labels']}' layer, then Recompute."
        )

    def _leave_short_axis(self) -> None:
        sax = self.sax
        if sax is None:
            return
        if sax.has_unsaved_edits() and not self._question(
            "Unsaved short-axis edits",
            "The short-axis segmentation has edits that are not saved; they are lost when "
            "you go back to the axial view. Discard them?",
        ):
            return
        sax.hide()
        self.sax = None
        self._show_table()
        self._update_probes()
        self.status.setText("Axial view.")

    def _on_sax_recompute_done(self, result: MeasurementResult) -> None:
        if self.sax is not None and self.sax.session is not None:
            self.sax.show_result(result)
        self._show_table()

    def _start_sax_save(self, sax: ShortAxisLayers) -> None:
        session, layer = sax.session, sax.labels_layer()
        if session is None or layer is None:
            raise WallthickError("The short-axis segmentation layer was removed.")
        folder = self._save_folder(session.source_image)
        labels = np.asarray(layer.data).copy()
        versions = {"napari": napari.__version__, "napari_wallthick": _plugin_version()}
        job = sax_save_job(folder, session, labels, self.analyst_edit.text(), versions)

        def done(value: Any) -> None:
            files, provenance, result = value
            session.saved = labels
            session.last_saved = provenance
            sax.show_result(result)
            self._show_table()
            self.analysis.series_folder = files["segmentation_corrected"].parent
            show_info(f"Correction saved in {self.analysis.series_folder}")

        self._start(job, done)

    # -- unsaved edits -----------------------------------------------------------
    def _axial_unsaved(self) -> bool:
        layer = self.labels_layer()
        reference = self._saved_axial
        if reference is None and self.analysis.automatic is not None:
            reference = self.analysis.automatic.array
        if layer is None or reference is None or reference.shape != layer.data.shape:
            return False
        return not np.array_equal(np.asarray(layer.data), reference)

    def _question(self, title: str, text: str) -> bool:
        return self.ask(title, text) if self.ask is not None else ask_yes_no(self, title, text)

    def has_unsaved_edits(self) -> bool:
        """True when the segmentation on screen has edits that were not saved."""
        if self.sax is not None:
            return self.sax.has_unsaved_edits()
        return self._axial_unsaved()

    def confirm_close(self) -> bool:
        """May the viewer close? Asks first when edits are unsaved."""
        if not self.has_unsaved_edits():
            return True
        return self._question(
            "Unsaved wall-thickness edits",
            "The segmentation has edits that are not saved (press Save correction to keep "
            "them). Close anyway and lose them?",
        )

    def event(self, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.ParentChange:
            self._guard_window_close()
        return super().event(event)

    def showEvent(self, event: Any) -> None:
        self._guard_window_close()
        super().showEvent(event)

    def _guard_window_close(self) -> None:
        """Watch the close events of the window this widget is docked in."""
        window = self.window()
        if not isinstance(window, QMainWindow) or window is self._close_guarded:
            return
        if self._close_guarded is not None:
            self._close_guarded.removeEventFilter(self)
        window.installEventFilter(self)
        self._close_guarded = window

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        # a visible window closing (close button, Ctrl+W/Q, or a script) with
        # unsaved edits asks first; closing a hidden viewer (tests) does not
        if (
            obj is self._close_guarded
            and event is not None
            and event.type() == QEvent.Type.Close
            and isinstance(obj, QWidget)
            and (obj.isVisible() or event.spontaneous())
            and not self.confirm_close()
        ):
            event.ignore()
            return True
        return False

    # -- worker plumbing ----------------------------------------------------
    def _guarded(self, action: Callable[[], None]) -> None:
        if self.busy:
            show_error("Wall thickness: a computation is still running; wait for it to finish.")
            return
        try:
            action()
        except WallthickError as exc:
            show_error(f"Wall thickness: {exc}")
        except Exception as exc:  # a Qt slot must never raise
            logger.exception("unexpected error in the wall thickness widget")
            show_error(f"Wall thickness: unexpected {type(exc).__name__}: {exc}")

    def _start(
        self, job: Generator[tuple[int, str], None, Any], done: Callable[[Any], None]
    ) -> None:
        # connecting "errored" here stops napari from re-raising worker errors
        # in the GUI thread: they become notifications instead
        connect = {
            "yielded": self._on_progress,
            "returned": lambda value: self._guarded_done(done, value),
            "errored": self._on_error,
            "finished": self._on_finished,
        }
        worker = thread_worker(_drive, start_thread=False, connect=connect)(job)
        self._worker = worker
        self._set_busy(True)
        self.progress.setValue(0)
        worker.start()

    def _guarded_done(self, done: Callable[[Any], None], value: Any) -> None:
        try:
            done(value)
        except Exception as exc:  # a Qt slot must never raise
            logger.exception("could not show the result")
            show_error(f"Wall thickness: could not show the result ({type(exc).__name__}: {exc})")

    def _on_progress(self, value: tuple[int, str]) -> None:
        percent, message = value
        self.progress.setValue(int(percent))
        self.status.setText(message)

    def _on_error(self, exc: BaseException) -> None:
        self.status.setText(f"Failed: {exc}")
        self._sync_mode_combo()
        if isinstance(exc, WallthickError):
            show_error(f"Wall thickness: {exc}")
        else:
            logger.error("wall thickness job failed", exc_info=exc)
            show_error(f"Wall thickness: unexpected {type(exc).__name__}: {exc}")

    def _on_finished(self) -> None:
        self._worker = None
        self._set_busy(False)


def _colour_bar() -> QLabel:
    """A horizontal bar of the thickness colormap (same colours as the layer)."""
    cmap = thickness_colormap()
    colors = cmap["colors"][1:]
    stops = ", ".join(
        f"stop:{i / (len(colors) - 1):.3f} rgb({int(r * 255)}, {int(g * 255)}, {int(b * 255)})"
        for i, (r, g, b, _) in enumerate(colors)
    )
    bar = QLabel()
    bar.setFixedHeight(12)
    bar.setStyleSheet(f"background: qlineargradient(x1:0, y1:0, x2:1, y2:0, {stops});")
    return bar


def _drive(job: Generator[tuple[int, str], None, Any]) -> Generator[tuple[int, str], None, Any]:
    """Run a model job inside the worker (re-yields its progress, returns its value)."""
    return (yield from job)


def _fmt(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _plugin_version() -> str:
    from napari_wallthick import __version__

    return __version__
