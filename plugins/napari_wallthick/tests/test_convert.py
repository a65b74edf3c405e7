"""Layer <-> volume conversion, without napari."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from napari_wallthick._convert import (
    META_KEY,
    geometry_from_napari_affine,
    image_layer_data,
    labels_layer_data,
    lps_to_world,
    napari_affine,
    probe_shapes,
    thickness_layer_data,
    volume_from_layer,
    world_to_lps,
)
from wallthick import Geometry, ImageVolume, InvalidSeriesError, LabelVolume


def _oblique(reflect: bool = False) -> Geometry:
    direction = Rotation.from_euler("xyz", [20.0, -35.0, 50.0], degrees=True).as_matrix()
    if reflect:
        direction = direction @ np.diag([1.0, 1.0, -1.0])
    return Geometry((7, 5, 6), (2.5, 0.6, 0.8), (-120.5, 33.0, 410.25), direction)


@pytest.mark.parametrize("reflect", [False, True])
def test_affine_maps_index_to_lps_reversed(reflect: bool) -> None:
    g = _oblique(reflect)
    idx = np.array([[0, 0, 0], [6, 4, 5], [3.5, 1.25, 2.0]])
    world = (napari_affine(g) @ np.c_[idx, np.ones(3)].T).T[:, :3]
    np.testing.assert_allclose(world_to_lps(world), g.index_to_world(idx), atol=1e-9)
    np.testing.assert_allclose(lps_to_world(g.index_to_world(idx)), world, atol=1e-9)


@pytest.mark.parametrize("reflect", [False, True])
def test_geometry_round_trip_through_napari_affine(reflect: bool) -> None:
    g = _oblique(reflect)
    back = geometry_from_napari_affine(g.shape, napari_affine(g))
    assert back.same_grid(g, atol=1e-9)


def test_geometry_from_sheared_affine_is_refused() -> None:
    sheared = np.eye(4)
    sheared[0, 1] = 0.5
    with pytest.raises(ValueError, match="orthonormal"):
        geometry_from_napari_affine((2, 2, 2), sheared)


def test_image_layer_tuple_carries_geometry_and_round_trips() -> None:
    g = _oblique()
    image = ImageVolume.from_geometry(
        np.arange(210, dtype=np.float32).reshape(g.shape), g, {"series_instance_uid": "1.2.3"}
    )
    data, kwargs, kind = image_layer_data(image, "ct", {"series_folder": "/tmp/x"})
    assert kind == "image"
    assert kwargs["metadata"][META_KEY]["geometry"]["spacing_mm"] == [2.5, 0.6, 0.8]
    assert kwargs["metadata"][META_KEY]["source"]["series_instance_uid"] == "1.2.3"
    assert kwargs["metadata"][META_KEY]["series_folder"] == "/tmp/x"
    # from the stored metadata (the layer's own transform is ignored) ...
    vol = volume_from_layer(data, kwargs["metadata"], np.eye(4), "ct")
    assert vol.geometry.same_grid(g, atol=1e-9)
    np.testing.assert_array_equal(vol.array, image.array)
    # ... and from the affine alone
    vol2 = volume_from_layer(data, {}, kwargs["affine"], "ct")
    assert vol2.geometry.same_grid(g, atol=1e-9)


def test_labels_and_thickness_share_the_image_affine() -> None:
    g = _oblique(reflect=True)
    labels = LabelVolume.from_geometry(np.zeros(g.shape, np.uint8), g)
    _, lkw, lkind = labels_layer_data(labels, "seg")
    tdata, tkw, _ = thickness_layer_data(np.full(g.shape, np.nan, np.float32), g, "t")
    assert lkind == "labels"
    np.testing.assert_array_equal(lkw["affine"], napari_affine(g))
    np.testing.assert_array_equal(tkw["affine"], napari_affine(g))
    assert lkw["colormap"][2] == (0.20, 0.80, 0.30, 1.0)  # LV myocardium from LABEL_COLORS
    assert not np.isnan(tdata).any()


def test_labels_volume_from_layer() -> None:
    g = _oblique()
    arr = np.zeros(g.shape, np.int32)
    arr[2, 2, 2] = 2
    vol = volume_from_layer(arr, {}, napari_affine(g), "seg", labels=True)
    assert isinstance(vol, LabelVolume) and vol.array.dtype == np.uint8
    with pytest.raises(InvalidSeriesError, match="labels must be integers"):
        volume_from_layer(arr.astype(float), {}, napari_affine(g), "seg", labels=True)


def test_unknown_spacing_is_refused() -> None:
    with pytest.raises(InvalidSeriesError, match="Layer 'plain': the voxel spacing is unknown"):
        volume_from_layer(np.zeros((3, 3, 3)), {}, np.eye(4), "plain")
    with pytest.raises(InvalidSeriesError, match="spacing is unknown"):
        volume_from_layer(np.zeros((3, 3, 3)), {}, None, "plain")


def test_not_3d_and_wrong_shape_are_refused() -> None:
    with pytest.raises(InvalidSeriesError, match="needs a 3-D volume, got 2-D"):
        volume_from_layer(np.zeros((3, 3)), {}, None, "slice")
    g = _oblique()
    _, kwargs, _ = image_layer_data(ImageVolume.from_geometry(np.zeros(g.shape), g), "ct")
    with pytest.raises(InvalidSeriesError, match="does not match its stored geometry"):
        volume_from_layer(np.zeros((2, 2, 2)), kwargs["metadata"], None, "ct")


def test_probe_shapes_in_world_coordinates() -> None:
    probes = {
        "septal": np.array([[[1.0, 2.0, 3.0], [4.0, 5.0, 3.0]], [[np.nan, 0, 0], [0, 0, 0]]]),
        "posterior": np.zeros((0, 2, 3)),
    }
    lines, walls = probe_shapes(probes)
    assert walls == ["septal"]
    np.testing.assert_array_equal(lines[0], [[3.0, 2.0, 1.0], [3.0, 5.0, 4.0]])


def test_probes_crossing_a_slice_are_projected_onto_it() -> None:
    seg = np.array([[10.0, -3.0, 20.3], [14.0, 5.0, 26.9]])  # LPS, 6.6 mm along S
    for s_mm in (19.9, 20.3, 23.0, 26.9, 27.3):
        lines, walls = probe_shapes({"posterior": seg[None]}, slice_s=s_mm)
        assert walls == ["posterior"]
        np.testing.assert_allclose(lines[0][:, 0], [s_mm, s_mm])  # on the displayed plane
        np.testing.assert_allclose(lines[0][:, 1:], seg[:, 1::-1])  # whole, in-plane exact
    for s_mm in (19.7, 27.5):
        assert probe_shapes({"posterior": seg[None]}, slice_s=s_mm) == ([], [])
