"""File > Open Sample: the wallthick phantom at baseline and at follow-up."""

from __future__ import annotations

from typing import Any

from napari_wallthick._convert import image_layer_data
from wallthick import ImageVolume
from wallthick.phantom import sample_case

__all__ = ["phantom_baseline", "phantom_followup", "sample_image"]

VISITS = ("baseline", "followup")


def sample_image(visit: str, seed: int = 0) -> ImageVolume:
    """The phantom CT of one visit, keyed ``phantom:<seed>:<visit>``.

    The key names the sample's results folder, so a correction saved from the
    sample can be reopened (the image is regenerated from the key).
    """
    if visit not in VISITS:
        raise ValueError(f"Argument 'visit' must be one of {VISITS}, got {visit!r}.")
    case = sample_case(seed, visit=visit)  # type: ignore[arg-type]
    return case.image.with_array(
        case.image.array,
        series_description=f"phantom {visit}",
        sample_key=f"phantom:{seed}:{visit}",
        phantom_septal_mm=case.spec.septal_mm,
        phantom_posterior_mm=case.spec.posterior_mm,
    )


def _layers(visit: str) -> list[tuple[Any, dict[str, Any], str]]:
    return [image_layer_data(sample_image(visit), f"phantom {visit}")]


def phantom_baseline() -> list[tuple[Any, dict[str, Any], str]]:
    """The demo phantom (192x192x120 voxels, 0.75 x 0.75 x 1 mm), first visit."""
    return _layers("baseline")


def phantom_followup() -> list[tuple[Any, dict[str, Any], str]]:
    """The same phantom patient 6 months later (thicker septum and posterior wall)."""
    return _layers("followup")
