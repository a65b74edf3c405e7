"""Property: any oblique, anisotropic volume written as DICOM (any slice order, any
file names) reloads to the same geometry and voxels."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallthick.io import discover_series, load_series, write_dicom_series
from wallthick.volume import ImageVolume


def _rotation(q: tuple[float, float, float, float]) -> np.ndarray:
    w, x, y, z = np.asarray(q) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


quaternions = st.tuples(*[st.floats(-1, 1, allow_nan=False)] * 4).filter(
    lambda q: np.linalg.norm(q) > 0.1
)
spacings = st.tuples(*[st.floats(0.3, 3.0, allow_nan=False)] * 3)
shapes = st.tuples(st.integers(3, 6), st.integers(2, 9), st.integers(2, 9))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    q=quaternions,
    spacing=spacings,
    shape=shapes,
    flip=st.booleans(),
    origin=st.tuples(*[st.floats(-300, 300, allow_nan=False)] * 3),
    syntax=st.sampled_from(["explicit-little", "implicit-little", "rle", "deflate"]),
    seed=st.integers(0, 2**16),
)
def test_write_then_load_round_trip(
    q: tuple[float, ...],
    spacing: tuple[float, float, float],
    shape: tuple[int, int, int],
    flip: bool,
    origin: tuple[float, float, float],
    syntax: str,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    direction = _rotation(q)  # type: ignore[arg-type]
    if flip:
        direction[:, 0] *= -1  # the slice axis may point either way
    array = rng.integers(-1024, 3000, shape).astype(np.float32)
    vol = ImageVolume(array, spacing, origin, direction)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dicom_series(vol, tmp, transfer_syntax=syntax, file_names="instance")
        for i, j in enumerate(rng.permutation(len(paths))):  # shuffled, extension-less names
            paths[i].rename(Path(tmp) / f"n{j:03d}_{rng.integers(1e6)}")
        [desc] = discover_series(tmp)
        back = load_series(desc)
    expected = vol
    if back.direction[:, 0] @ vol.direction[:, 0] < 0:  # loader orders along row x column
        last = vol.index_to_world([shape[0] - 1, 0, 0])
        flipped = vol.direction.copy()
        flipped[:, 0] *= -1
        expected = ImageVolume(array[::-1].copy(), spacing, last, flipped)
    np.testing.assert_array_equal(back.array, expected.array)
    np.testing.assert_allclose(back.affine, expected.affine, atol=1e-4)
