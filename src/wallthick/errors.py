"""wallthick's exception hierarchy.

Every domain failure raised by wallthick is a :class:`WallthickError`, with a
message that names the file or series concerned, what was wrong, and what the
user can do about it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "WallthickError",
    "InvalidSeriesError",
    "DecodeError",
    "SegmentationError",
    "MeasurementError",
    "QualityControlError",
    "MissingDependencyError",
    "OutputInUseError",
]


class WallthickError(Exception):
    """Base class of every error wallthick raises on purpose."""


class InvalidSeriesError(WallthickError):
    """A file or series cannot be loaded as a CT volume (wrong modality,
    inconsistent geometry, unreadable file, too few slices, ...)."""


class DecodeError(InvalidSeriesError):
    """Pixel data is present but cannot be decoded (missing decoder or
    corrupt/truncated data)."""


class SegmentationError(WallthickError):
    """The segmenter could not find the structures it needs (e.g. no left
    ventricle in the field of view)."""


class MeasurementError(WallthickError):
    """A segmentation exists but the wall cannot be measured from it."""


class QualityControlError(MeasurementError):
    """A measurement failed its plausibility checks.

    Parameters
    ----------
    message : str
        Human-readable summary.
    criteria : sequence of str
        Machine-readable names of the failed criteria (e.g.
        ``"wall_thickness_range"``).
    """

    def __init__(self, message: str, criteria: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.criteria: tuple[str, ...] = tuple(criteria)


class MissingDependencyError(WallthickError, ImportError):
    """An optional dependency needed for a feature is not installed."""

    def __init__(self, feature: str, package: str, extra: str | None = None) -> None:
        hint = f"pip install 'wallthick[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} requires the package '{package}'. Install it with: {hint}")
        self.feature = feature
        self.package = package


class OutputInUseError(WallthickError):
    """Another wallthick run holds the output folder (see ``wallthick.batch.lock``)."""
