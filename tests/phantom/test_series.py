"""Written phantom series reload through wallthick.io with the intended geometry;
cohorts record their visits, changes and phases correctly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wallthick.io import discover_series, load_series
from wallthick.phantom import CohortSpec, PhantomCase, phantom_truth, write_cohort
from wallthick.phantom.spec import PhantomSpec

TINY = dict(rows=64, slices=44, pixel_spacing_mm=2.2, slice_spacing_mm=2.5)


def test_sample_series_reloads_with_geometry(
    phantom_case: PhantomCase, phantom_dicom_dir: Path
) -> None:
    found = discover_series(phantom_dicom_dir)
    assert len(found.usable) == 1
    vol = load_series(found.usable[0])
    img = phantom_case.image
    assert vol.shape == img.shape
    np.testing.assert_allclose(vol.spacing_mm, img.spacing_mm, atol=1e-4)
    np.testing.assert_allclose(vol.origin_mm, img.origin_mm, atol=1e-3)
    np.testing.assert_allclose(vol.direction, img.direction, atol=1e-6)
    np.testing.assert_allclose(vol.array, np.rint(img.array), atol=0.5)
    truth = json.loads((phantom_dicom_dir / "truth.json").read_text())
    assert truth["septal_thickness_mm"] == phantom_case.truth["septal_thickness_mm"]
    assert truth["series"]["series_instance_uid"] == found.usable[0].series_instance_uid


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("cohort")
    spec = CohortSpec(
        seed=11,
        n_patients=1,
        followup_months=(3, 6),
        multiphase_patients=1,
        phases_percent=(0, 40, 90),
        overrides=TINY,
    )
    return root, write_cohort(spec, root)


def test_cohort_reloads_with_intended_geometry(cohort: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, manifest = cohort
    found = {d.series_instance_uid: d for d in discover_series(root).usable}
    assert len(found) == len(manifest["series"]) == 6
    for entry in manifest["series"]:
        truth = json.loads((root / entry["path"] / "truth.json").read_text())
        vol = load_series(found[entry["series_instance_uid"]])
        geom = truth["geometry"]
        assert list(vol.shape) == geom["shape"]
        np.testing.assert_allclose(vol.spacing_mm, geom["spacing_mm"], atol=1e-4)
        np.testing.assert_allclose(vol.origin_mm, geom["origin_mm"], atol=1e-3)
        np.testing.assert_allclose(vol.direction, geom["direction"], atol=1e-6)
        assert found[entry["series_instance_uid"]].study_date == entry["study_date"]


def test_cohort_changes_are_recorded(cohort: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, manifest = cohort
    visits = [e for e in manifest["series"] if "visit" in e]
    assert [v["visit"]["months"] for v in visits] == [0, 3, 6]
    dates = [v["study_date"] for v in visits]
    assert dates == sorted(dates) and len(set(dates)) == 3
    assert len({v["study_instance_uid"] for v in visits}) == 3
    base = visits[0]
    for v in visits:
        change = v["true_change_from_baseline"]
        spec = PhantomSpec.from_dict(
            json.loads((root / v["path"] / "truth.json").read_text())["spec"]
        )
        truth = phantom_truth(spec)
        assert change["septal_thickness_mm"] == pytest.approx(
            truth["septal_thickness_mm"] - base["septal_thickness_mm"], abs=1e-3
        )
        assert change["posterior_wall_thickness_mm"] == pytest.approx(
            truth["posterior_wall_thickness_mm"] - base["posterior_wall_thickness_mm"], abs=1e-3
        )
        assert -1.0 - 1e-9 <= change["septal_thickness_mm"] <= 3.0 + 1e-9
        assert -1.0 - 1e-9 <= change["posterior_wall_thickness_mm"] <= 3.0 + 1e-9
    final = visits[-1]["true_change_from_baseline"]
    assert final["septal_thickness_mm"] != 0.0 or final["posterior_wall_thickness_mm"] != 0.0


def test_multiphase_end_diastole_has_largest_cavity(cohort: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, manifest = cohort
    phases = [e for e in manifest["series"] if "end_diastole" in e]
    assert len(phases) == 3
    assert len({e["study_instance_uid"] for e in phases}) == 1
    ed = [e for e in phases if e["end_diastole"]]
    assert len(ed) == 1
    assert ed[0]["lv_cavity_volume_ml"] == max(e["lv_cavity_volume_ml"] for e in phases)
    others = [e for e in phases if not e["end_diastole"]]
    assert all(e["septal_thickness_mm"] > ed[0]["septal_thickness_mm"] for e in others)
    study_truth = json.loads((root / Path(ed[0]["path"]).parent / "truth.json").read_text())
    assert study_truth["ed_phase_percent"] == ed[0]["phase_percent"]
    assert study_truth["septal_thickness_mm"] == ed[0]["septal_thickness_mm"]
    found = {d.series_instance_uid: d for d in discover_series(root).usable}
    for e in phases:
        d = found[e["series_instance_uid"]]
        assert d.phase_percent == pytest.approx(e["phase_percent"])
        assert f"{e['phase_percent']}%" in d.series_description


def test_sample_data_cohort_files_parse() -> None:
    folder = Path(__file__).resolve().parents[2] / "sample_data"
    files = sorted(folder.glob("cohort_*.json"))
    assert files
    for path in files:
        spec = CohortSpec.from_json(path)
        assert spec.n_patients + spec.multiphase_patients > 0


def test_cohort_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="followup_months"):
        CohortSpec(followup_months=(2,))
    bad = tmp_path / "bad.json"
    bad.write_text('{"n_patients": 1, "colour": "red"}')
    with pytest.raises(ValueError, match="bad.json"):
        CohortSpec.from_json(bad)
