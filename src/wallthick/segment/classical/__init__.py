"""The default ``classical`` segmenter (CPU, no trained weights)."""

from wallthick.segment.classical._common import ClassicalOptions, TissueLevels
from wallthick.segment.classical._metal import (
    METAL_KEY,
    Lead,
    MetalOptions,
    MetalReport,
    find_leads,
    suppress_metal,
)
from wallthick.segment.classical._segmenter import ClassicalSegmenter

__all__ = [
    "METAL_KEY",
    "ClassicalOptions",
    "ClassicalSegmenter",
    "Lead",
    "MetalOptions",
    "MetalReport",
    "TissueLevels",
    "find_leads",
    "suppress_metal",
]
