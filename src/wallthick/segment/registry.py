"""Segmenter protocol, the registry of named segmenters and :func:`segment_heart`.

Segmenters are registered by name with a lazy import path (``"module:attr"``)
and the packages they need, in the spirit of pydicom's pixel-decoder plugins:
nothing is imported until a segmenter is asked for, and a segmenter whose
dependencies are missing is reported by name instead of failing obscurely.
Third-party packages add segmenters through the entry-point group
``wallthick.segmenters``::

    [project.entry-points."wallthick.segmenters"]
    mynet = "my_package.segment:MyNetSegmenter"

The object named by the entry point is called with the user's options
(``**options``) and must return an object with a ``name`` and a
``segment(image: ImageVolume) -> LabelVolume`` method.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from wallthick.errors import MissingDependencyError, SegmentationError
from wallthick.volume import ImageVolume, LabelVolume

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

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "wallthick.segmenters"


@runtime_checkable
class Segmenter(Protocol):
    """What every segmenter provides.

    ``segment`` returns labels (values of :class:`wallthick.labels.Label`) on
    the grid of the input image.
    """

    name: str

    def segment(self, image: ImageVolume) -> LabelVolume: ...


@dataclass(frozen=True)
class SegmenterInfo:
    """A registered segmenter: where to import it from and what it needs.

    Parameters
    ----------
    name : str
        Registry key (e.g. ``"classical"``).
    target : str
        ``"package.module:attribute"``; the attribute is a class or factory
        called with the segmenter options.
    dependencies : tuple of str
        Importable top-level module names the segmenter needs (checked with
        :func:`importlib.util.find_spec`, without importing them).
    description : str
        One line for ``--help`` texts and listings.
    source : str
        ``"builtin"``, ``"entry-point"`` or ``"user"``.
    """

    name: str
    target: str
    dependencies: tuple[str, ...] = ()
    description: str = ""
    source: str = "user"


_BUILTINS: tuple[SegmenterInfo, ...] = (
    SegmenterInfo(
        "classical",
        "wallthick.segment.classical:ClassicalSegmenter",
        ("numpy", "scipy", "skimage"),
        "Intensity/shape-based LV, myocardium and RV segmentation of contrast CT (CPU).",
        "builtin",
    ),
    SegmenterInfo(
        "labelmap",
        "wallthick.segment.labelmap:LabelMapSegmenter",
        ("SimpleITK",),
        "Reads an existing label map (NIfTI/NRRD/MHA or DICOM SEG) with a label mapping.",
        "builtin",
    ),
)

_REGISTRY: dict[str, SegmenterInfo] = {info.name: info for info in _BUILTINS}

#: What to tell a user whose options do not build a built-in segmenter.
_OPTION_HINTS = {
    "labelmap": (
        " It reads an existing segmentation: give it with 'wallthick measure SERIES --labels "
        "PATH' or 'wallthick batch INPUT --labels-root DIR' (API: path=..., mapping=...)."
    ),
}
_ENTRY_POINTS_LOADED = False


def register_segmenter(
    name: str,
    target: str,
    dependencies: tuple[str, ...] = (),
    description: str = "",
    *,
    replace: bool = False,
) -> SegmenterInfo:
    """Register a segmenter under ``name`` (imported lazily from ``target``).

    ``dependencies`` are importable module names checked before the import,
    so a missing one is reported by name. Prefer the entry-point group
    :data:`ENTRY_POINT_GROUP` for segmenters shipped in other packages.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Argument 'name' must be a non-empty string, got {name!r}.")
    if not isinstance(target, str) or target.count(":") != 1:
        raise ValueError(
            f"Argument 'target' must look like 'package.module:attribute', got {target!r}."
        )
    if name in _REGISTRY and not replace:
        raise ValueError(
            f"A segmenter named {name!r} is already registered ({_REGISTRY[name].target}); "
            "pass replace=True to override it."
        )
    info = SegmenterInfo(name, target, tuple(dependencies), description, "user")
    _REGISTRY[name] = info
    return info


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        known = _REGISTRY.get(ep.name)
        if known is not None:
            if known.target != ep.value:
                logger.warning(
                    "Segmenter entry point %r (%s) ignored: the name is already used by %s.",
                    ep.name,
                    ep.value,
                    known.target,
                )
            continue
        dist = getattr(ep, "dist", None)
        origin = f" from {dist.name}" if dist is not None else ""
        _REGISTRY[ep.name] = SegmenterInfo(
            ep.name, ep.value, (), f"third-party segmenter{origin}", "entry-point"
        )


def available_segmenters() -> tuple[str, ...]:
    """Names of all registered segmenters (built-in, entry points, user), sorted.

    A listed segmenter may still lack a dependency: see
    :func:`missing_dependencies`.

    Examples
    --------
    >>> {"classical", "labelmap"} <= set(available_segmenters())
    True
    """
    _load_entry_points()
    return tuple(sorted(_REGISTRY))


