"""Segmentation of the heart: the segmenter registry and :func:`segment_heart`.

Built-in segmenters: ``classical`` (default, CPU, no weights) and ``labelmap``
(reads an existing label map). Others are added through the entry-point group
``wallthick.segmenters`` or :func:`register_segmenter`.
"""

from wallthick.segment.registry import (
    ENTRY_POINT_GROUP,
    Segmenter,
    SegmenterInfo,
    available_segmenters,
    get_segmenter,
    missing_dependencies,
    register_segmenter,
    segment_heart,
    segmenter_info,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Segmenter",
    "SegmenterInfo",
    "available_segmenters",
    "get_segmenter",
    "missing_dependencies",
    "register_segmenter",
    "segment_heart",
    "segmenter_info",
]
