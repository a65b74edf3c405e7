"""``generate_phantom``: a synthetic cardiac CT with its labels and exact truth."""

from __future__ import annotations

import copy
import functools
import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from wallthick.phantom.leads import build_leads, paint_leads
from wallthick.phantom.lv import LVModel
from wallthick.phantom.render import add_noise, render
from wallthick.phantom.scene import Scene, build_scene, lv_model_from_spec
from wallthick.phantom.spec import PhantomSpec, random_spec
from wallthick.phantom.truth import compute_truth
from wallthick.volume import Geometry, ImageVolume, LabelVolume

__all__ = [
    "PhantomCase",
    "generate_phantom",
    "phantom_truth",
    "render_labels",
    "acquisition_geometry",
    "sample_case",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Axial acquisition: slices along +z (feet to head), rows along +y, columns along +x.
AXIAL_DIRECTION = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


@dataclass(frozen=True, eq=False)
class PhantomCase:
    """One generated phantom image.

    Attributes
    ----------
    spec : PhantomSpec
        What was generated.
    image : ImageVolume
        CT values in HU (float32) with blur, partial volume and noise.
    labels : LabelVolume
        Noiseless labels at voxel centres (papillary muscles and trabeculae are
        ``LV_BLOOD_POOL``).
    truth : dict
        JSON-ready ground truth (see ``docs/phantom.md``).
    """

    spec: PhantomSpec
    image: ImageVolume
    labels: LabelVolume
    truth: dict[str, Any]


class _Pose:
    """Anatomical <-> scanner coordinates (patient positioning on the table)."""

    def __init__(self, spec: PhantomSpec) -> None:
        rx, ry, rz = np.radians(spec.patient_rotation_deg)
        cx, sx, cy, sy, cz, sz = (
            np.cos(rx),
            np.sin(rx),
            np.cos(ry),
            np.sin(ry),
            np.cos(rz),
            np.sin(rz),
        )
        rot_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rot_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
        self.rotation = rot_z @ rot_y @ rot_x
        self.shift = np.asarray(spec.patient_shift_mm) + np.array([0.0, 0.0, spec.table_z_mm])

    def to_world(self, p: FloatArray) -> FloatArray:
        return np.asarray(np.asarray(p) @ self.rotation.T + self.shift)

    def to_anatomical(self, p: FloatArray) -> FloatArray:
        return np.asarray((np.asarray(p) - self.shift) @ self.rotation)

    def rotate(self, v: FloatArray) -> FloatArray:
        return np.asarray(self.rotation @ np.asarray(v))


def acquisition_geometry(spec: PhantomSpec, scene: Scene | None = None) -> Geometry:
    """The scanner grid of ``spec``: axial, centred on the nominal LV centre.

    The grid does not follow ``patient_shift_mm``/``patient_rotation_deg``, so a
    re-positioned patient appears elsewhere in the same field of view.
    """
    scene = build_scene(spec) if scene is None else scene
    lv = scene.lv
    center = lv.to_anatomical(np.array([0.0, 0.0, -0.35 * lv.axes[2]]))
    center = center + np.array([0.0, 0.0, spec.table_z_mm]) + np.asarray(spec.fov_offset_mm)
    spacing = np.array([spec.slice_spacing_mm, spec.pixel_spacing_mm, spec.pixel_spacing_mm])
    shape = (spec.slices, spec.rows, spec.rows)
    half = spacing * (np.asarray(shape) - 1) / 2.0
    origin = center - AXIAL_DIRECTION @ half
    return Geometry(shape, spacing, np.round(origin, 3), AXIAL_DIRECTION)


def generate_phantom(spec: PhantomSpec) -> PhantomCase:
    """Generate the image, labels and ground truth described by ``spec``.

    Parameters
    ----------
    spec : PhantomSpec
        Anatomy and acquisition (see :func:`random_spec`).

    Returns
    -------
    PhantomCase

    Examples
    --------
    >>> spec = PhantomSpec(rows=48, slices=40, pixel_spacing_mm=3.0, slice_spacing_mm=3.0)
    >>> case = generate_phantom(spec)
    >>> case.image.shape, case.truth["septal_thickness_mm"]
    ((40, 48, 48), 10.0)
    """
    if not isinstance(spec, PhantomSpec):
        raise TypeError(f"Argument 'spec' must be a PhantomSpec, got {type(spec).__name__}.")
    scene = build_scene(spec)
    pose = _Pose(spec)
    geometry = acquisition_geometry(spec, scene)
    array, labels = render(scene, geometry, pose.to_anatomical)
    assert array is not None
    if spec.leads:
        leads = build_leads(spec, scene.lv, pose.to_world)
        lv_center = pose.to_world(
            scene.lv.to_anatomical(np.array([0.0, 0.0, -0.35 * scene.lv.axes[2]]))
        )
        paint_leads(array, leads, geometry, spec, lv_center)
    add_noise(array, geometry.spacing_mm, spec.noise_sd_hu, spec.noise_correlation_mm, spec.seed)
    truth = _truth(scene.lv, spec, pose)
    meta = {"phantom_seed": spec.seed, "phase_percent": spec.phase_percent}
    logger.debug("generated phantom seed %d on grid %s", spec.seed, geometry.shape)
    return PhantomCase(
        spec=spec,
        image=ImageVolume.from_geometry(array, geometry, meta),
        labels=LabelVolume.from_geometry(labels, geometry, meta),
        truth=truth,
    )


def phantom_truth(spec: PhantomSpec) -> dict[str, Any]:
    """Ground truth of ``spec`` (as in ``generate_phantom(spec).truth``) without an image."""
    if not isinstance(spec, PhantomSpec):
        raise TypeError(f"Argument 'spec' must be a PhantomSpec, got {type(spec).__name__}.")
    return _truth(lv_model_from_spec(spec), spec, _Pose(spec))


def _truth(lv: LVModel, spec: PhantomSpec, pose: _Pose) -> dict[str, Any]:
    truth = compute_truth(lv, pose.to_world, pose.rotate)
    truth["phase_percent"] = spec.phase_percent
    truth["systolic_fraction"] = spec.systolic_fraction
    truth["spec"] = spec.to_dict()
    if spec.leads:
        truth["leads"] = [
            {
                "kind": lead.kind,
                "diameter_mm": round(2.0 * float(lead.radius_mm.max()), 3),
                "centre_line_mm": [
                    _vec3(p) for p in lead.points[:: max(len(lead.points) // 60, 1)]
                ],
            }
            for lead in build_leads(spec, lv, pose.to_world)
        ]
    return truth


def _vec3(p: FloatArray) -> list[float]:
    return [round(float(v), 3) for v in p]


def render_labels(spec: PhantomSpec, geometry: Geometry) -> LabelVolume:
    """Noiseless labels of ``spec`` on any grid (e.g. a fine block for checking truth)."""
    if not isinstance(geometry, Geometry):
        raise TypeError(f"Argument 'geometry' must be a Geometry, got {type(geometry).__name__}.")
    _, labels = render(build_scene(spec), geometry, _Pose(spec).to_anatomical, image=False)
    return LabelVolume.from_geometry(labels, geometry, {"phantom_seed": spec.seed})


def sample_case(seed: int = 0, visit: Literal["baseline", "followup"] = "baseline") -> PhantomCase:
    """The small demo phantom (192x192x120, 0.75 x 0.75 x 1 mm).

    Generated once per ``(seed, visit)`` and cached; every call returns fresh
    copies of the arrays, so callers may modify them. ``visit="followup"`` is
    the same patient 6 months later: re-positioned, new noise, septum 1.5 mm and
    posterior wall 0.8 mm thicker.
    """
    if visit not in ("baseline", "followup"):
        raise ValueError(f"Argument 'visit' must be 'baseline' or 'followup', got {visit!r}.")
    case = _cached_sample(int(seed), visit)
    return PhantomCase(
        spec=case.spec,
        image=case.image.with_array(case.image.array.copy()),
        labels=case.labels.with_array(case.labels.array.copy()),
        truth=copy.deepcopy(case.truth),
    )


@functools.lru_cache(maxsize=4)
def _cached_sample(seed: int, visit: str) -> PhantomCase:
    spec = random_spec(seed, "sample")
    if visit == "followup":
        spec = spec.replace(
            seed=spec.seed + 1000,
            septal_mm=round(spec.septal_mm + 1.5, 2),
            posterior_mm=round(spec.posterior_mm + 0.8, 2),
            patient_shift_mm=(3.0, -2.0, 4.0),
            patient_rotation_deg=(1.0, -1.5, 2.0),
        )
    return generate_phantom(spec)
