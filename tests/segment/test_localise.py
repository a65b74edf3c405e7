"""Candidate blood pools of the classical segmenter's localisation step."""

from __future__ import annotations

import numpy as np

from wallthick.segment.classical._common import ClassicalOptions
from wallthick.segment.classical._localise import _candidates, _same_pool
from wallthick.volume import Geometry


def _pool_with_funnel() -> tuple[np.ndarray, Geometry, np.ndarray, np.ndarray]:
    """A large round pool with a narrower funnel opening into it (like an LV
    cavity opening through the valve into a larger atrial/aortic pool): along
    the funnel the distance map rises steadily into the large pool, so
    on a 3 mm grid the funnel has no distance-map maximum of its own."""
    geom = Geometry((40, 40, 60), np.array([3.0, 3.0, 3.0]), np.zeros(3), np.eye(3))
    idx = np.indices(geom.shape).reshape(3, -1).T
    pts = geom.index_to_world(idx).reshape(*geom.shape, 3)
    big, small = np.array([60.0, 60.0, 45.0]), np.array([60.0, 60.0, 110.0])
    radial = np.linalg.norm(pts[..., :2] - big[:2], axis=-1)
    tube = (
        (radial < 9.0 + 0.06 * (150.0 - pts[..., 2]))
        & (pts[..., 2] > big[2])
        & (pts[..., 2] < 150.0)
    )
    inside = (np.linalg.norm(pts - big, axis=-1) < 30.0) | tube
    coarse = np.where(inside, 300.0, 40.0).astype(np.float32)
    return coarse, geom, big, small


def test_every_deep_pool_gets_a_candidate() -> None:
    coarse, geom, big, small = _pool_with_funnel()
    found, blood = _candidates(coarse, geom, 170.0, ClassicalOptions())
    centers = np.array([c for c, _ in found])
    assert np.min(np.linalg.norm(centers - big, axis=1)) < 10.0
    assert np.min(np.linalg.norm(centers - small, axis=1)) < 10.0
    opts = ClassicalOptions()
    d = np.linalg.norm(centers[:, None] - centers[None], axis=-1)
    assert np.all(d[np.triu_indices(len(centers), 1)] >= opts.candidate_spacing_mm)
    assert all(radius >= opts.min_cavity_radius_mm for _, radius in found)
    assert blood.shape == coarse.shape


def test_same_pool_follows_the_blood() -> None:
    coarse, geom, big, small = _pool_with_funnel()
    _, blood = _candidates(coarse, geom, 170.0, ClassicalOptions())
    assert _same_pool(big, small, blood, geom)  # joined through the opening
    outside = big + np.array([0.0, 25.0, 65.0])  # beside the funnel
    assert not _same_pool(big, outside, blood, geom)
