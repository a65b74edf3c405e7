"""Fixtures of the plugin's tests (``shared_data`` comes from the root conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_ct(shared_data: Path) -> Path:
    """The real chest CTA crop of the test data (skipped when absent)."""
    path = shared_data / "real" / "chest_cta" / "ct_heart_crop.nii.gz"
    if not path.is_file():
        pytest.skip(f"real CT not found at {path} (see CONTRIBUTING.md)")
    return path
