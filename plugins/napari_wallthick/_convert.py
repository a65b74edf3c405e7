"""Conversion between napari layers and wallthick volumes (no napari import).

World coordinates
-----------------
Every layer this plugin makes lives in one world frame: patient LPS millimetres
with the axes listed in the order **(S, P, L)** — LPS reversed, the same
reversal as numpy vs ITK. napari displays the last two world axes, so an axial
scan shows with anterior up and the patient's left on the right of the screen
(radiological convention) and the dims slider moves along S.

An :class:`~wallthick.volume.ImageVolume` has axes ``(slice, row, column)`` and
``affine`` maps an index to LPS; the napari affine of a layer is that matrix
with its first three rows reversed (:func:`napari_affine`). Oblique and
reflected grids are carried exactly, and the Image, Labels and thickness layers
of one scan share the same affine so they overlay voxel for voxel.

The full geometry also goes into ``layer.metadata["wallthick"]`` (JSON-able) so
it survives even if someone edits the layer's transform.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from wallthick import Geometry, ImageVolume, InvalidSeriesError, Label, LabelVolume
from wallthick.labels import LABEL_COLORS

__all__ = [
    "META_KEY",
    "THICKNESS_RANGE_MM",
    "WORLD_AXES",
    "geometry_from_metadata",
    "geometry_from_napari_affine",
    "geometry_metadata",
    "image_layer_data",
    "label_colormap",
    "labels_layer_data",
    "lps_to_world",
    "napari_affine",
    "probe_shapes",
    "thickness_colormap",
    "thickness_layer_data",
    "volume_from_layer",
    "world_to_lps",
]

#: Key of this plugin's entry in ``layer.metadata``.
META_KEY = "wallthick"
#: Names of the napari world axes (LPS, reversed).
WORLD_AXES: tuple[str, str, str] = ("S", "P", "L")

# Reverses the order of the three spatial rows of a homogeneous 4x4 matrix.
_REVERSE = np.eye(4)[[2, 1, 0, 3]]
#: Upper end (mm) of the thickness colour scale.
THICKNESS_RANGE_MM = 20.0
_IDENTITY_TOL = 1e-9


def napari_affine(geometry: Geometry) -> npt.NDArray[np.float64]:
    """The 4x4 napari affine (data index -> world ``(S, P, L)`` mm) of a grid.

    Examples
    --------
    >>> g = Geometry((2, 3, 4), (2.0, 0.5, 0.7), (10.0, 20.0, 30.0), np.eye(3))
    >>> napari_affine(g)[:3].tolist()
    [[0.0, 0.0, 0.7, 30.0], [0.0, 0.5, 0.0, 20.0], [2.0, 0.0, 0.0, 10.0]]
    """
    return _REVERSE @ geometry.affine


def geometry_from_napari_affine(shape: tuple[int, ...], affine: npt.ArrayLike) -> Geometry:
    """Inverse of :func:`napari_affine`: the grid of a layer from its 4x4 affine.

    Raises
    ------
    ValueError
        The matrix is not 4x4, or its columns are not orthogonal (a sheared
        layer cannot be described as an ImageVolume).

    Examples
    --------
    >>> g = Geometry((2, 3, 4), (2.0, 0.5, 0.7), (1.0, 2.0, 3.0), np.eye(3)[:, [1, 0, 2]])
    >>> geometry_from_napari_affine(g.shape, napari_affine(g)).same_grid(g)
    True
    """
    matrix = np.asarray(affine, dtype=np.float64)
    if matrix.shape != (4, 4):
        raise ValueError(f"Argument 'affine' must be a 4x4 matrix, got shape {matrix.shape}.")
    lps = _REVERSE @ matrix
    linear = lps[:3, :3]
    spacing = np.linalg.norm(linear, axis=0)
    if np.any(spacing <= 0):
        raise ValueError(f"Argument 'affine' has a zero-length axis: {matrix.tolist()}.")
    return Geometry(tuple(int(s) for s in shape), spacing, lps[:3, 3], linear / spacing)  # type: ignore[arg-type]


def lps_to_world(points_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """LPS points ``(..., 3)`` to napari world coordinates ``(..., 3)`` (S, P, L).

    >>> lps_to_world([1.0, 2.0, 3.0]).tolist()
    [3.0, 2.0, 1.0]
    """
    return np.asarray(points_mm, dtype=np.float64)[..., ::-1].copy()


def world_to_lps(points: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """napari world coordinates ``(..., 3)`` to LPS mm (inverse of :func:`lps_to_world`)."""
    return np.asarray(points, dtype=np.float64)[..., ::-1].copy()


def geometry_metadata(geometry: Geometry) -> dict[str, Any]:
    """The JSON-able description of a grid stored in ``layer.metadata``."""
    return {
        "shape": list(geometry.shape),
        "spacing_mm": geometry.spacing_mm.tolist(),
        "origin_mm": geometry.origin_mm.tolist(),
        "direction": geometry.direction.tolist(),
        "axes": ["slice", "row", "column"],
        "world_axes": list(WORLD_AXES),
        "frame": "LPS",
    }


def geometry_from_metadata(metadata: Mapping[str, Any]) -> Geometry | None:
    """The grid stored by this plugin in a layer's metadata, or None."""
    entry = metadata.get(META_KEY)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("geometry"), Mapping):
        return None
    g = entry["geometry"]
    return Geometry(tuple(g["shape"]), g["spacing_mm"], g["origin_mm"], g["direction"])


