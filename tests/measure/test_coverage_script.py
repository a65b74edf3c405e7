"""scripts/coverage.py: coverage fractions and the fit of the model's constants."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from wallthick.measure.uncertainty import combine_terms


def _terms(rng: np.random.Generator) -> dict[str, float]:
    return {
        "spread_mm": float(rng.uniform(0.05, 0.2)),
        "tail_mm": 0.0,
        "disagreement_mm": 0.0,
        "method_mm": 0.05,
        "window_mm": float(rng.uniform(6.0, 14.0)),
        "half_voxel_mm": 0.4,
        "weak_edges": 0.0,
        "n_eff": 30.0,
        "n_lines": 1000.0,
    }


def _rows(ref: float, n: int = 400) -> list[dict[str, Any]]:
    """Cases whose errors are drawn with the model's u at reference fraction ``ref``."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        walls = {}
        for wall in ("septal", "posterior"):
            terms = _terms(rng)
            sigma = combine_terms(terms, ref, 0.2)[0]
            walls[wall] = [10.0 + sigma * float(rng.standard_normal()), 10.0, 9.9, terms]
        rows.append({"seed": i, "mode": "pipeline", "status": "ok",
                     "groups": {"weak RV": i % 3 == 0}, "walls": walls, "segments": {}})  # fmt: skip
    return rows


def test_coverage_line_counts_fractions(load_script: Callable[[str], ModuleType]) -> None:
    cov = load_script("coverage")
    line = cov.coverage_line("x", np.array([0.5, 0.9, 1.5, 2.5, np.nan]))
    assert line.startswith("| x | 4 | 0.50 | 0.75 | 2.50 |")
    assert line.endswith("**no** |")
    assert cov.coverage_line("y", np.array([0.2, 0.5, 0.8, 1.2, 1.5])).endswith("| yes |")


def test_fit_recovers_the_reference_fraction(load_script: Callable[[str], ModuleType]) -> None:
    cov = load_script("coverage")
    ref, _, text = cov.fit(_rows(0.02))
    assert ref == pytest.approx(0.02, abs=0.0051)
    assert "| septal, weak RV |" in text
