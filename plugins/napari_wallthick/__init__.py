"""napari-wallthick: see and correct wall-thickness measurements in napari.

A thin layer over the public :mod:`wallthick` API (reader, sample data and the
"Wall thickness" dock widget); see ``docs/analyst_guide.md``.
"""

from wallthick import __version__

__all__ = ["__version__"]
