"""Synthetic ECG-gated cardiac CT phantoms with exactly known wall thickness.

See ``docs/phantom.md`` for how the anatomy, the image and the truth are built.
"""

from wallthick.phantom.generate import (
    PhantomCase,
    acquisition_geometry,
    generate_phantom,
    render_labels,
    sample_case,
)
from wallthick.phantom.spec import VARIANTS, PhantomSpec, random_spec

__all__ = [
    "VARIANTS",
    "PhantomCase",
    "PhantomSpec",
    "acquisition_geometry",
    "generate_phantom",
    "random_spec",
    "render_labels",
    "sample_case",
]
