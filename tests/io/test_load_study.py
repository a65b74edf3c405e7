"""io.load_study: the one loader of a study for measure_wall_thickness and the batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wallthick.errors import InvalidSeriesError
from wallthick.io import (
    discover_series,
    find_phase_groups,
    load_series,
    load_study,
    write_dicom_series,
)
from wallthick.volume import ImageVolume


def _series(folder: Path, value: float, phase: float | None = None) -> None:
    vol = ImageVolume(np.full((4, 6, 5), value, np.float32), (2, 1, 1), (0, 0, 0), np.eye(3))
    info = {
        "study_instance_uid": "1.2.826.0.1.3680043.8.498.7",
        "frame_of_reference_uid": "1.2.826.0.1.3680043.8.498.8",
    }
    if phase is not None:
        info["phase_percent"] = phase
    write_dicom_series(vol, folder, info=info)


def test_a_series_a_folder_and_a_group_load_alike(tmp_path: Path) -> None:
    _series(tmp_path / "one", 100.0)
    (desc,) = discover_series(tmp_path / "one")
    for source in (desc, [desc], tmp_path / "one", str(tmp_path / "one")):
        (volume,) = load_study(source)
        np.testing.assert_array_equal(volume.array, load_series(desc).array)


def test_a_folder_of_phases_gives_every_phase_in_order(tmp_path: Path) -> None:
    for value, phase in ((300.0, 70.0), (100.0, 0.0), (200.0, 40.0)):
        _series(tmp_path / "study" / f"p{int(phase)}", value, phase)
    (group,) = find_phase_groups(discover_series(tmp_path / "study"))
    from_folder = load_study(tmp_path / "study")
    from_group = load_study(group)
    assert [float(v.array.mean()) for v in from_folder] == [100.0, 200.0, 300.0]
    assert [v.metadata["phase"] for v in from_group] == [v.metadata["phase"] for v in from_folder]


def test_bad_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSeriesError, match="no such file or folder"):
        load_study(tmp_path / "missing")
    with pytest.raises(TypeError, match="Argument 'source'"):
        load_study([])
    with pytest.raises(TypeError, match="Argument 'source'"):
        load_study([1, 2])  # type: ignore[list-item]
