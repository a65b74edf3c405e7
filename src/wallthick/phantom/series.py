"""Write phantoms as DICOM CT series with ``truth.json``; cohorts of patients and visits.

Folder layout of :func:`write_cohort` (no patient identifiers in paths)::

    out_root/cohort.json                       every series, its truth, true changes
    out_root/subject_01/visit_00m/series_001/  DICOM slices + truth.json
    out_root/subject_01/visit_03m/series_001/
    out_root/subject_02/multiphase/series_000 ... series_090/   (+ truth.json per phase)
    out_root/subject_02/multiphase/truth.json  end-diastolic phase and per-phase volumes
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import generate_uid

from wallthick.io import write_dicom_series
from wallthick.phantom.generate import PhantomCase, generate_phantom, phantom_truth
from wallthick.phantom.spec import PhantomSpec, random_hf_spec, random_spec

__all__ = [
    "CohortSpec",
    "write_phantom_series",
    "write_cohort",
    "systolic_fraction",
    "phase_specs",
    "followup_spec",
    "hf_subject_spec",
    "coarser_grid",
    "HF_KINDS",
    "TEN_PHASE_GRID_MM",
]

logger = logging.getLogger(__name__)

_UID_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's root, as generate_uid uses


@dataclass(frozen=True)
class CohortSpec:
    """What :func:`write_cohort` writes (JSON: ``sample_data/cohort_*.json``).

    Parameters
    ----------
    seed : int
        Seeds every patient, change and noise.
    n_patients : int
        Patients with a baseline and follow-ups.
    followup_months : sequence of int
        Follow-up visits (subset of 1, 3, 6) written for every patient.
    multiphase_patients : int
        How many extra patients get one multiphase study (phases 0-90 %).
    phases_percent : sequence of int
        Phases of the multiphase studies.
    variant : {"sample", "full"}
        Acquisition grid preset.
    overrides : mapping
        PhantomSpec fields forced on every image (e.g. a coarser grid for tests).
    transfer_syntax : str
        Passed to :func:`wallthick.io.write_dicom_series`.
    population : {"default", "hf"}
        ``"hf"``: patients drawn by :func:`wallthick.phantom.random_hf_spec`
        (heart failure: dilated hearts, leads, weak contrast) on their own grids.
    hf_subjects : sequence of str
        Extra heart-failure subjects, one per entry of :data:`HF_KINDS`:
        ``"dilated"``, ``"lead"`` (RV lead with streaks), ``"weak_contrast"``
        (late contrast, faint RV, hypertrophied septum) as one baseline scan,
        ``"ten_phase"`` as a ten-phase study of a dilated, weakly contracting heart.
    """

    seed: int = 2026
    n_patients: int = 3
    followup_months: tuple[int, ...] = (3, 6)
    multiphase_patients: int = 1
    phases_percent: tuple[int, ...] = tuple(range(0, 100, 10))
    variant: str = "sample"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    transfer_syntax: str = "explicit-little"
    population: str = "default"
    hf_subjects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "hf_subjects", tuple(str(k) for k in self.hf_subjects))
        if self.population not in ("default", "hf") or set(self.hf_subjects) - set(HF_KINDS):
            raise ValueError(
                f"Arguments 'population' must be 'default' or 'hf' and 'hf_subjects' among "
                f"{HF_KINDS}, got {self.population!r}, {self.hf_subjects!r}."
            )
        object.__setattr__(self, "followup_months", tuple(int(m) for m in self.followup_months))
        object.__setattr__(self, "phases_percent", tuple(int(p) for p in self.phases_percent))
        object.__setattr__(self, "overrides", dict(self.overrides))
        bad = [m for m in self.followup_months if m not in (1, 3, 6)]
        if bad:
            raise ValueError(f"Argument 'followup_months' must be among 1, 3, 6, got {bad}.")
        if self.n_patients < 0 or self.multiphase_patients < 0:
            raise ValueError("Arguments 'n_patients' and 'multiphase_patients' must be >= 0.")
        if any(not 0 <= p < 100 for p in self.phases_percent) or not self.phases_percent:
            raise ValueError(
                f"Argument 'phases_percent' must be non-empty values in [0, 100), got {self.phases_percent}."
            )

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> CohortSpec:
        """Read a cohort specification file."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{p}: not a readable cohort JSON file ({exc}).") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{p}: a cohort file must hold a JSON object.")
        data.pop("description", None)
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"{p}: {exc}") from exc


