"""The default ``classical`` segmenter (CPU, no trained weights)."""

from wallthick.segment.classical._common import ClassicalOptions, TissueLevels
from wallthick.segment.classical._segmenter import ClassicalSegmenter

__all__ = ["ClassicalOptions", "ClassicalSegmenter", "TissueLevels"]