def segmenter_info(name: str) -> SegmenterInfo:
    """The registry entry of ``name``; ``ValueError`` listing the choices if unknown."""
    _load_entry_points()
    try:
        return _REGISTRY[name]
    except KeyError:
        choices = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"Unknown segmenter {name!r}; available segmenters: {choices}.") from None


def missing_dependencies(name: str) -> list[str]:
    """Declared dependencies of segmenter ``name`` that cannot be imported.

    Examples
    --------
    >>> missing_dependencies("classical")
    []
    """
    info = segmenter_info(name)
    return [dep for dep in info.dependencies if importlib.util.find_spec(dep) is None]


def _import_target(info: SegmenterInfo) -> Callable[..., Any]:
    missing = missing_dependencies(info.name)
    if missing:
        raise MissingDependencyError(f"The segmenter {info.name!r}", missing[0])
    module_name, _, attr = info.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        package = (exc.name or module_name).split(".")[0]
        raise MissingDependencyError(f"The segmenter {info.name!r}", package) from exc
    except ImportError as exc:
        raise SegmentationError(
            f"The segmenter {info.name!r} could not be imported from {info.target} ({exc})."
        ) from exc
    try:
        factory: Callable[..., Any] = getattr(module, attr)
    except AttributeError:
        raise SegmentationError(
            f"The segmenter {info.name!r} is registered as {info.target}, but module "
            f"{module_name!r} has no attribute {attr!r}."
        ) from None
    return factory


def get_segmenter(name: str, **options: Any) -> Segmenter:
    """Import and build the segmenter registered as ``name`` with ``options``.

    Raises
    ------
    ValueError
        ``name`` is not registered, or ``options`` do not fit its constructor
        (a missing or unknown option).
    MissingDependencyError
        A package the segmenter needs is not installed (the message names it).
    SegmentationError
        The registered object cannot be imported or does not behave like a
        :class:`Segmenter`.

    Examples
    --------
    >>> get_segmenter("classical").name
    'classical'
    """
    info = segmenter_info(name)
    factory = _import_target(info)
    try:
        segmenter = factory(**options)
    except TypeError as exc:  # missing or unknown options: say which, no raw TypeError
        given = ", ".join(sorted(options)) or "none"
        raise ValueError(
            f"The segmenter {name!r} cannot be built with the options given ({given}): {exc}."
            + _OPTION_HINTS.get(name, "")
        ) from exc
    if not isinstance(segmenter, Segmenter):
        raise SegmentationError(
            f"The segmenter {name!r} ({info.target}) built a {type(segmenter).__name__}, "
            "which has no 'name' attribute and 'segment(image)' method."
        )
    return segmenter


def segment_heart(
    image: ImageVolume, segmenter: str | Segmenter = "classical", **options: Any
) -> LabelVolume:
    """Segment the LV cavity, LV myocardium and RV blood pool of ``image``.

    Parameters
    ----------
    image : ImageVolume
        CT volume in HU.
    segmenter : str or Segmenter
        A registered name (see :func:`available_segmenters`) or a segmenter object.
    **options
        Passed to the segmenter's constructor (only with a name).

    Returns
    -------
    LabelVolume
        ``uint8`` labels on the grid of ``image``; ``metadata["segmenter"]``
        names the segmenter used.

    Raises
    ------
    SegmentationError
        No left ventricle was found, or the segmenter returned labels on a
        different grid.
    """
    if not isinstance(image, ImageVolume):
        raise TypeError(f"Argument 'image' must be an ImageVolume, got {type(image).__name__}.")
    if isinstance(segmenter, str):
        seg = get_segmenter(segmenter, **options)
    elif isinstance(segmenter, Segmenter):
        if options:
            raise ValueError("Options can only be given with a segmenter name, not an instance.")
        seg = segmenter
    else:
        raise TypeError(
            "Argument 'segmenter' must be a registered name or a Segmenter, "
            f"got {type(segmenter).__name__}."
        )
    labels = seg.segment(image)
    return _checked_output(labels, image, seg.name)


def _checked_output(labels: Any, image: ImageVolume, name: str) -> LabelVolume:
    if not isinstance(labels, LabelVolume):
        raise SegmentationError(
            f"The segmenter {name!r} returned {type(labels).__name__}, not a LabelVolume."
        )
    if not labels.geometry.same_grid(image.geometry, atol=1e-3):
        raise SegmentationError(
            f"The segmenter {name!r} returned labels on a grid {labels.shape} that differs "
            f"from the image grid {image.shape}; labels must be on the input image's grid."
        )
    array = labels.array if labels.array.dtype == np.uint8 else labels.array.astype(np.uint8)
    metadata = {"segmenter": name, **labels.metadata}
    return LabelVolume.from_geometry(array, image.geometry, metadata)