def volume_from_layer(
    data: Any,
    metadata: Mapping[str, Any],
    affine: npt.ArrayLike | None,
    name: str = "layer",
    *,
    labels: bool = False,
) -> ImageVolume | LabelVolume:
    """Rebuild the wallthick volume behind a napari Image or Labels layer.

    The geometry comes from the layer's wallthick metadata when present, else
    from its data->world affine (assumed to be in this plugin's (S, P, L)
    world). A layer whose transform is the identity and that carries no
    wallthick metadata has **unknown spacing** and is refused: a wall
    thickness in "pixels" would be silently wrong.

    Parameters
    ----------
    data : array_like
        The layer's 3-D data (slice, row, column).
    metadata : mapping
        ``layer.metadata``.
    affine : array_like, shape (4, 4), or None
        The layer's full data->world matrix (scale, translate, rotate, affine
        composed), or None when unknown.
    name : str
        Layer name, for messages.
    labels : bool
        Return a :class:`LabelVolume` (integer data) instead of an image.

    Raises
    ------
    InvalidSeriesError
        Not 3-D, spacing unknown, or the stored geometry does not fit the data.

    Examples
    --------
    >>> g = Geometry((2, 2, 2), (2.0, 1.0, 1.0), (0, 0, 0), np.eye(3))
    >>> vol = volume_from_layer(np.zeros((2, 2, 2)), {}, napari_affine(g))
    >>> vol.spacing_mm.tolist()
    [2.0, 1.0, 1.0]
    >>> volume_from_layer(np.zeros((2, 2, 2)), {}, np.eye(4), "scan")
    Traceback (most recent call last):
    ...
    wallthick.errors.InvalidSeriesError: Layer 'scan': the voxel spacing is unknown ...
    """
    array = np.asarray(data)
    if array.ndim != 3:
        raise InvalidSeriesError(
            f"Layer '{name}': wall thickness needs a 3-D volume, got {array.ndim}-D data "
            f"of shape {array.shape}."
        )
    geometry = _layer_geometry(array.shape, metadata, affine, name)
    source = dict(metadata.get(META_KEY, {}).get("source", {}))
    if labels:
        if not np.issubdtype(array.dtype, np.integer):
            raise InvalidSeriesError(f"Layer '{name}': labels must be integers, got {array.dtype}.")
        return LabelVolume.from_geometry(array.astype(np.uint8, copy=True), geometry, source)
    return ImageVolume.from_geometry(array, geometry, source)


