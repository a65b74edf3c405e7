"""The ``classical`` segmenter: orchestration of localisation, tracking and drawing."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np

from wallthick.errors import SegmentationError
from wallthick.labels import Label
from wallthick.segment.classical._common import (
    ClassicalOptions,
    FloatArray,
    TissueLevels,
    fibonacci_directions,
)
from wallthick.segment.classical._localise import Candidate, candidate_at, find_left_ventricle
from wallthick.segment.classical._metal import METAL_KEY, suppress_metal
from wallthick.segment.classical._raster import model_box, rasterize_lv
from wallthick.segment.classical._rv import (
    detection_level,
    estimate_rv,
    rasterize_rv,
    rv_blood_level,
)
from wallthick.segment.classical._shortaxis import (
    LVModel,
    make_frame,
    probe_axis,
    track_ventricle,
)
from wallthick.volume import ImageVolume, LabelVolume

__all__ = ["ClassicalSegmenter"]

logger = logging.getLogger(__name__)

_REFINE_PASSES = 2
_AXIS_PROBES = 16
_MAX_PROBED_CANDIDATES = 4
_AXIS_PROBE_STEP_MM = 4.0


class ClassicalSegmenter:
    """LV cavity, LV myocardium and RV blood pool of contrast CT, on the CPU.

    Parameters
    ----------
    options : ClassicalOptions, optional
        Tuning; keyword arguments override single fields.

    Examples
    --------
    >>> ClassicalSegmenter(n_angles=90).options.n_angles
    90
    """

    name = "classical"

    def __init__(self, options: ClassicalOptions | None = None, **overrides: Any) -> None:
        base = options if options is not None else ClassicalOptions()
        if not isinstance(base, ClassicalOptions):
            raise TypeError(
                f"Argument 'options' must be ClassicalOptions, got {type(base).__name__}."
            )
        self.options = replace(base, **overrides) if overrides else base

    def segment(self, image: ImageVolume) -> LabelVolume:
        """Segment ``image``; labels come back on its grid (uint8)."""
        if not isinstance(image, ImageVolume):
            raise TypeError(f"Argument 'image' must be an ImageVolume, got {type(image).__name__}.")
        t0 = time.perf_counter()
        where = str(image.metadata.get("source_path", "the image"))
        if METAL_KEY not in image.metadata:  # else done by the caller (measure)
            image, _ = suppress_metal(image)
        try:
            if self.options.lv_seed_mm is not None:
                seeded = candidate_at(image, self.options.lv_seed_mm, self.options)
                good, scored = [seeded], [seeded]
            else:
                good, scored = find_left_ventricle(image, self.options)
            best, model = self._fit_first(image, _choose_candidates(image, good, self.options))
        except SegmentationError as exc:
            raise SegmentationError(f"{where}: {exc}") from exc
        out = np.zeros(image.shape, np.uint8)
        rv = estimate_rv(image, model, best.levels, model.rv_blood_hu)
        rasterize_rv(rv, model, image.geometry, out)
        rasterize_lv(model, image.geometry, out)
        meta = _metadata(image, best, scored, model, rv, out, time.perf_counter() - t0)
        if self.options.lv_seed_mm is not None:
            meta["lv_seed_mm"] = list(self.options.lv_seed_mm)
        return LabelVolume.from_geometry(out, image.geometry, meta)

    def _fit_first(
        self, image: ImageVolume, choices: list[tuple[Candidate, FloatArray]]
    ) -> tuple[Candidate, LVModel]:
        """The model of the first candidate (in probe order) that can be tracked."""
        errors: list[str] = []
        for cand, axis in choices:
            try:
                return cand, self._fit(image, cand, axis)
            except SegmentationError as exc:
                logger.debug("candidate at %s rejected: %s", np.round(cand.center_mm, 1), exc)
                errors.append(str(exc))
        raise SegmentationError(errors[0] if errors else "no LV candidate to track.")

    def _fit(self, image: ImageVolume, best: Candidate, axis: FloatArray) -> LVModel:
        """Track the LV; refit the axis; find the RV HU; final pass with half-way
        RV/septum edges."""
        opts, levels = self.options, best.levels
        t_detect = detection_level(levels)
        frame = make_frame(best.center_mm, axis)
        model = track_ventricle(image, frame, levels, best.radius_mm, opts, t_detect)
        if model is None or model.n_cavity_levels < 10:
            raise SegmentationError("the LV cavity could not be tracked along its long axis.")
        for final in [False] * (_REFINE_PASSES - 1) + [True]:
            origin, axis, seed = _refit_axis(model)
            rv_hu = rv_blood_level(image, model, levels) if final else None
            t_rv = levels.blood_myo_mid if rv_hu is None else 0.5 * (levels.myocardium_hu + rv_hu)
            frame = make_frame(origin, axis)
            sigma, sustain = _ray_smoothing(levels, rv_hu)
            new = track_ventricle(
                image, frame, levels, seed, opts, t_rv if final else t_detect, sigma, sustain
            )
            if new is None or new.n_cavity_levels < 10:
                break
            model = new
            model.rv_blood_hu = rv_hu
        return model


def _ray_smoothing(levels: TissueLevels, rv_hu: float | None) -> tuple[float, float]:
    """Smoothing along rays and sustain length for the septum/RV edge: larger
    when the RV-myocardium contrast is low against the noise, so that noise
    does not end the septum early (a symmetric blur does not move the half-way
    crossing of an edge)."""
    if rv_hu is None:
        return 0.5, 2.0
    cnr = (rv_hu - levels.myocardium_hu) / max(levels.noise_hu, 1.0)
    if cnr < 2.5:
        return 1.5, 3.0
    if cnr < 5.0:
        return 1.0, 2.5
    return 0.5, 2.0


def _initial_axis(
    image: ImageVolume, best: Candidate, opts: ClassicalOptions
) -> tuple[FloatArray, int]:
    """The direction along which most short-axis sections through the candidate
    are wrapped in myocardium all around (coarse probes of the principal axes of
    the cavity's endocardial hits and of directions spread over a hemisphere),
    pointing from the apex (where the cavity ends small) to the base."""
    pts = best.endo_points_mm
    _, vecs = np.linalg.eigh(np.cov((pts - pts.mean(axis=0)).T))
    dirs = fibonacci_directions(2 * _AXIS_PROBES)
    dirs = dirs[dirs[:, 2] > 0]
    results = []
    for k, d in enumerate([*vecs.T, *dirs]):
        frame = make_frame(best.center_mm, d)
        count, end_plus, end_minus = probe_axis(
            image, frame, best.levels, best.radius_mm, opts, _AXIS_PROBE_STEP_MM
        )
        results.append((count, -k, d if end_plus >= end_minus else -d))
    count, _, axis = max(results, key=lambda r: (r[0], r[1]))
    logger.debug("long-axis probe: %s with %d wrapped levels", np.round(axis, 3).tolist(), count)
    return axis, count


def _choose_candidates(
    image: ImageVolume, good: list[Candidate], opts: ClassicalOptions
) -> list[tuple[Candidate, FloatArray]]:
    """The best-wrapped distinct candidates, ordered by the number of short-axis
    sections wrapped all around along their best axis (the LV first: a strongly
    enhanced RV next to it can be as well wrapped in 3-D rays, but not section
    after section along one axis). ``good`` holds one candidate per cavity.
    """
    probed: list[tuple[int, int, Candidate, FloatArray]] = []
    for c in good[:_MAX_PROBED_CANDIDATES]:
        axis, count = _initial_axis(image, c, opts)
        probed.append((count, -len(probed), c, axis))
    probed.sort(key=lambda p: (p[0], p[1]), reverse=True)
    return [(c, axis) for _, _, c, axis in probed]


def _refit_axis(model: LVModel) -> tuple[FloatArray, FloatArray, float]:
    """Line through the cavity centres (area-weighted): new origin, axis, seed radius."""
    n = model.n_cavity_levels
    first = model.levels_mm.size - n
    # the middle of the cavity: least sensitive to where the apex and base are cut
    cav = slice(first + int(0.15 * n), first + int(0.8 * n))
    h = model.levels_mm[cav]
    c = model.centers_uv[cav]
    pts = model.frame.to_world(h, c[:, 0], c[:, 1])
    w = np.mean(model.r_endo[cav], axis=1) ** 2
    mean = (pts * w[:, None]).sum(axis=0) / w.sum()
    _, _, vt = np.linalg.svd((pts - mean) * np.sqrt(w)[:, None], full_matrices=False)
    axis = vt[0] if vt[0] @ model.frame.axis > 0 else -vt[0]
    proj = (pts - mean) @ axis
    mid = 0.5 * (proj.min() + proj.max())
    origin = mean + mid * axis
    k = int(np.argmin(np.abs(proj - mid)))
    seed = float(0.8 * np.median(model.r_endo[cav][k]))
    return origin, axis, max(seed, 5.0)


def _metadata(
    image: ImageVolume,
    best: Candidate,
    scored: list[Candidate],
    model: LVModel,
    rv: Any,
    out: np.ndarray,
    seconds: float,
) -> dict[str, Any]:
    lv_levels = best.levels
    lo, hi = model_box(model, image.geometry)
    vox_ml = image.geometry.voxel_volume_mm3 / 1000.0
    warnings: list[str] = list(model.notes) + list(rv.warnings)
    return {
        "segmenter": "classical",
        "seconds": round(seconds, 3),
        "crop_box_index": [lo.tolist(), hi.tolist()],
        "lv_center_mm": np.round(best.center_mm, 2).tolist(),
        "long_axis": np.round(model.frame.axis, 4).tolist(),
        "blood_hu": round(lv_levels.blood_hu, 1),
        "myocardium_hu": round(lv_levels.myocardium_hu, 1),
        "fat_hu": round(lv_levels.fat_hu, 1),
        "noise_hu": round(lv_levels.noise_hu, 1),
        "rv_blood_hu": None if rv.blood_hu is None else round(rv.blood_hu, 1),
        "rv_contrast_hu": None if rv.contrast_hu is None else round(rv.contrast_hu, 1),
        "lv_wrap_fraction": round(best.wrap_fraction, 3),
        "n_candidates": len(scored),
        "n_levels": int(model.levels_mm.size),
        "n_cavity_levels": int(model.n_cavity_levels),
        "repaired_wall_fraction": round(model.repaired_fraction, 3),
        "lv_cavity_ml": round(float((out == Label.LV_BLOOD_POOL).sum() * vox_ml), 2),
        "lv_myocardium_ml": round(float((out == Label.LV_MYOCARDIUM).sum() * vox_ml), 2),
        "rv_blood_ml": round(float((out == Label.RV_BLOOD_POOL).sum() * vox_ml), 2),
        "metal": dict(image.metadata.get(METAL_KEY) or {}),
        "warnings": warnings,
    }
