"""The plugin uses only the public wallthick API (checked on its source, without napari).

Public means: ``wallthick`` or one of its modules/packages (``wallthick.results``,
``wallthick.measure``, ...; ARCHITECTURE.md's module table), a name in its
``__all__``, and nothing spelt with a leading underscore.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1]
#: Batch internals the plugin must reach through wallthick.results instead.
FORBIDDEN_MODULES = ("wallthick.batch.outputs", "wallthick.batch.series", "wallthick.batch.runner")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def wallthick_imports(source: str) -> list[tuple[str, str]]:
    """``(module, name)`` of every wallthick import in ``source`` (name "" for ``import m``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "wallthick":
                found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.split(".")[0] == "wallthick"]
    return found


def violations(source: str) -> list[str]:
    """What in ``source`` is not the public wallthick API."""
    bad = []
    for module, name in wallthick_imports(source):
        if any(_private(part) for part in module.split(".")) or _private(name):
            bad.append(f"{module}.{name}: private name")
        elif module.startswith(FORBIDDEN_MODULES):
            bad.append(f"{module}: batch internals")
        elif module.count(".") > 1:
            bad.append(f"{module}: not a public module (import from {_package(module)})")
        elif name and name not in getattr(importlib.import_module(module), "__all__", (name,)):
            if not importlib.util.find_spec(f"{module}.{name}"):
                bad.append(f"{module}.{name}: not in {module}.__all__")
    return bad


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _plugin_files() -> list[Path]:
    return sorted(p for p in PLUGIN.glob("*.py"))


@pytest.mark.parametrize("path", _plugin_files(), ids=lambda p: p.name)
def test_plugin_module_imports_only_public_wallthick(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from wallthick.batch.outputs import CORRECTED_NIFTI",
        "from wallthick.batch.series import SeriesTask",
        "from wallthick.batch.runner import BatchOptions",
        "from wallthick._version import __version__",
        "from wallthick.segment.labelmap import _resolve_mapping",
        "import wallthick.report._planes",
        "def f():\n    from wallthick.batch.plan import plan_tasks\n",
    ],
)
def test_the_check_catches_private_imports(source: str) -> None:
    assert violations(source)


def test_the_plugin_imports_wallthick_at_all() -> None:
    found = [i for p in _plugin_files() for i in wallthick_imports(p.read_text(encoding="utf-8"))]
    assert ("wallthick.results", "save_correction") in found
