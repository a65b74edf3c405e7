"""Fixtures of the core tests (the real-data fixture ``shared_data`` is in the root conftest)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def load_script() -> Callable[[str], ModuleType]:
    """``load_script("paint_lead")`` imports ``scripts/paint_lead.py`` as a module."""

    def load(name: str) -> ModuleType:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        return module

    return load


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
