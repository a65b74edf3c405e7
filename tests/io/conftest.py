"""Helpers for the loader tests: synthetic series written with write_dicom_series."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from wallthick.io import write_dicom_series
from wallthick.volume import ImageVolume

#: slice axis S (feet->head), rows P, columns L: the usual axial layout, whose
#: slice axis equals row x column, so a written volume reloads unchanged.
AXIAL = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).T


def linear_hu(shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> ImageVolume:
    """A volume whose HU are a linear function of the LPS position (exact under
    linear interpolation): hu = 2 x + 3 y + 5 z (mm), rounded."""
    idx = np.indices(shape).reshape(3, -1).T.astype(float)
    vol = ImageVolume(np.zeros(shape, np.float32), spacing, (-20.0, -30.0, -40.0), AXIAL)
    pts = vol.index_to_world(idx)
    hu = np.rint(pts @ np.array([2.0, 3.0, 5.0])).reshape(shape).astype(np.float32)
    return vol.with_array(hu)


def hu_at(points: np.ndarray) -> np.ndarray:
    return np.asarray(points) @ np.array([2.0, 3.0, 5.0])


def edit(path: Path, **attributes: Any) -> None:
    """Change attributes of a written file (``None`` deletes one)."""
    ds = pydicom.dcmread(path)
    for keyword, value in attributes.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def write_series(tmp_path: Path) -> Callable[..., list[Path]]:
    """``write_series(volume, name="s", **kwargs)`` writes into tmp_path/name."""

    def write(volume: ImageVolume, name: str = "series", **kwargs: Any) -> list[Path]:
        return write_dicom_series(volume, tmp_path / name, **kwargs)

    return write


@pytest.fixture
def h() -> Any:
    """The helpers above, for test modules (conftest is not importable)."""
    from types import SimpleNamespace

    return SimpleNamespace(AXIAL=AXIAL, linear_hu=linear_hu, hu_at=hu_at, edit=edit)
