"""The heart-failure phantom: dilated anatomy, leads with streaks, weak contrast,
ten-phase studies; old specs and truth unchanged."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from wallthick.labels import Label
from wallthick.phantom import (
    CohortSpec,
    PhantomCase,
    PhantomSpec,
    generate_phantom,
    phantom_truth,
    random_spec,
    write_cohort,
)
from wallthick.phantom.generate import _Pose
from wallthick.phantom.leads import build_leads, lead_fraction
from wallthick.phantom.render import nested_fields
from wallthick.phantom.scene import build_scene
from wallthick.phantom.series import HF_KINDS, phase_specs
from wallthick.phantom.spec import HF_FIELDS, random_hf_spec
from wallthick.volume import Geometry

# sha256 of the truth of random_spec(0) and random_spec(3) and of PhantomSpec().to_dict(),
# computed before the heart-failure fields existed.
OLD_TRUTH_SHA = {
    0: "6780045e043b913c2a34d3fd90fb02be6b12e8c758b97a27bb5f4a86bbda1dbe",
    3: "d5fd06e28f0519979e479eac696e2db8b83ad1df7e1a061b815ced7240301130",
}
OLD_DEFAULT_SPEC_SHA = "7a88050be21f503620345fa92ffb3a9fa68ebaec2e1a809e4fcc03c9cd84136c"


def _sha(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _dilated(spec: PhantomSpec) -> bool:
    return (
        spec.ejection_fraction is not None
        and spec.ejection_fraction <= 0.35
        and (spec.endo_radius_mm > 29.0)
    )


def test_defaults_unchanged_truth_and_spec_bytes() -> None:
    assert _sha(PhantomSpec().to_dict()) == OLD_DEFAULT_SPEC_SHA
    for seed, sha in OLD_TRUTH_SHA.items():
        spec = random_spec(seed)
        assert not set(spec.to_dict()) & set(HF_FIELDS)
        assert _sha(phantom_truth(spec)) == sha


def test_json_round_trip_and_old_specs_load() -> None:
    for seed in range(5000, 5030):
        spec = random_hf_spec(seed)
        again = PhantomSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert again == spec
    old = random_spec(4).to_dict()
    assert PhantomSpec.from_dict(old).leads == () and PhantomSpec.from_dict(old) == random_spec(4)
    with pytest.raises(ValueError, match="leads"):
        PhantomSpec(leads=("lv",))
    with pytest.raises(ValueError, match="shock"):
        PhantomSpec(leads=("cs",), streaks="shock")


def test_population_mix() -> None:
    specs = [random_hf_spec(seed) for seed in range(7000, 7200)]
    dilated = np.mean([_dilated(s) for s in specs])
    lead = np.mean([bool(s.leads) for s in specs])
    weak_rv = np.mean([s.hu_rv_blood - s.hu_myocardium <= 80.0 for s in specs])
    slices = np.array([s.slice_spacing_mm for s in specs])
    assert min(dilated, lead, weak_rv) >= 0.3
    assert slices.min() >= 0.5 and slices.max() <= 2.5 and np.mean(slices >= 2.0) >= 0.2
    assert any(s.streaks == "shock" for s in specs) and any("cs" in s.leads for s in specs)
    assert any(s.septal_mm >= 14.0 and s.hu_rv_blood - s.hu_myocardium <= 80 for s in specs)


def test_dilated_truth_volume_thickness_and_thin_patch() -> None:
    specs = [s for s in (random_hf_spec(seed) for seed in range(7000, 7060)) if _dilated(s)]
    assert len(specs) >= 15
    for spec in specs[:6]:
        truth = phantom_truth(spec)
        assert 120.0 - 1e-6 <= truth["lv_cavity_volume_ml"] <= 350.0 + 1e-6
        assert truth["septal_thickness_mm"] == pytest.approx(spec.septal_mm, abs=1e-4)
        assert truth["posterior_wall_thickness_mm"] == pytest.approx(spec.posterior_mm, abs=1e-4)
        sphericity = 2 * spec.endo_radius_mm / spec.cavity_length_mm
        assert 0.79 <= sphericity <= 1.18  # normal LVs: ~0.55-0.8
    patched = next(s for s in specs if s.thin_patch_mm > 0)
    truth = phantom_truth(patched)
    thinnest = min(seg["min_mm"] for seg in truth["segments"] if seg["segment"] != 17)
    assert thinnest == pytest.approx(patched.thin_patch_mm, abs=0.05)
    plain = phantom_truth(patched.replace(thin_patch_mm=0.0))
    assert truth["septal_thickness_mm"] == plain["septal_thickness_mm"]
    assert truth["posterior_wall_thickness_mm"] == plain["posterior_wall_thickness_mm"]


def _coarse_lead_spec(streaks: str) -> PhantomSpec:
    """A dilated heart with RV and RA leads on a coarse, noiseless grid."""
    spec = random_hf_spec(5011).replace(
        leads=("rv", "ra"),
        streaks=streaks,
        streak_hu=400.0,
        noise_sd_hu=0.0,
        contrast_mixing=False,
        pixel_spacing_mm=1.6,
        rows=128,
        slice_spacing_mm=2.0,
        slices=80,
    )
    return spec


@pytest.fixture(scope="module")
def lead_cases() -> dict[str, PhantomCase]:
    return {
        "lead": generate_phantom(_coarse_lead_spec("ordinary")),
        "no_lead": generate_phantom(_coarse_lead_spec("none").replace(leads=())),
    }


def test_lead_never_counts_as_wall(lead_cases: dict[str, PhantomCase]) -> None:
    with_lead, without = lead_cases["lead"], lead_cases["no_lead"]
    np.testing.assert_array_equal(with_lead.labels.array, without.labels.array)
    for key in ("septal_thickness_mm", "posterior_wall_thickness_mm", "lv_myocardium_volume_ml"):
        assert with_lead.truth[key] == without.truth[key]
    spec = with_lead.spec
    scene = build_scene(spec)
    leads = build_leads(spec, scene.lv, _Pose(spec).to_world)
    assert {lead.kind for lead in leads} == {"rv", "ra"}
    frac = lead_fraction(leads, with_lead.image.geometry)
    labels = with_lead.labels.array
    assert frac.max() > 0.5 and not np.any(labels[frac > 0.5] == Label.LV_MYOCARDIUM)
    assert with_lead.truth["leads"][0]["kind"] == "rv"
    # partial volume: the metal's volume equals the tube's (sum of fractions)
    voxel_ml = float(np.prod(with_lead.image.spacing_mm))
    inside = float(frac.sum()) * voxel_ml
    rv = next(lead for lead in leads if lead.kind == "rv")
    assert inside > np.pi * (0.5 * spec.lead_diameter_mm) ** 2 * 60.0
    image = with_lead.image.array
    assert np.median(image[frac > 0.9]) > 1500.0  # metal, blurred by the PSF
    assert len(rv.points) > 100


@pytest.mark.parametrize("seed", [5001, 5009, 5011, 7003])
def test_metal_and_myocardium_are_disjoint(seed: int) -> None:
    spec = random_hf_spec(seed).replace(leads=("rv", "ra", "cs"), streaks="shock")
    scene, pose = build_scene(spec), _Pose(spec)
    for lead in build_leads(spec, scene.lv, pose.to_world):
        fields = nested_fields(scene, pose.to_anatomical(lead.points))
        assert np.all(fields["lv_outer"] > lead.radius_mm), lead.kind
        if lead.kind == "rv":  # along the septum in the RV cavity
            along = fields["rv_blood"][: len(lead.points) // 3]
            assert np.all(along < -lead.radius_mm[: len(along)])


def test_streaks_radiate_from_the_lead(lead_cases: dict[str, PhantomCase]) -> None:
    plain, streaked = lead_cases["no_lead"], lead_cases["lead"]
    diff = streaked.image.array - plain.image.array
    spec = streaked.spec
    scene = build_scene(spec)
    rv = next(x for x in build_leads(spec, scene.lv, _Pose(spec).to_world) if x.kind == "rv")
    geometry = streaked.image.geometry
    others = np.vstack([x.points for x in build_leads(spec, scene.lv, _Pose(spec).to_world)
                        if x.kind != "rv"])  # fmt: skip
    k, centre = _slice_with_rv_lead_only(rv.points, others, geometry)
    z = float(geometry.index_to_world(np.array([k, 0.0, 0.0]))[2])
    angles = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    profiles = []
    for radius in (8.0, 16.0):
        pts = np.stack(
            [
                np.full(angles.size, z),
                centre[1] + radius * np.sin(angles),
                centre[0] + radius * np.cos(angles),
            ],
            -1,
        )[:, [2, 1, 0]]
        idx = np.rint(geometry.world_to_index(pts)).astype(int)
        profiles.append(diff[k][idx[:, 1], idx[:, 2]])
    near_p, far_p = profiles
    assert near_p.max() > 80 and near_p.min() < -80  # bright and dark bands
    assert np.mean(np.abs(far_p) > 30) < 0.5  # thin bands, not a halo
    assert np.corrcoef(near_p, far_p)[0, 1] > 0.6  # same angles at both radii: straight, radial
    assert np.abs(far_p).max() < np.abs(near_p).max()  # fading away from the lead


def test_ten_phase_study_ed_is_largest_and_neighbours_close() -> None:
    spec = random_hf_spec(5000)  # dilated, EF 27 %
    assert spec.ejection_fraction is not None and spec.ejection_fraction <= 0.35
    phases = phase_specs(spec, [5 + 10 * i for i in range(10)], 95.0)
    volumes = [phantom_truth(p)["lv_cavity_volume_ml"] for p in phases]
    ed = int(np.argmax(volumes))
    assert phases[ed].phase_percent == 95.0 and phases[ed].systolic_fraction == 0.0
    assert 1.0 - min(volumes) / volumes[ed] == pytest.approx(spec.ejection_fraction, abs=1e-4)
    neighbour = max(volumes[0], volumes[-2])
    assert 0.0 < 1.0 - neighbour / volumes[ed] < 0.05  # a few percent only


def _slice_with_rv_lead_only(
    rv: np.ndarray, others: np.ndarray, geometry: Geometry
) -> tuple[int, np.ndarray]:
    """An axial slice crossed by the RV lead along the septum and by no other lead."""
    for point in rv[100:]:
        k = int(round(float(geometry.world_to_index(point)[0])))
        z = float(geometry.index_to_world(np.array([k, 0.0, 0.0]))[2])
        if not np.any(np.abs(others[:, 2] - z) < 3.0):
            near = rv[np.abs(rv[:, 2] - z) < 1.0]
            return k, near[:, :2].mean(axis=0)
    raise AssertionError("no slice with the RV lead alone")


def test_cohort_with_one_subject_of_each_kind(tmp_path: Path) -> None:
    coarse = dict(rows=32, pixel_spacing_mm=4.5, slices=20, slice_spacing_mm=6.0)
    cohort = CohortSpec(
        seed=3,
        n_patients=0,
        multiphase_patients=0,
        hf_subjects=HF_KINDS,
        overrides=coarse,
    )
    manifest = write_cohort(cohort, tmp_path)
    kinds = [e["kind"] for e in manifest["series"]]
    assert kinds.count("ten_phase") == 10 and sorted(set(kinds)) == sorted(HF_KINDS)
    specs = {
        e["kind"]: PhantomSpec.from_dict(
            json.loads((tmp_path / e["path"] / "truth.json").read_text())["spec"]
        )
        for e in manifest["series"]
    }
    assert specs["lead"].leads and specs["lead"].streaks == "ordinary"
    assert specs["weak_contrast"].hu_lv_blood <= 280 and specs["weak_contrast"].septal_mm >= 14
    phases = [e for e in manifest["series"] if e["kind"] == "ten_phase"]
    ed = [e for e in phases if e["end_diastole"]]
    assert len(ed) == 1 and ed[0]["phase_percent"] in (0, 5, 90, 95)
    assert ed[0]["lv_cavity_volume_ml"] == max(e["lv_cavity_volume_ml"] for e in phases)
    assert ed[0]["lv_cavity_volume_ml"] >= 120.0
    # a default cohort's manifest has no heart-failure keys (byte-identical to before)
    assert "hf_subjects" in manifest["cohort"]
    assert not {"population", "hf_subjects"} & set(
        write_cohort(CohortSpec(n_patients=0, multiphase_patients=0), tmp_path / "d")["cohort"]
    )


def test_validation_summary_scores_coverage_and_end_diastole(
    load_script: Callable[[str], ModuleType],
) -> None:
    validate = load_script("validate_hf")

    def row(seed: int, err: float, u: float, **extra: object) -> dict[str, object]:
        return {"seed": seed, "kind": "single", "leads": ["rv"], "streaks": "ordinary",
                "lv_blood_hu": 250.0, "rv_above_myo_hu": 60.0, "pixel_mm": 0.8,
                "slice_mm": 1.0, "lead": True, "dilated": False, "weak_rv": True,
                "slices_ge_2mm": False, "qc_flags": [], "septal": 9.0 + err,
                "septal_truth": 9.0, "septal_unc": u, "posterior": 8.0,
                "posterior_truth": 8.0, "posterior_unc": u,
                "seconds": {"generate": 1.0, "pipeline": 1.0}, **extra}  # fmt: skip

    rows = [row(1, 0.1, 0.2), row(2, -0.3, 0.2), row(3, 0.9, 0.2, qc_flags=["long_axis"])]
    rows.append(row(4, 0.0, 0.5, kind="ten_phase", ed_phase=95.0, chosen_phase=85.0,
                    ed_correct=False))  # fmt: skip
    text = validate.summarise(rows)
    # septal |err|/u = 0.5, 1.5, 4.5, 0: two of four within 1 u, three within 2 u
    assert "| all | septal | 4 | 4 | 0.33 | +0.17 | 0.90 | 0.50 | 0.75 | 4.5 | 0.28 |" in text
    assert "Passed QC: 3/4" in text and "Errors > 0.6 mm: 1 (0 covered by 3 u" in text
    assert "end-diastole right in 0/1" in text
    spec = random_hf_spec(5000)
    assert (
        validate.subgroups(spec, 307.0)["dilated"]
        and not validate.subgroups(spec, 100.0)["dilated"]
    )
