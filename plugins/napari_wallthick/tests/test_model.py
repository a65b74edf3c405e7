from __future__ import annotations

import math

from napari_wallthick._model import table_rows
from wallthick.measure.result import Measurement, SegmentStats


def test_table_shows_each_segments_own_uncertainty() -> None:
    segs = tuple(SegmentStats(s, 9.0, 9.0, 10.0, 1.5, 40, 0.01 * s) for s in range(1, 17))
    m = Measurement(9.5, 0.3, 8.5, 0.35, segs, 150.0, 140.0)
    rows = table_rows(m)
    assert [r.uncertainty_mm for r in rows[:2]] == [0.3, 0.35]
    by_name = {r.name.split()[0]: r for r in rows[2:]}
    assert by_name["5"].uncertainty_mm == 0.05 and by_name["5"].n_points == 40
    assert math.isnan(by_name["17"].uncertainty_mm) and by_name["17"].n_points == 0
