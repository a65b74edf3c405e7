"""The reader and the dock widget in a real napari viewer (needs an X server).

Run with::

    xvfb-run -a -s "-screen 0 1600x1200x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python -m pytest -q plugins/napari_wallthick/tests
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_wallthick import _widget
from napari_wallthick._convert import META_KEY, image_layer_data, napari_affine
from napari_wallthick._widget import WallThicknessWidget
from wallthick import Geometry, ImageVolume, Label
from wallthick.measure import POSTERIOR_SEGMENTS

pytestmark = pytest.mark.napari

BAND_MM = 3.0
JOB_TIMEOUT_MS = 120_000


def _wait(qtbot: Any, widget: WallThicknessWidget) -> None:
    qtbot.waitUntil(lambda: not widget.busy, timeout=JOB_TIMEOUT_MS)


def _posterior_band(widget: WallThicknessWidget) -> tuple[np.ndarray, ...]:
    """Background voxels within BAND_MM outside the posterior wall (AHA 5, 11).

    Limited along the long axis to the wall's own extent (minus 2 mm at the
    base) so the band thickens the wall without making it taller.
    """
    result = widget.analysis.result
    assert result is not None
    labels = result.labels
    post = np.isin(result.aha_segments, POSTERIOR_SEGMENTS) & (labels.array == Label.LV_MYOCARDIUM)
    dist = ndi.distance_transform_edt(~post, sampling=labels.spacing_mm)
    band = np.argwhere((dist > 0) & (dist <= BAND_MM) & (labels.array == Label.BACKGROUND))
    frame = result.frame

    def level(idx: np.ndarray) -> np.ndarray:
        return (labels.geometry.index_to_world(idx) - frame.apex_mm) @ frame.long_axis

    assert post.any(), "no posterior myocardium (AHA 5, 11) in the automatic result"
    wall = level(np.argwhere(post))
    h = level(band)
    band = band[(h > wall.min()) & (h < wall.max() - 2.0)]
    return tuple(band.T)


def test_sample_run_edit_recompute_undo_save_reopen(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    viewer = make_napari_viewer()
    viewer.open_sample("wallthick", "phantom_baseline")
    image_layer = viewer.layers["phantom baseline"]
    assert image_layer.metadata[META_KEY]["geometry"]["spacing_mm"] == [1.0, 0.75, 0.75]
    widget = WallThicknessWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Wall thickness")
    assert widget.image_combo.currentText() == "phantom baseline"

    widget.run_button.click()
    _wait(qtbot, widget)
    assert widget.analysis.result is not None, widget.status.text()
    labels_layer = widget.labels_layer()
    assert labels_layer is not None
    np.testing.assert_allclose(labels_layer.affine.affine_matrix, image_layer.affine.affine_matrix)
    assert f"thickness mm {image_layer.name}" in viewer.layers
    assert len(viewer.layers[f"probes {image_layer.name}"].data) > 0
    assert widget.table.rowCount() == 19
    auto = labels_layer.data.copy()
    before = widget.analysis.result.measurement

    # paint a band of myocardium outside the posterior wall, through napari's history
    band = _posterior_band(widget)
    labels_layer.data_setitem(band, int(Label.LV_MYOCARDIUM))
    assert len(labels_layer._undo_history) == 1
    widget.recompute_button.click()
    _wait(qtbot, widget)
    after = widget.analysis.result.measurement
    rise = after.posterior_wall_thickness_mm - before.posterior_wall_thickness_mm
    assert 0.7 * BAND_MM < rise < 1.3 * BAND_MM
    assert abs(after.septal_thickness_mm - before.septal_thickness_mm) < 0.3
    assert after.segmentation_source == "corrected"

    # undo restores the labels and the measurement
    labels_layer.undo()
    np.testing.assert_array_equal(labels_layer.data, auto)
    widget.recompute_button.click()
    _wait(qtbot, widget)
    restored = widget.analysis.result.measurement
    assert restored.posterior_wall_thickness_mm == pytest.approx(
        before.posterior_wall_thickness_mm, abs=1e-6
    )
    assert restored.segmentation_source == "auto"

    # redo, then save the correction with its provenance
    labels_layer.redo()
    widget.results_edit.setText(str(tmp_path / "results"))
    widget.analyst_edit.setText("Test Analyst")
    widget.save_button.click()
    _wait(qtbot, widget)
    folder = widget.analysis.series_folder
    assert folder is not None and folder.parent == tmp_path / "results"
    assert (folder / "segmentation.nii.gz").is_file()
    assert (folder / "segmentation_corrected.nii.gz").is_file()
    prov = json.loads((folder / "correction_provenance.json").read_text())
    n_band = len(band[0])
    assert prov["analyst"] == "Test Analyst"
    assert prov["voxels_by_label"] == {
        "BACKGROUND": {"added": 0, "removed": n_band},
        "LV_MYOCARDIUM": {"added": n_band, "removed": 0},
    }
    assert prov["before"]["posterior_wall_thickness_mm"] == pytest.approx(
        before.posterior_wall_thickness_mm, abs=1e-3
    )
    assert prov["after"]["posterior_wall_thickness_mm"] == pytest.approx(
        after.posterior_wall_thickness_mm, abs=1e-3
    )
    assert prov["saved_at_utc"].endswith("Z")

    # reopening the results folder shows the corrected labels on the same grid
    viewer2 = make_napari_viewer()
    layers = viewer2.open(str(folder), plugin="wallthick")
    (seg,) = [layer for layer in layers if layer._type_string == "labels"]
    np.testing.assert_array_equal(seg.data, labels_layer.data)
    assert seg.metadata[META_KEY]["segmentation_source"] == "corrected"
    np.testing.assert_allclose(seg.affine.affine_matrix, image_layer.affine.affine_matrix)


@pytest.mark.realdata
def test_real_ct_opens_with_its_geometry(make_napari_viewer: Any, real_ct: Path) -> None:
    from wallthick.io import load_image

    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(real_ct), plugin="wallthick")
    vol = load_image(real_ct)
    np.testing.assert_allclose(layer.affine.affine_matrix, napari_affine(vol.geometry))
    assert layer.metadata[META_KEY]["geometry"]["spacing_mm"] == pytest.approx([1.5, 1.5, 1.5])


@pytest.mark.realdata
def test_batch_results_folder_correct_and_batch_uses_it(
    make_napari_viewer: Any, qtbot: Any, real_ct: Path, tmp_path: Path
) -> None:
    from wallthick.batch import BatchOptions, load_results, measure_to_folder

    out = tmp_path / "results"
    options = BatchOptions(workers=1, write_qc=False, write_dicom_seg=False)
    measure_to_folder(real_ct, out, options)
    (stored,) = load_results(out)
    assert stored.status == "ok", stored.row["error"]

    viewer = make_napari_viewer()
    layers = viewer.open(str(out), plugin="wallthick")
    assert [layer._type_string for layer in layers] == ["image", "labels"]
    image_layer, labels_layer = layers
    np.testing.assert_allclose(labels_layer.affine.affine_matrix, image_layer.affine.affine_matrix)
    widget = WallThicknessWidget(viewer)
    assert widget.labels_layer() is labels_layer
    assert labels_layer is not None
    assert widget.analysis.series_folder == stored.folder
    shown = widget.table.item(1, 1)  # posterior, from measurement.json
    assert shown is not None and stored.measurement is not None
    assert shown.text() == f"{stored.measurement.posterior_wall_thickness_mm:.2f}"

    # erase a few myocardium voxels and save: the correction lands in the batch folder
    myo = np.nonzero(labels_layer.data == Label.LV_MYOCARDIUM)
    labels_layer.data_setitem(tuple(axis[:200] for axis in myo), int(Label.BACKGROUND))
    widget.save_button.click()
    _wait(qtbot, widget)
    prov = json.loads((stored.folder / "correction_provenance.json").read_text())
    assert prov["voxels_by_label"]["LV_MYOCARDIUM"] == {"added": 0, "removed": 200}
    assert prov["before"]["posterior_wall_thickness_mm"] == pytest.approx(
        stored.measurement.posterior_wall_thickness_mm, abs=1e-3
    )

    # the next batch run measures the corrected labels
    measure_to_folder(real_ct, out, options)
    (again,) = load_results(out)
    assert again.row["segmentation_source"] == "corrected"
    assert float(again.row["posterior_wall_thickness_mm"]) == pytest.approx(
        prov["after"]["posterior_wall_thickness_mm"], abs=1e-3
    )


def test_errors_are_notifications_not_crashes(
    make_napari_viewer: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[str] = []
    monkeypatch.setattr(_widget, "show_error", errors.append)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((4, 5, 6), np.float32), name="no geometry")
    # the widget as napari's Plugins menu makes it (viewer injected from the manifest)
    _, widget = viewer.window.add_plugin_dock_widget("wallthick", "Wall thickness")
    assert isinstance(widget, WallThicknessWidget)
    assert widget.image_combo.currentText() == "no geometry"
    widget.run_button.click()  # refused before any computation; must not raise
    widget.save_button.click()
    assert not widget.busy
    assert len(errors) == 2 and all("voxel spacing is unknown" in e for e in errors)

    # a scan without a heart fails inside the worker: a notification, the viewer lives on
    g = Geometry((24, 32, 32), (2.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3)[:, ::-1])  # axial
    empty = ImageVolume.from_geometry(np.full(g.shape, -1000.0, np.float32), g)
    data, kwargs, _ = image_layer_data(empty, "air")
    viewer.add_image(data, **kwargs)
    widget.image_combo.setCurrentText("air")
    widget.run_button.click()
    _wait(qtbot, widget)
    assert len(errors) == 3 and errors[2].startswith("Wall thickness: ")
    assert widget.analysis.result is None
    assert widget.run_button.isEnabled()


def test_lv_seed_point_starts_the_segmentation(make_napari_viewer: Any, qtbot: Any) -> None:
    """The analyst clicks a point inside the LV: Run starts there (the point is
    converted from napari world coordinates to LPS mm) and finds the same LV."""
    from napari_wallthick._convert import lps_to_world
    from wallthick.phantom import sample_case

    case = sample_case(0)
    lv = np.argwhere(case.labels.array == Label.LV_BLOOD_POOL)
    centre = case.image.index_to_world(lv.mean(axis=0))
    viewer = make_napari_viewer()
    viewer.open_sample("wallthick", "phantom_baseline")
    widget = WallThicknessWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Wall thickness")
    assert widget.lv_seed_mm() is None
    widget.seed_button.click()
    seed_layer = viewer.layers[_widget.SEED_LAYER]
    assert viewer.layers.selection.active is seed_layer and seed_layer.mode == "add"
    seed_layer.add(lps_to_world(centre))
    np.testing.assert_allclose(widget.lv_seed_mm(), centre, atol=1e-6)

    widget.run_button.click()
    _wait(qtbot, widget)
    result = widget.analysis.result
    assert result is not None, widget.status.text()
    np.testing.assert_allclose(result.labels.metadata["lv_seed_mm"], centre, atol=1e-6)
    found = result.labels.array == Label.LV_BLOOD_POOL
    truth = case.labels.array == Label.LV_BLOOD_POOL
    assert 2 * (found & truth).sum() / (found.sum() + truth.sum()) > 0.95
