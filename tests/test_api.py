"""The top-level API: the verbs, a sorted ``__all__``, and a light import."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys

import pytest

import wallthick

VERBS = (
    "load_image",
    "segment_heart",
    "measure_wall_thickness",
    "compare_measurements",
    "run_batch",
    "write_report",
)

#: where each verb is defined (the top-level name must be that very object)
HOMES = {
    "load_image": "wallthick.io",
    "segment_heart": "wallthick.segment",
    "measure_wall_thickness": "wallthick.measure",
    "compare_measurements": "wallthick.compare",
    "run_batch": "wallthick.batch",
    "write_report": "wallthick.report",
}


def test_all_is_sorted_unique_and_complete() -> None:
    assert list(wallthick.__all__) == sorted(set(wallthick.__all__))
    assert set(VERBS) <= set(wallthick.__all__)
    assert set(wallthick.__all__) <= set(dir(wallthick))


@pytest.mark.parametrize("name", VERBS)
def test_verb_is_the_public_function(name: str) -> None:
    verb = getattr(wallthick, name)
    assert inspect.isfunction(verb)
    assert verb is getattr(importlib.import_module(HOMES[name]), name)
    assert verb.__doc__


def test_star_import_gives_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from wallthick import *", namespace)
    assert set(wallthick.__all__) <= set(namespace)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'measure_everything'"):
        _ = wallthick.measure_everything  # type: ignore[attr-defined]


def test_import_is_light_and_needs_no_display() -> None:
    """A fresh interpreter with no display imports no GUI, cluster or plotting library."""
    code = (
        "import json, sys, wallthick\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen-not-available"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    loaded = set(json.loads(out.stdout))
    heavy = {"napari", "qtpy", "PyQt5", "PyQt6", "PySide6", "magicgui", "vispy"}
    heavy |= {"matplotlib", "dask", "distributed"}
    assert not loaded & heavy, f"'import wallthick' loaded {sorted(loaded & heavy)}"