def _layer_geometry(
    shape: tuple[int, ...],
    metadata: Mapping[str, Any],
    affine: npt.ArrayLike | None,
    name: str,
) -> Geometry:
    try:
        stored = geometry_from_metadata(metadata)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidSeriesError(
            f"Layer '{name}': its stored geometry is invalid ({exc})."
        ) from exc
    if stored is not None:
        if stored.shape != tuple(shape):
            raise InvalidSeriesError(
                f"Layer '{name}': data shape {tuple(shape)} does not match its stored "
                f"geometry {stored.shape}; reopen the scan with the wallthick reader."
            )
        return stored
    matrix = None if affine is None else np.asarray(affine, dtype=np.float64)
    if matrix is None or np.allclose(matrix, np.eye(4), atol=_IDENTITY_TOL):
        raise InvalidSeriesError(
            f"Layer '{name}': the voxel spacing is unknown (no geometry in the layer). "
            "Open the scan with the wallthick reader (File > Open, choose napari-wallthick) "
            "so that spacing, origin and orientation are known."
        )
    try:
        return geometry_from_napari_affine(shape, matrix)
    except ValueError as exc:
        raise InvalidSeriesError(f"Layer '{name}': unusable layer transform ({exc}).") from exc


def _layer_metadata(geometry: Geometry, kind: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    entry = {"kind": kind, "geometry": geometry_metadata(geometry), **extra}
    return {META_KEY: entry}


def _common_kwargs(geometry: Geometry) -> dict[str, Any]:
    return {"affine": napari_affine(geometry), "axis_labels": WORLD_AXES, "units": "mm"}


def image_layer_data(
    image: ImageVolume, name: str, extra: Mapping[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any], str]:
    """A napari LayerDataTuple for a CT volume (grey, soft-tissue window)."""
    source = _jsonable_source(image.metadata)
    kwargs = {
        **_common_kwargs(image.geometry),
        "name": name,
        "colormap": "gray",
        "contrast_limits": _ct_window(image.array),
        "metadata": _layer_metadata(image.geometry, "image", {"source": source, **(extra or {})}),
    }
    return image.array, kwargs, "image"


def label_colormap() -> dict[int | None, tuple[float, float, float, float]]:
    """``{label value: RGBA}`` for napari's ``DirectLabelColormap`` (from LABEL_COLORS)."""
    colors: dict[int | None, tuple[float, float, float, float]] = {
        int(k): v for k, v in LABEL_COLORS.items()
    }
    colors[None] = (0.6, 0.6, 0.6, 1.0)  # any value wallthick does not define
    return colors


def labels_layer_data(
    labels: LabelVolume, name: str, extra: Mapping[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any], str]:
    """A napari LayerDataTuple for a segmentation (colours from LABEL_COLORS)."""
    kwargs = {
        **_common_kwargs(labels.geometry),
        "name": name,
        "opacity": 0.45,
        "colormap": label_colormap(),
        "metadata": _layer_metadata(labels.geometry, "labels", dict(extra or {})),
        "features": {"index": [int(v) for v in Label], "name": [v.name for v in Label]},
    }
    return np.asarray(labels.array, dtype=np.uint8), kwargs, "labels"


def thickness_layer_data(
    thickness_mm: npt.NDArray[np.floating[Any]], geometry: Geometry, name: str
) -> tuple[np.ndarray, dict[str, Any], str]:
    """A napari LayerDataTuple showing wall thickness (mm) as colour.

    NaN (off the myocardium) becomes 0, which :func:`thickness_colormap`
    draws transparent.
    """
    data = np.nan_to_num(np.asarray(thickness_mm, dtype=np.float32), nan=0.0)
    kwargs = {
        **_common_kwargs(geometry),
        "name": name,
        "contrast_limits": (0.0, THICKNESS_RANGE_MM),
        "colormap": thickness_colormap(),
        "blending": "translucent",
        "interpolation2d": "nearest",
        "metadata": _layer_metadata(geometry, "thickness", {"units": "mm"}),
    }
    return data, kwargs, "image"


def thickness_colormap() -> dict[str, Any]:
    """A turbo colormap over 0-THICKNESS_RANGE_MM mm whose zero is transparent."""
    from matplotlib import colormaps

    n = 64
    colors = np.asarray(colormaps["turbo"](np.linspace(0.0, 1.0, n)), dtype=np.float64)
    controls = np.linspace(0.0, 1.0, n)
    # a transparent step at 0 so that "no myocardium" shows the CT underneath
    colors = np.vstack([[0.0, 0.0, 0.0, 0.0], colors])
    controls = np.concatenate([[0.0], [1e-3], controls[1:]])
    return {"colors": colors, "controls": controls, "name": "wallthick_thickness"}


def probe_shapes(
    probes: Mapping[str, npt.ArrayLike],
    slice_s: float | None = None,
    tolerance_mm: float = 0.5,
) -> tuple[list[npt.NDArray[np.float64]], list[str]]:
    """The septal/posterior probes as napari line shapes in world coordinates.

    napari draws a shape on a 2-D slice only when the whole shape lies in that
    slice, and a probe (perpendicular to an oblique wall) crosses several
    axial slices. So for a 2-D view (``slice_s`` given) the probes that cross
    the plane ``S = slice_s`` (within ``tolerance_mm``) are returned projected
    along S onto it — the analyst sees each probe whole on every slice it
    passes through; for the 3-D view (``slice_s=None``) the true lines.

    Parameters
    ----------
    probes : mapping
        ``MeasurementResult.probes``: name -> ``(n, 2, 3)`` LPS segments.
    slice_s : float, optional
        World S (mm) of the displayed axial plane; None for the 3-D lines.
    tolerance_mm : float
        How far (mm) beyond its ends a probe still counts as crossing.

    Returns
    -------
    lines : list of (2, 3) arrays
        Lines in (S, P, L) world coordinates.
    walls : list of str
        The probe name of each line.

    Examples
    --------
    >>> probes = {"septal": [[[1, 2, 3], [4, 5, 6]]], "posterior": [[[0, 0, 9], [1, 1, 9]]]}
    >>> lines, walls = probe_shapes(probes)
    >>> lines[0].tolist(), walls
    ([[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]], ['septal', 'posterior'])
    >>> lines, walls = probe_shapes(probes, slice_s=4.0)
    >>> lines[0].tolist(), walls
    ([[4.0, 2.0, 1.0], [4.0, 5.0, 4.0]], ['septal'])
    """
    lines: list[npt.NDArray[np.float64]] = []
    walls: list[str] = []
    for wall, segs in probes.items():
        for seg in np.asarray(segs, dtype=np.float64).reshape(-1, 2, 3):
            if not np.all(np.isfinite(seg)):
                continue
            line = lps_to_world(seg)
            if slice_s is not None:
                lo, hi = line[:, 0].min(), line[:, 0].max()
                if not (lo - tolerance_mm <= slice_s <= hi + tolerance_mm):
                    continue
                line[:, 0] = slice_s
            lines.append(line)
            walls.append(str(wall))
    return lines, walls


def _ct_window(array: np.ndarray) -> tuple[float, float]:
    """A soft-tissue/contrast window, clipped to the data range."""
    lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return (0.0, 1.0)
    if lo < -200 and hi > 300:  # looks like HU
        return (-200.0, 700.0)
    return (lo, hi)


def _jsonable_source(metadata: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[str(key)] = value
        elif isinstance(value, (list, tuple)) and all(
            isinstance(v, (str, int, float, bool)) for v in value
        ):
            out[str(key)] = list(value)
    return out
