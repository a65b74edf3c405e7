"""``PhantomSpec``: every anatomy and acquisition parameter of one phantom image.

A spec is a frozen dataclass of plain numbers, strings and booleans, so it
round-trips through JSON (:meth:`PhantomSpec.to_dict` / :meth:`PhantomSpec.from_dict`).
:func:`random_spec` samples realistic variation from a seed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = [
    "PhantomSpec",
    "random_spec",
    "random_hf_spec",
    "VARIANTS",
    "HF_FIELDS",
    "HF_SLICE_SPACINGS",
    "HF_MAX_VOXELS",
    "LEAD_KINDS",
    "STREAK_KINDS",
]

#: Acquisition presets: (in-plane spacing mm, slice spacing mm, rows=cols, slices).
VARIANTS: dict[str, tuple[float, float, int, int]] = {
    "sample": (0.75, 1.0, 192, 120),
    "full": (0.4, 0.5, 512, 300),
}

#: Transvenous leads: right-ventricular (SVC -> RA -> tricuspid valve -> along the
#: septum -> RV apex), right-atrial (appendage) and coronary-sinus (lateral AV groove).
LEAD_KINDS = ("rv", "ra", "cs")
#: Metal streak strength: none, an ordinary lead, or an RV shock coil.
STREAK_KINDS = ("none", "ordinary", "shock")
#: Fields of the heart-failure population. :meth:`PhantomSpec.to_dict` leaves
#: them out at their defaults, so specs and truth files written before they
#: existed are unchanged byte for byte.
HF_FIELDS = (
    "ejection_fraction",
    "thin_patch_mm",
    "thin_patch_phi_deg",
    "thin_patch_h",
    "leads",
    "lead_diameter_mm",
    "lead_hu",
    "lead_septum_gap_mm",
    "lead_phi_deg",
    "streaks",
    "streak_hu",
)


@dataclass(frozen=True)
class PhantomSpec:
    """Anatomy and acquisition of one synthetic ECG-gated cardiac CT.

    Lengths are in mm, angles in degrees, intensities in HU. The LV is a
    half prolate spheroid (endocardium, semi-axes ``endo_radius_mm`` x
    ``endo_radius_mm * endo_ellipticity`` x ``cavity_length_mm``) cut at the
    mitral plane; the myocardium is the endocardium offset along its normal by
    the prescribed thickness ``t(angle, level)`` (see ``docs/phantom.md``).

    Wall thickness: ``septal_mm`` is constant over AHA segments 2, 3, 8, 9;
    ``posterior_mm`` over 5 and 11; ``inferior_mm``, ``lateral_mm``,
    ``anterior_mm`` are reached at the middle of those walls; ``apex_mm`` on the
    apical cap. Transitions lie in the neighbouring segments.

    Heart-failure fields (all off by default): ``ejection_fraction`` sets the
    contraction of the cardiac cycle; ``thin_patch_mm`` thins the wall in one
    anterolateral patch; ``leads`` adds transvenous leads (metal, partial
    volume) and ``streaks`` their metal streak artefacts.
    """

    seed: int = 0
    # -- acquisition -----------------------------------------------------
    pixel_spacing_mm: float = 0.75
    slice_spacing_mm: float = 1.0
    rows: int = 192
    slices: int = 120
    psf_fwhm_mm: float = 0.9
    noise_sd_hu: float = 25.0
    noise_correlation_mm: float = 0.6  # 0 = white noise
    fov_offset_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)  # FOV centre vs LV centre
    table_z_mm: float = -160.0  # scanner z of the anatomical origin
    # -- patient positioning (follow-ups differ slightly) ----------------
    patient_shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    patient_rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)  # about x, y, z
    # -- LV geometry -----------------------------------------------------
    long_axis_azimuth_deg: float = (
        45.0  # apex direction in the axial plane, from +x (left) to anterior
    )
    long_axis_elevation_deg: float = 25.0  # apex below the axial plane
    roll_deg: float = 0.0  # rotation of the septum about the long axis
    base_center_mm: tuple[float, float, float] = (8.0, -5.0, 10.0)  # anatomical coords
    endo_radius_mm: float = 25.0
    endo_ellipticity: float = 0.95  # short-axis radius ratio inferior/septal
    cavity_length_mm: float = 78.0
    # -- wall thickness (end-diastole, perpendicular) --------------------
    septal_mm: float = 10.0
    posterior_mm: float = 9.0
    inferior_mm: float = 9.0
    lateral_mm: float = 8.5
    anterior_mm: float = 9.0
    apex_mm: float = 6.5
    # -- other anatomy ---------------------------------------------------
    rv_depth_mm: float = 18.0
    rv_wall_mm: float = 3.5
    epi_fat_min_mm: float = 0.3
    epi_fat_max_mm: float = 4.0
    inferior_gap_mm: float = 0.5  # fat between inferior wall and diaphragm
    papillary_radius_mm: float = 5.0
    n_trabeculae: int = 40
    # -- intensities -----------------------------------------------------
    hu_lv_blood: float = 420.0
    hu_rv_blood: float = 300.0
    hu_myocardium: float = 115.0
    hu_fat: float = -95.0
    hu_lung: float = -850.0
    hu_liver: float = 95.0
    hu_muscle: float = 55.0
    hu_bone_cortical: float = 800.0
    hu_bone_marrow: float = 250.0
    # -- difficulties (all on by default) --------------------------------
    papillary_muscles: bool = True
    trabeculation: bool = True
    contrast_mixing: bool = True  # smooth HU variation in the blood pools
    right_ventricle: bool = True
    atrium_and_aorta: bool = True
    epicardial_fat: bool = True
    lungs: bool = True
    liver: bool = True
    thorax: bool = True  # body outline, ribs, spine, descending aorta
    # -- cardiac phase ---------------------------------------------------
    phase_percent: float = 0.0
    systolic_fraction: float = 0.0  # 0 = end-diastole, 1 = end-systole
    # -- heart-failure population (defaults: none of it; see HF_FIELDS) ---
    ejection_fraction: float | None = None  # None: the default contraction (EF ~57 %)
    thin_patch_mm: float = 0.0  # > 0: the wall thins to this value in one patch
    thin_patch_phi_deg: float = 235.0  # patch centre (anterolateral), away from 2/3/5/8/9/11
    thin_patch_h: float = 0.45  # patch centre level
    leads: tuple[str, ...] = ()  # transvenous leads, among LEAD_KINDS
    lead_diameter_mm: float = 1.8
    lead_hu: float = 3000.0
    lead_septum_gap_mm: float = 1.0  # RV lead: gap between the septum and the lead's surface
    lead_phi_deg: float = 10.0  # RV lead: short-axis angle along the septum
    streaks: str = "none"  # metal streaks from the leads, among STREAK_KINDS
    streak_hu: float = 400.0  # streak amplitude next to an ordinary lead

    def __post_init__(self) -> None:
        for name in ("fov_offset_mm", "patient_shift_mm", "patient_rotation_deg", "base_center_mm"):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 3:
                raise ValueError(f"Argument '{name}' must have 3 elements, got {value}.")
            object.__setattr__(self, name, value)
        positive = (
            "pixel_spacing_mm",
            "slice_spacing_mm",
            "psf_fwhm_mm",
            "endo_radius_mm",
            "endo_ellipticity",
            "cavity_length_mm",
            "septal_mm",
            "posterior_mm",
            "inferior_mm",
            "lateral_mm",
            "anterior_mm",
            "apex_mm",
        )
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"Argument '{name}' must be a finite number > 0, got {value!r}.")
        if self.rows < 16 or self.slices < 8:
            raise ValueError(
                f"Arguments 'rows' and 'slices' must be >= 16 and >= 8, got {self.rows}, {self.slices}."
            )
        if self.noise_sd_hu < 0 or self.noise_correlation_mm < 0:
            raise ValueError("Arguments 'noise_sd_hu' and 'noise_correlation_mm' must be >= 0.")
        self._check_hf()
        if not 0.0 <= self.systolic_fraction <= 1.0:
            raise ValueError(
                f"Argument 'systolic_fraction' must be in [0, 1], got {self.systolic_fraction}."
            )

    def _check_hf(self) -> None:
        object.__setattr__(self, "leads", tuple(str(k) for k in self.leads))
        bad = [k for k in self.leads if k not in LEAD_KINDS] + (
            [] if self.streaks in STREAK_KINDS else [self.streaks]
        )
        if bad or len(set(self.leads)) != len(self.leads):
            raise ValueError(
                f"Arguments 'leads' and 'streaks' must be distinct values among {LEAD_KINDS} "
                f"and one of {STREAK_KINDS}, got {self.leads!r}, {self.streaks!r}."
            )
        if self.streaks == "shock" and "rv" not in self.leads:
            raise ValueError("Argument 'streaks' = 'shock' needs an RV lead (the coil is on it).")
        ef = self.ejection_fraction
        if ef is not None and not 0.05 <= ef <= 0.7:
            raise ValueError(f"Argument 'ejection_fraction' must be in [0.05, 0.7], got {ef}.")
        if self.thin_patch_mm < 0 or not 1.0 <= self.lead_diameter_mm <= 4.0:
            raise ValueError(
                "Arguments 'thin_patch_mm' must be >= 0 and 'lead_diameter_mm' in [1, 4], "
                f"got {self.thin_patch_mm}, {self.lead_diameter_mm}."
            )

    # -- serialisation ---------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (tuples become lists; heart-failure fields at
        their defaults are left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in HF_FIELDS and value == f.default:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhantomSpec:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown PhantomSpec fields {unknown}.")
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)

    def replace(self, **changes: Any) -> PhantomSpec:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def with_variant(self, variant: str) -> PhantomSpec:
        """A copy with the acquisition grid of ``"sample"`` or ``"full"``."""
        if variant not in VARIANTS:
            raise ValueError(
                f"Argument 'variant' must be one of {sorted(VARIANTS)}, got {variant!r}."
            )
        pixel, slice_mm, rows, slices = VARIANTS[variant]
        return self.replace(
            pixel_spacing_mm=pixel, slice_spacing_mm=slice_mm, rows=rows, slices=slices
        )


def random_spec(seed: int, variant: str = "sample", **overrides: Any) -> PhantomSpec:
    """Sample a realistic phantom specification from ``seed``.

    Parameters
    ----------
    seed : int
        Seeds every random choice (anatomy, intensities, noise).
    variant : {"sample", "full"}
        Acquisition grid preset (see :data:`VARIANTS`).
    **overrides
        Fields to set explicitly after sampling.

    Examples
    --------
    >>> spec = random_spec(3, septal_mm=12.0)
    >>> spec.septal_mm, spec.seed
    (12.0, 3)
    >>> PhantomSpec.from_dict(spec.to_dict()) == spec
    True
    """
    rng = np.random.default_rng(seed)

    def u(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 2)

    septal = u(8.0, 13.0)
    weak_rv = rng.uniform() < 0.3
    hu_myo = u(90.0, 140.0)
    values: dict[str, Any] = dict(
        seed=int(seed),
        psf_fwhm_mm=u(0.6, 1.2),
        noise_sd_hu=u(15.0, 45.0),
        noise_correlation_mm=u(0.0, 1.0),
        fov_offset_mm=(u(-8, 8), u(-8, 8), u(-6, 6)),
        long_axis_azimuth_deg=u(30.0, 60.0),
        long_axis_elevation_deg=u(15.0, 40.0),
        roll_deg=u(-12.0, 12.0),
        endo_radius_mm=u(22.0, 28.0),
        endo_ellipticity=u(0.9, 1.0),
        cavity_length_mm=u(70.0, 88.0),
        septal_mm=septal,
        posterior_mm=u(7.5, min(septal, 11.5)),
        inferior_mm=u(7.5, 11.0),
        lateral_mm=u(7.0, 10.5),
        anterior_mm=u(7.0, 11.0),
        apex_mm=u(4.5, 7.5),
        rv_depth_mm=u(14.0, 24.0),
        rv_wall_mm=u(2.5, 4.5),
        epi_fat_min_mm=u(0.0, 1.0),
        epi_fat_max_mm=u(1.5, 4.0),
        inferior_gap_mm=u(0.0, 1.5),
        papillary_radius_mm=u(4.0, 6.0),
        n_trabeculae=int(rng.integers(25, 60)),
        hu_lv_blood=u(300.0, 550.0),
        hu_myocardium=hu_myo,
        hu_fat=u(-120.0, -60.0),
        hu_liver=u(60.0, 110.0),
        hu_bone_cortical=u(600.0, 1000.0),
        hu_bone_marrow=u(180.0, 400.0),
    )
    lv_blood = values["hu_lv_blood"]
    values["hu_rv_blood"] = (
        round(hu_myo + float(rng.uniform(50.0, 100.0)), 2)
        if weak_rv
        else u(0.55 * lv_blood, 0.95 * lv_blood)
    )
    values["hu_rv_blood"] = max(values["hu_rv_blood"], hu_myo + 50.0)
    spec = PhantomSpec(**values).with_variant(variant)
    return spec.replace(**overrides) if overrides else spec


#: Slice spacings of the heart-failure population (mm) and their weights:
#: thin reconstructions to the 2-2.5 mm slices of older follow-up protocols.
HF_SLICE_SPACINGS = ((0.5, 0.12), (0.625, 0.1), (0.75, 0.12), (1.0, 0.16),
                     (1.25, 0.1), (1.5, 0.1), (2.0, 0.15), (2.5, 0.15))  # fmt: skip


#: Largest grid of :func:`random_hf_spec` (voxels); thin-slice grids get coarser pixels.
HF_MAX_VOXELS = 8.0e6


def random_hf_spec(seed: int, **overrides: Any) -> PhantomSpec:
    """Sample a phantom of the chronic heart-failure population from ``seed``.

    On top of :func:`random_spec` (same seed), independently:

    - 50 %: dilated cardiomyopathy: cavity 120-350 ml at end-diastole, a more
      spherical LV (length / radius 1.7-2.5 instead of ~3), walls 5-9 mm, the
      apex 3.5-5 mm, in half of them an anterolateral patch thinned to
      3.5-4 mm, ejection fraction 20-35 %; otherwise 30-50 % (and in a quarter
      of the non-dilated, a hypertrophied 14-20 mm septum);
    - 50 %: an RV lead, with an RA lead (50 %) and a coronary-sinus lead
      (35 %), 1.6-2.2 mm, streaks ordinary (60 %), shock coil (30 %) or none;
    - contrast: late/weak (LV blood 180-280 HU, RV 40-80 HU above myocardium,
      40 %), a faint RV only (15 %) or as :func:`random_spec`;
    - slices 0.5-2.5 mm (:data:`HF_SLICE_SPACINGS`), pixels 0.6-0.9 mm, and a
      field of view large enough for the heart (pixels coarser, up to ~1.3 mm,
      where the grid would exceed :data:`HF_MAX_VOXELS`).

    Examples
    --------
    >>> spec = random_hf_spec(5000)
    >>> PhantomSpec.from_dict(spec.to_dict()) == spec
    True
    """
    rng = np.random.default_rng([seed, 2026])
    base = random_spec(seed)

    def u(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 2)

    values: dict[str, Any] = {}
    if rng.uniform() < 0.5:
        values.update(_dilated(rng, u))
    else:
        values["ejection_fraction"] = u(0.3, 0.5)
        if rng.uniform() < 0.25:
            values["septal_mm"] = u(14.0, 20.0)
    if rng.uniform() < 0.5:
        leads = ["rv"] + [k for k, p in (("ra", 0.5), ("cs", 0.35)) if rng.uniform() < p]
        values.update(
            leads=tuple(leads),
            lead_diameter_mm=u(1.6, 2.2),
            lead_septum_gap_mm=u(0.3, 2.0),
            lead_phi_deg=u(-20.0, 30.0),
            streaks=str(rng.choice(["ordinary", "shock", "none"], p=[0.6, 0.3, 0.1])),
            streak_hu=u(250.0, 500.0),
        )
    mode = rng.choice(["weak", "faint_rv", "normal"], p=[0.4, 0.15, 0.45])
    myo = base.hu_myocardium
    if mode == "weak":
        values["hu_lv_blood"] = u(180.0, 280.0)
    if mode != "normal":
        values["hu_rv_blood"] = round(myo + float(rng.uniform(40.0, 80.0)), 2)
    slice_mm = float(
        rng.choice([s for s, _ in HF_SLICE_SPACINGS], p=[w for _, w in HF_SLICE_SPACINGS])
    )
    spec = base.replace(**values)
    spec = spec.replace(**_hf_grid(spec, slice_mm, u(0.6, 0.9)))
    return spec.replace(**overrides) if overrides else spec


def _dilated(rng: np.random.Generator, u: Any) -> dict[str, Any]:
    """Anatomy of a dilated LV: volume, sphericity, thin walls, weak contraction."""
    volume_mm3 = 1000.0 * float(rng.uniform(120.0, 350.0))
    ratio, ellipticity = float(rng.uniform(1.7, 2.5)), u(0.9, 1.0)
    radius = (3.0 * volume_mm3 / (2.0 * math.pi * ellipticity * ratio)) ** (1.0 / 3.0)
    out: dict[str, Any] = dict(
        endo_radius_mm=round(radius, 2),
        endo_ellipticity=ellipticity,
        cavity_length_mm=round(ratio * radius, 2),
        **{f"{wall}_mm": u(5.0, 9.0) for wall in ("septal", "posterior", "inferior", "lateral")},
        anterior_mm=u(5.0, 9.0),
        apex_mm=u(3.5, 5.0),
        ejection_fraction=u(0.2, 0.35),
        papillary_radius_mm=u(4.0, 6.5),
    )
    if rng.uniform() < 0.5:
        out.update(
            thin_patch_mm=u(3.5, 4.0), thin_patch_phi_deg=u(225.0, 255.0), thin_patch_h=u(0.35, 0.6)
        )
    return out


def _hf_grid(spec: PhantomSpec, slice_mm: float, pixel_mm: float) -> dict[str, Any]:
    """A grid covering the LV, the RV and some surroundings at the given spacing."""
    r, c = spec.endo_radius_mm, spec.cavity_length_mm
    el = math.radians(spec.long_axis_elevation_deg)
    fov = 2.0 * (r + 58.0)
    z_range = max(120.0, (c + 12.0) * math.sin(el) + 2.0 * (r + 14.0) * math.cos(el) + 24.0)
    pixel = max(pixel_mm, math.sqrt(fov * fov * z_range / slice_mm / HF_MAX_VOXELS))
    return dict(
        slice_spacing_mm=slice_mm,
        slices=int(math.ceil(z_range / slice_mm)),
        pixel_spacing_mm=round(pixel, 3),
        rows=int(math.ceil(fov / pixel)),
    )
