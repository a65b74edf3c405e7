"""Shared fixtures: paths to ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of ../shared/data; the test is skipped when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (only present in CI/dev)")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


# -- phantom fixtures (issue 3) ---------------------------------------------------
@pytest.fixture(scope="session")
def phantom_case():  # type: ignore[no-untyped-def]
    """The small sample phantom (seed 0, baseline), generated once per session."""
    from wallthick.phantom import sample_case

    return sample_case(0)


@pytest.fixture(scope="session")
def phantom_dicom_dir(phantom_case, tmp_path_factory):  # type: ignore[no-untyped-def]
    """``phantom_case`` written once per session as a DICOM series (+ truth.json)."""
    from wallthick.phantom import write_phantom_series

    return write_phantom_series(phantom_case, tmp_path_factory.mktemp("phantom") / "series")
