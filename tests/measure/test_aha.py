"""AHA 17-segment numbering and its orientation in the patient (LPS)."""

from __future__ import annotations

import numpy as np
import pytest

from wallthick.labels import Label
from wallthick.measure import aha_segments, measure_labels
from wallthick.measure.synthetic import analytic_lv


@pytest.mark.parametrize(
    ("level", "theta", "expected"),
    [
        (0.9, 59.0, 2),  # just septal of the anterior insertion: basal anteroseptal
        (0.9, 61.0, 1),  # just anterior of it: basal anterior
        (0.9, -1.0, 3),  # septum centre, inferior half: inferoseptal
        (0.9, -61.0, 4),  # beyond the inferior insertion: inferior
        (0.9, -150.0, 5),  # inferolateral
        (0.9, 150.0, 6),  # anterolateral
        (0.5, 30.0, 8),
        (0.5, -30.0, 9),
        (0.5, -150.0, 11),
        (0.2, 0.0, 14),
        (0.2, 90.0, 13),
        (0.2, -90.0, 15),
        (0.2, 180.0, 16),
        (0.05, 0.0, 17),
        (1.2, 0.0, 0),  # above the basal ring: no segment
    ],
)
def test_aha_numbering(level, theta, expected):
    assert int(aha_segments([level], [theta], 60.0)[0]) == expected


def test_aha_anchored_at_anterior_insertion():
    # an anterior insertion at 50 degrees shifts the six sectors by 10 degrees
    assert aha_segments([0.9], [55.0], 50.0).tolist() == [1]
    assert aha_segments([0.9], [55.0], 60.0).tolist() == [2]


@pytest.fixture(scope="module")
def measured_lv():
    lv = analytic_lv(
        spacing_mm=(1.25, 1.0, 1.0), grid_rotation_deg=(10.0, 5.0, -20.0),
        septal_mm=10.0, free_wall_mm=10.0,
    )  # fmt: skip
    return lv, measure_labels(lv.labels)


def _centroid(result, segments):
    mask = np.isin(result.aha_segments, segments)
    idx = np.argwhere(mask).astype(float)
    return result.labels.geometry.index_to_world(idx).mean(0)


def test_orientation_in_patient(measured_lv):
    """Septum towards the RV, anterior towards -y (LPS), inferior towards the feet-ish."""
    lv, res = measured_lv
    anterior = _centroid(res, [1, 7]) - _centroid(res, [4, 10])
    assert anterior @ lv.anterior_direction > 0.8 * np.linalg.norm(anterior)
    assert anterior[1] < 0  # patient anterior is -y in LPS
    septal = _centroid(res, [2, 3, 8, 9]) - _centroid(res, [5, 6, 11, 12])
    assert septal @ lv.septal_direction > 0.8 * np.linalg.norm(septal)
    rv = lv.labels.array == Label.RV_BLOOD_POOL
    rv_centre = lv.labels.geometry.index_to_world(np.argwhere(rv).astype(float)).mean(0)
    lv_centre = _centroid(res, list(range(1, 17)))
    assert (rv_centre - lv_centre) @ septal > 0
    # anteroseptal lies anterior of inferoseptal
    assert (_centroid(res, [2, 8]) - _centroid(res, [3, 9])) @ lv.anterior_direction > 0
    # basal -> apical along the long axis
    assert (_centroid(res, range(1, 7)) - _centroid(res, [17])) @ lv.long_axis > 40.0


def test_frame_matches_construction(measured_lv):
    lv, res = measured_lv
    f = res.frame
    assert float(f.long_axis @ lv.long_axis) > np.cos(np.radians(5))
    assert float(f.septal_direction @ lv.septal_direction) > np.cos(np.radians(8))
    assert f.rv_insertion_points_mm.shape == (2, 3)
    # the anterior insertion point is the more anterior one
    ant, inf = f.rv_insertion_points_mm
    assert (ant - inf) @ lv.anterior_direction > 0


def test_every_segment_covered(measured_lv):
    _, res = measured_lv
    counts = {s.segment: s.n_points for s in res.measurement.segments}
    assert all(counts[s] > 50 for s in range(1, 18)), counts
