"""``MeasureOptions``: every tunable of a wall-thickness measurement."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

__all__ = ["MeasureOptions"]


@dataclass(frozen=True)
class MeasureOptions:
    """Options of :func:`wallthick.measure.measure_labels`.

    Parameters
    ----------
    grid_mm : float
        Spacing of the isotropic grid (cropped to the LV) on which the Laplace
        equation is solved; it only sets the wall directions and the density
        of the mid-wall sample points, not the precision of the edges.
    refine_boundaries : bool
        Move each wall edge by at most half a voxel towards the intensity edge
        of ``image`` (fractional membership integrated across the edge).
    edge_window_mm : float or None
        Half-width of the integration window around each label edge beyond
        the half-voxel margin; ``None`` = ``max(1.5, max spacing)``.
    min_contrast_hu : float
        Below this tissue contrast an edge is not refined (label edge kept,
        uncertainty widened).
    apical_cap_fraction : float
        Endocardial level (0 = endocardial apex, 1 = basal ring) below which a
        point belongs to the apical cap, segment 17.
    wall_range_mm, cavity_volume_range_ml : (float, float)
        Plausibility ranges checked by QC.
    max_border_contact_mm2 : float
        The LV (cavity or myocardium) may touch the image border over at most
        this area before QC flags ``fov_clipping`` (a tangential touch of a
        few voxels does not change the measurement; a heart cut by the field
        of view does). Default 25 mm², a 5 × 5 mm patch.
    min_segment_points : int
        Fewer mid-wall sample points in an AHA segment 1-16 fails coverage.
    on_qc_failure : {"flag", "raise"}
        ``"flag"`` reports failed criteria in ``qc_flags``; ``"raise"`` raises
        :class:`wallthick.errors.QualityControlError`.
    myocardial_density_g_per_ml : float
        Converts myocardial volume to mass (1.05 g/ml).
    uncertainty_scale : float
        Calibration factor applied to the per-scan uncertainty (see
        ``docs/method.md``).

    Examples
    --------
    >>> MeasureOptions(grid_mm=0.8).grid_mm
    0.8
    """

    grid_mm: float = 1.0
    refine_boundaries: bool = True
    edge_window_mm: float | None = None
    min_contrast_hu: float = 60.0
    apical_cap_fraction: float = 0.1
    wall_range_mm: tuple[float, float] = (3.0, 30.0)
    cavity_volume_range_ml: tuple[float, float] = (30.0, 450.0)
    max_border_contact_mm2: float = 25.0
    min_segment_points: int = 10
    on_qc_failure: Literal["flag", "raise"] = "flag"
    myocardial_density_g_per_ml: float = 1.05
    uncertainty_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0.3 <= self.grid_mm <= 3.0:
            raise ValueError(f"Argument 'grid_mm' must be in [0.3, 3] mm, got {self.grid_mm}.")
        if self.edge_window_mm is not None and not 0.2 <= self.edge_window_mm <= 10.0:
            raise ValueError(
                f"Argument 'edge_window_mm' must be None or in [0.2, 10] mm, got {self.edge_window_mm}."
            )
        if self.on_qc_failure not in ("flag", "raise"):
            raise ValueError(
                f"Argument 'on_qc_failure' must be 'flag' or 'raise', got {self.on_qc_failure!r}."
            )
        if not 0.0 <= self.apical_cap_fraction < 1.0 / 3.0:
            raise ValueError(
                "Argument 'apical_cap_fraction' must be in [0, 1/3), "
                f"got {self.apical_cap_fraction}."
            )
        for name in ("wall_range_mm", "cavity_volume_range_ml"):
            lo, hi = getattr(self, name)
            if not 0 <= lo < hi:
                raise ValueError(f"Argument '{name}' must be (low, high) with 0 <= low < high.")
        if not self.max_border_contact_mm2 >= 0:
            raise ValueError(
                f"Argument 'max_border_contact_mm2' must be >= 0, got {self.max_border_contact_mm2}."
            )
        if self.uncertainty_scale <= 0 or self.myocardial_density_g_per_ml <= 0:
            raise ValueError(
                "Arguments 'uncertainty_scale' and 'myocardial_density_g_per_ml' must be > 0."
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of the options."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MeasureOptions:
        """Options from a mapping of JSON values (a config file, ``--option key=value``).

        Ranges are given as two-element lists; booleans as JSON ``true``/``false``.

        Raises
        ------
        ValueError
            An unknown key (the message lists the known ones), a value of the
            wrong type, or one out of range; the message names the key.

        Examples
        --------
        >>> MeasureOptions.from_mapping({"grid_mm": 0.8, "wall_range_mm": [2, 25]}).wall_range_mm
        (2.0, 25.0)
        >>> MeasureOptions.from_mapping({"grid": 1})
        Traceback (most recent call last):
        ...
        ValueError: Unknown measure option 'grid'; known options: apical_cap_fraction, cavity_volume_range_ml, edge_window_mm, grid_mm, max_border_contact_mm2, min_contrast_hu, min_segment_points, myocardial_density_g_per_ml, on_qc_failure, refine_boundaries, uncertainty_scale, wall_range_mm.
        """
        kinds = {f.name: _KINDS[f.name] for f in fields(cls)}
        typed: dict[str, Any] = {}
        for key, value in values.items():
            if key not in kinds:
                raise ValueError(
                    f"Unknown measure option {key!r}; known options: {', '.join(sorted(kinds))}."
                )
            typed[key] = _coerce(key, kinds[key], value)
        return cls(**typed)


#: How each option's JSON value is read (see :meth:`MeasureOptions.from_mapping`).
_KINDS = {
    "grid_mm": "float",
    "refine_boundaries": "bool",
    "edge_window_mm": "float or null",
    "min_contrast_hu": "float",
    "apical_cap_fraction": "float",
    "wall_range_mm": "range",
    "cavity_volume_range_ml": "range",
    "max_border_contact_mm2": "float",
    "min_segment_points": "int",
    "on_qc_failure": "'flag' or 'raise'",
    "myocardial_density_g_per_ml": "float",
    "uncertainty_scale": "float",
}


def _coerce(key: str, kind: str, value: Any) -> Any:
    def number(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"Measure option {key!r} must be a number ({kind}), got {value!r}.")
        return float(v)

    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"Measure option {key!r} must be true or false, got {value!r}.")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"Measure option {key!r} must be a whole number, got {value!r}.")
        return value
    if kind == "range":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"Measure option {key!r} must be [low, high], got {value!r}.")
        return (number(value[0]), number(value[1]))
    if kind == "float or null" and value is None:
        return None
    if kind.startswith("'"):
        if value not in ("flag", "raise"):
            raise ValueError(f"Measure option {key!r} must be {kind}, got {value!r}.")
        return value
    return number(value)
