"""Fixtures for every test folder (``tests/`` and the napari plugin's tests).

The real test data (real CT, DICOM corpora; see ``CONTRIBUTING.md``) lives
outside the repository. Its folder is ``$WALLTHICK_TEST_DATA``, by default
``../shared/data`` beside the project root; tests that need it take the
``shared_data`` fixture and are skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_ENV = "WALLTHICK_TEST_DATA"
PROJECT_ROOT = Path(__file__).resolve().parent


def data_root() -> Path:
    """The real-data folder: ``$WALLTHICK_TEST_DATA`` or ``../shared/data``."""
    value = os.environ.get(DATA_ENV, "")
    return Path(value).expanduser() if value else PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real test data; the test is skipped when it is not there."""
    root = data_root()
    if not root.is_dir():
        pytest.skip(
            f"real test data not found at {root}: set {DATA_ENV} to the folder "
            "holding real/ and dicom/ (see CONTRIBUTING.md)"
        )
    return root
