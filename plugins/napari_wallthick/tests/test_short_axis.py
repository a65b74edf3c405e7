"""Short-axis correction in a real napari viewer (needs an X server).

    xvfb-run -a -s "-screen 0 1600x1200x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python -m pytest -q plugins/napari_wallthick/tests/test_short_axis.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_wallthick import _widget
from napari_wallthick._sax import SAX_AXES, sax_affine
from napari_wallthick._widget import AXIAL, SHORT_AXIS, WallThicknessWidget
from wallthick import Label
from wallthick.measure import POSTERIOR_SEGMENTS

pytestmark = pytest.mark.napari

BAND_MM = 3.0
JOB_TIMEOUT_MS = 180_000


class Answers:
    """Stands in for the Yes/No dialog: records each question, answers from a list."""

    def __init__(self) -> None:
        self.questions: list[str] = []
        self.answer = True

    def __call__(self, title: str, text: str) -> bool:
        self.questions.append(title)
        return self.answer


def _wait(qtbot: Any, widget: WallThicknessWidget) -> None:
    qtbot.waitUntil(lambda: not widget.busy, timeout=JOB_TIMEOUT_MS)


def _sax_posterior_band(widget: WallThicknessWidget) -> tuple[np.ndarray, ...]:
    """Background voxels within BAND_MM, in each SAX slice, outside the posterior wall."""
    assert widget.sax is not None and widget.sax.session is not None
    result = widget.sax.session.result
    grid = widget.sax.session.grid
    labels = result.labels.array
    post = np.isin(result.aha_segments, POSTERIOR_SEGMENTS) & (labels == Label.LV_MYOCARDIUM)
    assert post.any(), "no posterior myocardium (AHA 5, 11) on the short-axis grid"
    # in-plane distance only: a huge spacing along the slices keeps each slice apart
    sampling = (1e6, float(grid.spacing_mm[1]), float(grid.spacing_mm[2]))
    dist = ndi.distance_transform_edt(~post, sampling=sampling)
    band = (dist > 0) & (dist <= BAND_MM) & (labels == Label.BACKGROUND)
    # slices that hold posterior wall, leaving out the most basal 2 mm of it
    slices = np.flatnonzero(post.any(axis=(1, 2)))
    keep = slices[slices > slices.min() + 2.0 / grid.spacing_mm[0]]
    band[~np.isin(np.arange(band.shape[0]), keep)] = False
    return tuple(np.nonzero(band))


@pytest.fixture(scope="module")
def phantom_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo phantom (0.75 x 0.75 x 1 mm voxels) as a NIfTI file, as a site would have it."""
    import SimpleITK as sitk

    from wallthick.phantom import sample_case

    path = tmp_path_factory.mktemp("scan") / "phantom.nii.gz"
    sitk.WriteImage(sample_case(0).image.to_sitk(), str(path), useCompression=True)
    return path


