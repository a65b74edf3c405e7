"""Fixtures of the plugin's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.fixture(scope="session")
def real_ct() -> Path:
    """The real chest CTA crop of ../shared/data (skipped when absent)."""
    path = SHARED_DATA / "real" / "chest_cta" / "ct_heart_crop.nii.gz"
    if not path.is_file():
        pytest.skip(f"shared test data not found at {path} (only present in CI/dev)")
    return path
