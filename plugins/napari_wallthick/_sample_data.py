"""File > Open Sample: the wallthick phantom at baseline and at follow-up."""

from __future__ import annotations

from typing import Any

from napari_wallthick._convert import image_layer_data
from wallthick.phantom import sample_case

__all__ = ["phantom_baseline", "phantom_followup"]


def _phantom(visit: str) -> list[tuple[Any, dict[str, Any], str]]:
    case = sample_case(0, visit=visit)  # type: ignore[arg-type]
    spec = case.spec
    truth = {
        "septal_mm": spec.septal_mm,
        "posterior_mm": spec.posterior_mm,
        "visit": visit,
    }
    return [image_layer_data(case.image, f"phantom {visit}", {"phantom_truth": truth})]


def phantom_baseline() -> list[tuple[Any, dict[str, Any], str]]:
    """The demo phantom (192x192x120 voxels, 0.75 x 0.75 x 1 mm), first visit."""
    return _phantom("baseline")


def phantom_followup() -> list[tuple[Any, dict[str, Any], str]]:
    """The same phantom patient 6 months later (thicker septum and posterior wall)."""
    return _phantom("followup")
