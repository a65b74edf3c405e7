"""Smoke tests of the phantom generator on the small sample."""

from __future__ import annotations

import numpy as np

from wallthick.labels import Label
from wallthick.phantom import PhantomCase, PhantomSpec, random_spec


def test_sample_case_contents(phantom_case: PhantomCase) -> None:
    img, lab = phantom_case.image, phantom_case.labels
    assert img.array.dtype == np.float32
    assert img.shape == lab.shape == (120, 192, 192)
    assert lab.geometry.same_grid(img.geometry)
    present = set(np.unique(lab.array).tolist())
    assert {int(v) for v in Label} <= present
    blood = img.array[lab.array == Label.LV_BLOOD_POOL]
    assert np.median(blood) > phantom_case.spec.hu_myocardium + 100


def test_spec_json_round_trip() -> None:
    spec = random_spec(5, variant="full")
    assert PhantomSpec.from_dict(spec.to_dict()) == spec
    assert spec.rows == 512
