"""Saving a correction into a results folder and reading it back, without napari."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from napari_wallthick._results import correction_folder, is_results_folder, read_results_folder
from wallthick import Geometry, ImageVolume, Label, LabelVolume
from wallthick.results import write_correction


@pytest.fixture
def scan(tmp_path: Path) -> tuple[Path, Geometry]:
    g = Geometry((6, 7, 8), (2.0, 0.7, 0.7), (-10.0, 5.0, 30.0), np.eye(3)[:, [2, 1, 0]])
    image = ImageVolume.from_geometry(np.full(g.shape, 40.0, np.float32), g)
    path = tmp_path / "scan.nii.gz"
    sitk.WriteImage(image.to_sitk(), str(path))
    return path, g


def test_a_saved_correction_reads_back_from_its_folder(
    scan: tuple[Path, Geometry], tmp_path: Path
) -> None:
    path, g = scan
    image = ImageVolume.from_geometry(np.zeros(g.shape), g, {"source_path": str(path)})
    auto = np.zeros(g.shape, np.uint8)
    auto[2:4, 2:5, 2:6] = Label.LV_MYOCARDIUM
    fixed = auto.copy()
    fixed[4, 2:5, 2:6] = Label.LV_MYOCARDIUM
    folder = correction_folder(tmp_path / "results", image)
    prov = {"analyst": "x", "source_path": str(path)}
    files = write_correction(
        folder, LabelVolume.from_geometry(fixed, g), LabelVolume.from_geometry(auto, g), prov
    )
    assert set(files) == {"segmentation", "segmentation_corrected", "correction_provenance"}
    assert not list(folder.glob(".tmp*"))  # atomic writes leave nothing behind
    # a second save never overwrites the automatic segmentation
    files2 = write_correction(folder, LabelVolume.from_geometry(fixed, g), None, prov)
    assert "segmentation" not in files2
    assert is_results_folder(folder)
    (series,) = read_results_folder(folder)
    assert series.corrected and series.image is not None
    assert series.labels is not None and series.labels.geometry.same_grid(g)
    np.testing.assert_array_equal(series.labels.array, fixed)
    assert json.loads((folder / "correction_provenance.json").read_text())["analyst"] == "x"