def test_short_axis_paint_posterior_band_undo_save_and_batch_uses_it(
    make_napari_viewer: Any,
    qtbot: Any,
    phantom_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The phantom's voxels are fine enough (0.75 mm) for the painted band to set the
    wall edge: the image-based edge stays within half a voxel of the label edge."""
    from wallthick.batch import BatchOptions, load_results, measure_to_folder

    real_ct = phantom_file
    errors: list[str] = []
    monkeypatch.setattr(_widget, "show_error", errors.append)
    out = tmp_path / "results"
    options = BatchOptions(workers=1, write_qc=False, write_dicom_seg=False)
    measure_to_folder(real_ct, out, options)
    (stored,) = load_results(out)
    assert stored.status == "ok", stored.row["error"]

    viewer = make_napari_viewer()
    image_layer, labels_layer = viewer.open(str(out), plugin="wallthick")
    widget = WallThicknessWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Wall thickness")
    answers = Answers()
    widget.ask = answers

    # no measurement frame yet (only the stored numbers): short axis is refused
    widget.mode_combo.setCurrentText(SHORT_AXIS)
    assert widget.sax is None and widget.mode_combo.currentText() == AXIAL
    assert errors and "press Run (or Recompute" in errors[-1]

    widget.recompute_button.click()
    _wait(qtbot, widget)
    assert widget.analysis.result is not None, widget.status.text()
    widget.mode_combo.setCurrentText(SHORT_AXIS)
    _wait(qtbot, widget)
    assert widget.sax is not None and widget.sax.session is not None, widget.status.text()
    session = widget.sax.session
    sax_layer = widget.sax.labels_layer()
    assert sax_layer is not None and sax_layer.data.shape == session.grid.shape
    np.testing.assert_allclose(sax_layer.affine.affine_matrix, sax_affine(session.grid))
    assert tuple(viewer.dims.axis_labels) == SAX_AXES
    assert not image_layer.visible and not labels_layer.visible
    assert session.grid.direction[:, 0] @ -widget.analysis.result.frame.long_axis > 0.999
    for picture in widget.sax.views.pictures.values():
        assert picture.pixmap() is not None and not picture.pixmap().isNull()
    viewer.dims.set_point(0, float(viewer.dims.point[0]) + 10.0)  # step towards the apex
    assert widget.sax.views.rows["four_chamber"] > 0
    before = session.result.measurement
    saved = sax_layer.data.copy()

    # paint a 3 mm band onto the posterior wall in the SAX slices, through napari's history
    band = _sax_posterior_band(widget)
    sax_layer.data_setitem(band, int(Label.LV_MYOCARDIUM))
    assert widget.has_unsaved_edits()
    widget.recompute_button.click()
    _wait(qtbot, widget)
    after = widget.sax.session.result.measurement
    rise = after.posterior_wall_thickness_mm - before.posterior_wall_thickness_mm
    assert 2.5 <= rise <= 3.5, (
        before.posterior_wall_thickness_mm,
        after.posterior_wall_thickness_mm,
    )
    assert abs(after.septal_thickness_mm - before.septal_thickness_mm) < 0.5
    assert after.segmentation_source == "corrected"

    # undo restores the labels and the measurement
    sax_layer.undo()
    np.testing.assert_array_equal(sax_layer.data, saved)
    widget.recompute_button.click()
    _wait(qtbot, widget)
    restored = widget.sax.session.result.measurement
    assert restored.posterior_wall_thickness_mm == pytest.approx(
        before.posterior_wall_thickness_mm, abs=1e-6
    )

    # redo; leaving the mode with unsaved edits asks, and "No" keeps them
    sax_layer.redo()
    answers.answer = False
    widget.mode_combo.setCurrentText(AXIAL)
    assert answers.questions == ["Unsaved short-axis edits"]
    assert widget.sax is not None and widget.mode_combo.currentText() == SHORT_AXIS
    # save: the SAX labels become the corrected segmentation, on their own grid
    widget.analyst_edit.setText("Test Analyst")
    widget.save_button.click()
    _wait(qtbot, widget)
    assert not widget.has_unsaved_edits(), widget.status.text()
    prov = json.loads((stored.folder / "correction_provenance.json").read_text())
    assert prov["grid"]["kind"] == "short_axis"
    assert prov["voxels_changed"] == len(band[0])
    by_segment = prov["voxels_by_aha_segment"]
    assert sum(by_segment.get(str(s), 0) for s in POSTERIOR_SEGMENTS) > 0.8 * len(band[0])
    assert prov["delta"]["posterior_wall_thickness_mm"] == pytest.approx(
        prov["after"]["posterior_wall_thickness_mm"]
        - prov["before"]["posterior_wall_thickness_mm"],
        abs=1e-3,
    )
    from wallthick.io import load_volume_file

    corrected = load_volume_file(stored.folder / "segmentation_corrected.nii.gz")
    assert corrected.geometry.same_grid(session.grid, atol=1e-3)

    # the next batch run measures the corrected SAX labels
    measure_to_folder(real_ct, out, options)
    (again,) = load_results(out)
    assert again.status == "ok", again.row["error"]
    assert again.row["segmentation_source"] == "corrected"
    assert float(again.row["posterior_wall_thickness_mm"]) == pytest.approx(
        prov["after"]["posterior_wall_thickness_mm"], abs=0.05
    )

    # back to axial: nothing unsaved, no question; the axial layers come back
    n_questions = len(answers.questions)
    widget.mode_combo.setCurrentText(AXIAL)
    assert widget.sax is None and len(answers.questions) == n_questions
    assert image_layer.visible and labels_layer.visible
    assert not any(layer.name.startswith("SAX ") for layer in viewer.layers)
    np.testing.assert_allclose(labels_layer.affine.affine_matrix, image_layer.affine.affine_matrix)


def test_short_axis_closing_with_unsaved_edits_asks(make_napari_viewer: Any, qtbot: Any) -> None:
    """The question napari's close (button, Ctrl+W/Q) triggers through the widget's
    event filter on its main window; a hidden test viewer closes without asking."""
    viewer = make_napari_viewer()
    viewer.open_sample("wallthick", "phantom_baseline")
    widget = WallThicknessWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Wall thickness")
    answers = Answers()
    widget.ask = answers
    widget.run_button.click()
    _wait(qtbot, widget)
    layer = widget.labels_layer()
    assert layer is not None and not widget.has_unsaved_edits()
    assert widget.confirm_close() and answers.questions == []

    layer.data_setitem(tuple(np.argwhere(layer.data == Label.LV_MYOCARDIUM)[:50].T), 0)
    assert widget.has_unsaved_edits()
    answers.answer = False
    assert widget.confirm_close() is False
    assert answers.questions == ["Unsaved wall-thickness edits"]
    layer.undo()  # back to the automatic labels: nothing to lose, no question
    assert not widget.has_unsaved_edits() and widget.confirm_close()
    assert len(answers.questions) == 1
