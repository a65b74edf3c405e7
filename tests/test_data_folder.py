"""The real-data folder comes from ``WALLTHICK_TEST_DATA`` (default ``../shared/data``)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _root_conftest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_root_conftest", ROOT / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_is_shared_data_beside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WALLTHICK_TEST_DATA", raising=False)
    assert _root_conftest().data_root() == ROOT.parent / "shared" / "data"


def test_environment_variable_names_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WALLTHICK_TEST_DATA", str(tmp_path))
    assert _root_conftest().data_root() == tmp_path


def test_fixture_gives_an_existing_folder(shared_data: Path) -> None:
    assert shared_data.is_dir()


def test_missing_folder_skips_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "WALLTHICK_TEST_DATA": str(tmp_path / "absent")}
    node = f"{Path(__file__).name}::test_fixture_gives_an_existing_folder"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", f"tests/{node}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 skipped" in out.stdout
    assert f"real test data not found at {tmp_path / 'absent'}" in out.stdout
    assert "WALLTHICK_TEST_DATA" in out.stdout
