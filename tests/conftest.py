"""Fixtures of the core tests (the real-data fixture ``shared_data`` is in the root conftest)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


# -- phantom fixtures ---------------------------------------------------
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