# -- one series ------------------------------------------------------------------
def write_phantom_series(
    case: PhantomCase,
    out_dir: str | os.PathLike[str],
    info: Mapping[str, str | int | float] | None = None,
    *,
    transfer_syntax: str = "explicit-little",
    extra_truth: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``case`` as a CT series (one file per slice) plus ``truth.json``.

    Parameters
    ----------
    case : PhantomCase
        From :func:`generate_phantom`.
    out_dir : path
        Folder for the slices and ``truth.json`` (created; must not hold DICOM files).
    info : mapping, optional
        DICOM attributes (keys of :data:`wallthick.io.INFO_KEYS`); deterministic
        UIDs, a patient ID and dates are derived from the spec seed when missing.
    transfer_syntax : str
        See :func:`wallthick.io.write_dicom_series`.
    extra_truth : mapping, optional
        Added to ``truth.json`` (e.g. visit, true change).

    Returns
    -------
    Path
        ``out_dir``.
    """
    if not isinstance(case, PhantomCase):
        raise TypeError(f"Argument 'case' must be a PhantomCase, got {type(case).__name__}.")
    out = Path(out_dir)
    fields = {**default_info(case.spec), **(info or {})}
    write_dicom_series(case.image, out, info=fields, transfer_syntax=transfer_syntax)
    truth = {**case.truth, "series": {k: fields[k] for k in sorted(fields)}, **(extra_truth or {})}
    truth["geometry"] = {
        "shape": list(case.image.shape),
        "spacing_mm": case.image.spacing_mm.tolist(),
        "origin_mm": case.image.origin_mm.tolist(),
        "direction": case.image.direction.tolist(),
    }
    _write_json(out / "truth.json", truth)
    logger.info("wrote phantom series (%d slices) to %s", case.image.shape[0], out)
    return out


def default_info(spec: PhantomSpec) -> dict[str, str | int | float]:
    """Deterministic DICOM identity of a phantom image."""
    return {
        "patient_id": f"PHANTOM-{spec.seed:05d}",
        "patient_name": f"Phantom^{spec.seed:05d}",
        "study_instance_uid": _uid("study", spec.seed),
        "series_instance_uid": _uid("series", spec.seed, spec.phase_percent),
        "frame_of_reference_uid": _uid("for", spec.seed),
        "study_date": "20250110",
        "study_time": "093000",
        "series_description": f"Phantom CTA {spec.slice_spacing_mm:g}mm {spec.phase_percent:g}%",
        "series_number": 1,
        "phase_percent": spec.phase_percent,
    }


def _uid(*parts: object) -> str:
    return str(generate_uid(prefix=_UID_ROOT, entropy_srcs=["wallthick-phantom", *map(str, parts)]))


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=_json_default) + "\n", encoding="utf-8")


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# -- cardiac phases ------------------------------------------------------------------
def systolic_fraction(phase_percent: float, ed_phase_percent: float) -> float:
    """Contraction (0 = end-diastole, 1 = end-systole) over the R-R interval.

    Ejection until 40 % after end-diastole, rapid filling until 70 %, then slow
    filling (diastasis and atrial kick) back to 0 at the next end-diastole.

    Examples
    --------
    >>> [round(systolic_fraction(p, 0.0), 3) for p in (0, 40, 70, 90)]
    [0.0, 1.0, 0.15, 0.05]
    """
    delta = float(np.mod(phase_percent - ed_phase_percent, 100.0))
    if delta <= 40.0:
        return float(0.5 * (1.0 - np.cos(np.pi * delta / 40.0)))
    if delta <= 70.0:
        return float(0.15 + 0.85 * 0.5 * (1.0 + np.cos(np.pi * (delta - 40.0) / 30.0)))
    return float(0.15 * (100.0 - delta) / 30.0)


def phase_specs(
    spec: PhantomSpec, phases_percent: Sequence[float], ed_phase_percent: float
) -> list[PhantomSpec]:
    """One spec per phase: same anatomy, new noise, contracted except at end-diastole."""
    return [
        spec.replace(
            phase_percent=float(p),
            systolic_fraction=round(systolic_fraction(p, ed_phase_percent), 4),
            seed=spec.seed + 101 * (i + 1),
        )
        for i, p in enumerate(phases_percent)
    ]


# -- follow-ups -------------------------------------------------------------------------
def followup_spec(
    baseline: PhantomSpec, months: int, change_mm: tuple[float, float], rng: np.random.Generator
) -> PhantomSpec:
    """The same patient ``months`` later: wall change (septal, posterior), new noise,
    slightly different positioning and possibly spacing."""
    sept, post = change_mm
    spacing: dict[str, Any] = {}
    if rng.uniform() < 0.3:
        spacing["slice_spacing_mm"] = round(
            baseline.slice_spacing_mm * float(rng.choice([0.8, 1.25])), 3
        )
        spacing["slices"] = int(
            round(baseline.slices * baseline.slice_spacing_mm / spacing["slice_spacing_mm"])
        )
    if rng.uniform() < 0.3:
        spacing["pixel_spacing_mm"] = round(
            baseline.pixel_spacing_mm + float(rng.uniform(-0.05, 0.05)), 3
        )
    return baseline.replace(
        seed=baseline.seed + 7919 * months,
        septal_mm=round(baseline.septal_mm + sept, 3),
        posterior_mm=round(baseline.posterior_mm + post, 3),
        patient_shift_mm=tuple(round(float(v), 2) for v in rng.uniform(-6.0, 6.0, 3)),
        patient_rotation_deg=tuple(round(float(v), 2) for v in rng.uniform(-3.0, 3.0, 3)),
        noise_sd_hu=round(
            float(np.clip(baseline.noise_sd_hu * rng.uniform(0.8, 1.25), 15.0, 45.0)), 2
        ),
        **spacing,
    )


def _final_change(rng: np.random.Generator) -> tuple[float, float]:
    """6-month change of (septal, posterior) thickness: thickening 0-3 mm or thinning <= 1 mm."""
    mode = rng.choice(["septum", "posterior", "both"])
    sept = float(rng.uniform(-1.0, 3.0)) if mode in ("septum", "both") else 0.0
    post = float(rng.uniform(-1.0, 3.0)) if mode in ("posterior", "both") else 0.0
    return round(sept, 2), round(post, 2)


# -- cohorts -----------------------------------------------------------------------------------
def write_cohort(
    spec: CohortSpec | int | str | os.PathLike[str], out_root: str | os.PathLike[str]
) -> dict[str, Any]:
    """Write a cohort of phantom studies (see module docstring for the layout).

    Parameters
    ----------
    spec : CohortSpec, int or path
        The cohort, a seed (default cohort with that seed) or a JSON file.
    out_root : path
        Output folder; ``cohort.json`` describes everything written.

    Returns
    -------
    dict
        The content of ``cohort.json``: one entry per series with its folder
        (relative to ``out_root``), identity, phase and truth summary, and per
        follow-up the true change of septal and posterior thickness.
    """
    cohort = _as_cohort(spec)
    root = Path(out_root)
    entries: list[dict[str, Any]] = []
    for p in range(cohort.n_patients):
        entries += _write_patient(cohort, root, p)
    for m in range(cohort.multiphase_patients):
        entries += _write_multiphase(cohort, root, cohort.n_patients + m)
    first = cohort.n_patients + cohort.multiphase_patients
    for k, kind in enumerate(cohort.hf_subjects):
        entries += _write_hf_subject(cohort, root, first + k, kind)
    described = {
        k: v
        for k, v in cohort.__dict__.items()
        if not (
            k in ("population", "hf_subjects") and v == CohortSpec.__dataclass_fields__[k].default
        )
    }
    manifest = {"cohort": {**described, "overrides": dict(cohort.overrides)}, "series": entries}
    _write_json(root / "cohort.json", manifest)
    return manifest


def _as_cohort(spec: CohortSpec | int | str | os.PathLike[str]) -> CohortSpec:
    if isinstance(spec, CohortSpec):
        return spec
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return CohortSpec(seed=int(spec))
    if isinstance(spec, (str, os.PathLike)):
        return CohortSpec.from_json(spec)
    raise TypeError(
        f"Argument 'spec' must be a CohortSpec, a seed or a JSON path, got {type(spec).__name__}."
    )


def _patient_spec(cohort: CohortSpec, index: int) -> PhantomSpec:
    if cohort.population == "hf":
        return random_hf_spec(cohort.seed * 1000 + index, **cohort.overrides)
    return random_spec(cohort.seed * 1000 + index, cohort.variant, **cohort.overrides)


def _identity(cohort: CohortSpec, index: int) -> dict[str, str]:
    return {
        "patient_id": f"PH{cohort.seed % 10000:04d}-{index + 1:03d}",
        "patient_name": f"Phantom^Subject{index + 1:03d}",
    }


def _write_patient(cohort: CohortSpec, root: Path, index: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng([cohort.seed, index, 3])
    base = _patient_spec(cohort, index)
    final = _final_change(rng)
    baseline_date = dt.date(2025, 1, 6) + dt.timedelta(days=7 * index)
    entries = []
    baseline_truth: dict[str, Any] | None = None
    for months in (0, *cohort.followup_months):
        frac = months / 6.0
        change = (round(final[0] * frac, 3), round(final[1] * frac, 3))
        spec = base if months == 0 else followup_spec(base, months, change, rng)
        date = baseline_date + dt.timedelta(days=round(30.44 * months))
        info: dict[str, str | int | float] = {
            **_identity(cohort, index),
            "study_instance_uid": _uid("study", cohort.seed, index, months),
            "series_instance_uid": _uid("series", cohort.seed, index, months),
            "frame_of_reference_uid": _uid("for", cohort.seed, index, months),
            "study_date": date.strftime("%Y%m%d"),
            "study_time": f"{9 + index % 8:02d}{(13 * months) % 60:02d}00",
            "series_description": f"Phantom CTA {spec.slice_spacing_mm:g}mm",
            "series_number": 1,
        }
        case = generate_phantom(spec)
        if baseline_truth is None:
            baseline_truth = case.truth
        true_change = _change(baseline_truth, case.truth)
        extra = {
            "visit": {"months": months, "index": index},
            "true_change_from_baseline": true_change,
        }
        folder = root / f"subject_{index + 1:02d}" / f"visit_{months:02d}m" / "series_001"
        write_phantom_series(
            case, folder, info, transfer_syntax=cohort.transfer_syntax, extra_truth=extra
        )
        entries.append(_entry(root, folder, info, case.truth, extra))
    return entries


def _change(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    seg_b = {s["segment"]: s["mean_mm"] for s in before["segments"]}
    seg_a = {s["segment"]: s["mean_mm"] for s in after["segments"]}
    return {
        "septal_thickness_mm": round(
            after["septal_thickness_mm"] - before["septal_thickness_mm"], 4
        ),
        "posterior_wall_thickness_mm": round(
            after["posterior_wall_thickness_mm"] - before["posterior_wall_thickness_mm"], 4
        ),
        "segments_mm": {str(k): round(seg_a[k] - seg_b[k], 4) for k in sorted(seg_b)},
    }


def _entry(
    root: Path,
    folder: Path,
    info: Mapping[str, Any],
    truth: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "path": folder.relative_to(root).as_posix(),
        **{
            k: info[k]
            for k in ("patient_id", "study_date", "study_instance_uid", "series_instance_uid")
        },
        "phase_percent": info.get("phase_percent"),
        "septal_thickness_mm": truth["septal_thickness_mm"],
        "posterior_wall_thickness_mm": truth["posterior_wall_thickness_mm"],
        "lv_cavity_volume_ml": truth["lv_cavity_volume_ml"],
        "lv_mass_g": truth["lv_mass_g"],
        **extra,
    }


def _write_multiphase(
    cohort: CohortSpec,
    root: Path,
    index: int,
    base: PhantomSpec | None = None,
    extra_truth: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    rng = np.random.default_rng([cohort.seed, index, 5])
    base = _patient_spec(cohort, index) if base is None else base
    ends = (0, 5, 90, 95) if cohort.population == "hf" or extra_truth else (0, 90)
    ed = float(
        rng.choice([p for p in cohort.phases_percent if p in ends] or [cohort.phases_percent[0]])
    )
    rr_ms = 60000.0 / float(rng.uniform(55.0, 75.0))
    study = root / f"subject_{index + 1:02d}" / "multiphase"
    date = (dt.date(2025, 2, 3) + dt.timedelta(days=7 * index)).strftime("%Y%m%d")
    entries, phases = [], []
    for number, spec in enumerate(phase_specs(base, cohort.phases_percent, ed), start=1):
        pct = int(round(spec.phase_percent))
        info: dict[str, str | int | float] = {
            **_identity(cohort, index),
            "study_instance_uid": _uid("mp-study", cohort.seed, index),
            "series_instance_uid": _uid("mp-series", cohort.seed, index, pct),
            "frame_of_reference_uid": _uid("mp-for", cohort.seed, index),
            "study_date": date,
            "study_time": "101500",
            "series_description": f"Phantom CTA {spec.slice_spacing_mm:g}mm {pct}%",
            "series_number": 100 + number,
            "phase_percent": pct,
            "trigger_time_ms": round(rr_ms * pct / 100.0, 1),
        }
        case = generate_phantom(spec)
        extra = {"end_diastole": pct == ed, "ed_phase_percent": ed, **(extra_truth or {})}
        folder = study / f"series_{pct:03d}"
        write_phantom_series(
            case, folder, info, transfer_syntax=cohort.transfer_syntax, extra_truth=extra
        )
        entries.append(_entry(root, folder, info, case.truth, extra))
        phases.append(
            {
                k: entries[-1][k]
                for k in ("phase_percent", "series_instance_uid", "lv_cavity_volume_ml")
            }
        )
    ed_truth = phantom_truth(base.replace(phase_percent=ed, systolic_fraction=0.0))
    _write_json(study / "truth.json", {**ed_truth, "ed_phase_percent": ed, "phases": phases})
    return entries


# -- heart-failure subjects ---------------------------------------------------------------
#: Kinds of :attr:`CohortSpec.hf_subjects` and what a drawn spec must show.
HF_KINDS = ("dilated", "lead", "weak_contrast", "ten_phase")
#: Least pixel and slice spacing (mm) of ten-phase studies (function reconstructions).
TEN_PHASE_GRID_MM = (1.0, 2.0)


def _dilated(spec: PhantomSpec) -> bool:
    ef = spec.ejection_fraction
    r, c = spec.endo_radius_mm, spec.cavity_length_mm
    cavity_ml = 2.0 / 3.0 * np.pi * r * r * spec.endo_ellipticity * c / 1000.0  # as the truth
    return ef is not None and ef <= 0.35 and cavity_ml >= 120.0


def _is_kind(spec: PhantomSpec, kind: str) -> bool:
    weak_rv = spec.hu_rv_blood - spec.hu_myocardium <= 80.0
    if kind == "lead":
        return "rv" in spec.leads and spec.streaks == "ordinary"
    if spec.leads:
        return False
    if kind == "weak_contrast":
        return spec.hu_lv_blood <= 280.0 and weak_rv and spec.septal_mm >= 14.0
    return not weak_rv and spec.hu_lv_blood > 280.0 and _dilated(spec)


def hf_subject_spec(seed: int, kind: str, *, ten_phase_grid: bool = False) -> PhantomSpec:
    """The first :func:`random_hf_spec` from ``seed`` on that shows ``kind``.

    Drawn, not forced, so the subject is a member of the population. With
    ``ten_phase_grid`` the grid is coarsened to :data:`TEN_PHASE_GRID_MM`
    (multiphase reconstructions), keeping the field of view.
    """
    if kind not in HF_KINDS:
        raise ValueError(f"Argument 'kind' must be one of {HF_KINDS}, got {kind!r}.")
    test = "dilated" if kind == "ten_phase" else kind
    spec = next(s for s in map(random_hf_spec, range(seed, seed + 2000)) if _is_kind(s, test))
    if ten_phase_grid:
        spec = coarser_grid(spec, *TEN_PHASE_GRID_MM)
    return spec


def coarser_grid(spec: PhantomSpec, pixel_mm: float, slice_mm: float) -> PhantomSpec:
    """``spec`` with pixels and slices at least this large and the same field of view."""
    pixel = max(spec.pixel_spacing_mm, pixel_mm)
    thick = max(spec.slice_spacing_mm, slice_mm)
    return spec.replace(
        pixel_spacing_mm=pixel,
        rows=int(np.ceil(spec.rows * spec.pixel_spacing_mm / pixel)),
        slice_spacing_mm=thick,
        slices=int(np.ceil(spec.slices * spec.slice_spacing_mm / thick)),
    )


def _write_hf_subject(
    cohort: CohortSpec, root: Path, index: int, kind: str
) -> list[dict[str, Any]]:
    seed = cohort.seed * 1000 + 500 + 37 * index
    extra = {"population": "hf", "kind": kind}
    if kind == "ten_phase":
        spec = hf_subject_spec(seed, kind, ten_phase_grid=True).replace(**cohort.overrides)
        return _write_multiphase(cohort, root, index, spec, extra)
    spec = hf_subject_spec(seed, kind).replace(**cohort.overrides)
    if cohort.variant == "sample":  # the demo's budget: >= 0.75 mm pixels and 1 mm slices
        spec = coarser_grid(spec, 0.75, 1.0).replace(**cohort.overrides)
    info: dict[str, str | int | float] = {
        **_identity(cohort, index),
        "study_instance_uid": _uid("hf-study", cohort.seed, index),
        "series_instance_uid": _uid("hf-series", cohort.seed, index),
        "frame_of_reference_uid": _uid("hf-for", cohort.seed, index),
        "study_date": (dt.date(2025, 3, 3) + dt.timedelta(days=7 * index)).strftime("%Y%m%d"),
        "study_time": "111500",
        "series_description": f"Phantom CTA {spec.slice_spacing_mm:g}mm",
        "series_number": 1,
    }
    case = generate_phantom(spec)
    extra_truth = {"visit": {"months": 0, "index": index}, **extra}
    folder = root / f"subject_{index + 1:02d}" / "visit_00m" / "series_001"
    write_phantom_series(
        case, folder, info, transfer_syntax=cohort.transfer_syntax, extra_truth=extra_truth
    )
    return [_entry(root, folder, info, case.truth, extra_truth)]
