"""Synthetic ECG-gated cardiac CT phantoms with exactly known wall thickness.

See ``docs/phantom.md`` for how the anatomy, the image and the truth are built.
"""

from wallthick.phantom.generate import (
    PhantomCase,
    acquisition_geometry,
    generate_phantom,
    phantom_truth,
    render_labels,
    sample_case,
)
from wallthick.phantom.series import CohortSpec, write_cohort, write_phantom_series
from wallthick.phantom.spec import VARIANTS, PhantomSpec, random_hf_spec, random_spec

__all__ = [
    "VARIANTS",
    "CohortSpec",
    "PhantomCase",
    "PhantomSpec",
    "acquisition_geometry",
    "generate_phantom",
    "phantom_truth",
    "random_hf_spec",
    "random_spec",
    "render_labels",
    "sample_case",
    "write_cohort",
    "write_phantom_series",
]
