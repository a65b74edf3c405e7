"""discover_series and find_phase_groups on synthetic trees; the discover CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wallthick.cli.main import main
from wallthick.io import discover_series, find_phase_groups, load_series
from wallthick.volume import ImageVolume


def test_tree_walk_ignores_hidden_dicomdir_and_outside_links(
    tmp_path: Path, write_series: Any, h: Any
) -> None:
    vol = h.linear_hu((3, 4, 4), (1, 1, 1))
    paths = write_series(vol, name="tree/a")
    outside = write_series(vol, name="outside")
    (tmp_path / "tree" / ".hidden").mkdir()
    (paths[0].parent / ".DS_Store").write_bytes(b"junk")
    (paths[0].parent / "DICOMDIR").write_bytes(paths[0].read_bytes())
    (tmp_path / "tree" / "notes.txt").write_text("not dicom")
    os.symlink(outside[0].parent, tmp_path / "tree" / "link_out")
    os.symlink(paths[0].parent, tmp_path / "tree" / "link_in")  # same files again: counted once
    os.symlink(tmp_path / "tree", paths[0].parent / "loop")  # a cycle: visited once
    os.symlink(paths[1], tmp_path / "tree" / "file_link")  # a file reached twice
    found = discover_series(tmp_path / "tree")
    assert len(found) == 1 and found[0].slice_count == 3
    reasons = sorted(r.reason for r in found.rejected)
    assert any("not a DICOM file" in r for r in reasons)
    assert any("leads outside" in r for r in reasons)
    assert found[0].files == tuple(sorted(paths))


def test_mixed_sizes_and_orientations_are_never_grouped(
    tmp_path: Path, write_series: Any, h: Any
) -> None:
    uid = "1.2.826.0.1.3680043.8.498.1"
    info = {"series_instance_uid": uid}
    write_series(h.linear_hu((3, 4, 4), (1, 1, 1)), name="mixed", info=info)
    write_series(h.linear_hu((3, 6, 6), (1, 1, 1)), name="mixed", info=info)
    sagittal = ImageVolume(np.zeros((3, 4, 4)), (1, 1, 1), (0, 0, 0), np.eye(3))
    write_series(sagittal, name="mixed", info=info)
    found = discover_series(tmp_path / "mixed")
    assert len(found) == 3
    assert sorted((d.rows, d.slice_count) for d in found) == [(4, 3), (4, 3), (6, 3)]
    assert {d.series_instance_uid for d in found} == {uid}


def test_phase_groups(tmp_path: Path, write_series: Any, h: Any) -> None:
    vol = h.linear_hu((3, 4, 4), (1, 1, 1))
    common = {"study_instance_uid": "1.2.3", "frame_of_reference_uid": "1.2.3.4"}
    write_series(vol, name="p75", info={**common, "series_description": "BestDiast 75%"})
    write_series(vol, name="p40", info={**common, "phase_percent": 40})
    write_series(vol, name="p0", info={**common, "trigger_time_ms": 0})  # TriggerTime only
    write_series(vol, name="other", info={"series_description": "70%"})  # other study
    write_series(vol, name="nophase", info=common)
    found = discover_series(tmp_path)
    groups = find_phase_groups(found)
    sizes = sorted(len(g) for g in groups)
    assert sizes == [1, 1, 3]
    multi = next(g for g in groups if len(g) == 3)
    assert [d.phase for d in multi] == ["", "40%", "75%"]
    assert multi[0].trigger_time_ms == 0.0
    volumes = [load_series(d) for d in multi]
    assert [v.metadata["phase"] for v in volumes] == ["", "40%", "75%"]


def test_phases_sharing_one_series_uid_are_split(tmp_path: Path, write_series: Any, h: Any) -> None:
    vol = h.linear_hu((3, 4, 4), (1, 1, 1))
    common = {"series_instance_uid": "1.2.826.0.1.3680043.8.498.77"}
    write_series(vol, name="s", info={**common, "phase_percent": 70})
    write_series(vol, name="s", info={**common, "phase_percent": 30})
    found = discover_series(tmp_path / "s")
    assert sorted(d.phase for d in found) == ["30%", "70%"]
    assert all(d.slice_count == 3 for d in found)


def test_missing_root() -> None:
    with pytest.raises(FileNotFoundError, match="root"):
        discover_series("/nonexistent/wallthick")


def test_cli_hides_phi_unless_asked(
    tmp_path: Path, write_series: Any, h: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    info = {"patient_id": "SECRET-ID", "patient_name": "Doe^Jane", "series_description": "CTA 75%"}
    write_series(h.linear_hu((3, 4, 4), (1, 1, 1)), info=info)
    (tmp_path / "junk.txt").write_text("x")
    assert main(["discover", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "CTA 75%" in out and "SECRET-ID" not in out and "Doe" not in out
    assert "1 files not usable" in out
    assert main(["discover", "--show-phi", str(tmp_path)]) == 0
    assert "SECRET-ID" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert main(["discover", str(tmp_path / "empty")]) == 1
    assert main(["discover", str(tmp_path / "missing")]) == 2


@pytest.mark.realdata
def test_fast_header_reader_agrees_with_pydicom(
    shared_data: Path, write_series: Any, h: Any
) -> None:
    from wallthick.io._headers import _read_fast, read_header

    files = write_series(h.linear_hu((3, 4, 4), (1, 1, 1)), info={"patient_name": "Ünïcode^Näme"})
    for folder in ("real/abdomen_ct_dicom/series", "dicom/dcm_qa_ct/In/GE", "dicom/nema_wg04/REF"):
        files += sorted((shared_data / folder).iterdir())
    for path in files:
        assert _read_fast(path) is not None, path
        assert read_header(path) == read_header(path, allow_fast=False), path
