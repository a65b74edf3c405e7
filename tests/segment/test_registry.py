"""Segmenter registry: names, lazy imports, entry points, missing dependencies."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator

import numpy as np
import pytest

from wallthick.errors import MissingDependencyError, SegmentationError
from wallthick.labels import Label
from wallthick.segment import (
    available_segmenters,
    get_segmenter,
    missing_dependencies,
    register_segmenter,
    segment_heart,
    segmenter_info,
)
from wallthick.segment import registry as reg
from wallthick.volume import ImageVolume, LabelVolume


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(reg, "_REGISTRY", dict(reg._REGISTRY))
    monkeypatch.setattr(reg, "_ENTRY_POINTS_LOADED", False)
    yield


def _image(shape: tuple[int, int, int] = (4, 5, 6)) -> ImageVolume:
    return ImageVolume(np.zeros(shape, np.float32), (2.0, 1.0, 1.0), (0, 0, 0), np.eye(3))


class FakeSegmenter:
    """A minimal third-party segmenter used through an entry point."""

    name = "fake"

    def __init__(self, value: int = int(Label.LV_BLOOD_POOL), shape: tuple[int, ...] | None = None):
        self.value = value
        self.shape = shape

    def segment(self, image: ImageVolume) -> LabelVolume:
        shape = self.shape or image.shape
        arr = np.full(shape, self.value, np.int16)
        return LabelVolume(arr, image.spacing_mm, image.origin_mm, image.direction)


def test_builtins_are_listed() -> None:
    names = available_segmenters()
    assert {"classical", "labelmap"} <= set(names)
    assert list(names) == sorted(names)
    assert segmenter_info("classical").source == "builtin"
    assert missing_dependencies("labelmap") == []


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(
        ValueError, match=r"Unknown segmenter 'nope'; available segmenters: .*classical"
    ):
        get_segmenter("nope")


def test_bad_registration_arguments() -> None:
    with pytest.raises(ValueError, match="must look like 'package.module:attribute'"):
        register_segmenter("x", "no_colon_here")
    with pytest.raises(ValueError, match="already registered"):
        register_segmenter("classical", "a.b:C")


def test_missing_declared_dependency_is_named() -> None:
    register_segmenter(
        "needs-torch", "wallthick.segment.labelmap:LabelMapSegmenter", ("torch_not_here_xyz",)
    )
    assert missing_dependencies("needs-torch") == ["torch_not_here_xyz"]
    with pytest.raises(
        MissingDependencyError, match=r"'needs-torch' requires the package 'torch_not_here_xyz'"
    ):
        get_segmenter("needs-torch", path="x.nii.gz")


def test_missing_module_is_named() -> None:
    register_segmenter("ghost", "ghostpkg_xyz.segment:Net")
    with pytest.raises(
        MissingDependencyError,
        match=r"requires the package 'ghostpkg_xyz'.*pip install ghostpkg_xyz",
    ):
        get_segmenter("ghost")


def test_missing_attribute_is_a_segmentation_error() -> None:
    register_segmenter("typo", "wallthick.segment.labelmap:NoSuchClass")
    with pytest.raises(SegmentationError, match="has no attribute 'NoSuchClass'"):
        get_segmenter("typo")


def test_entry_point_discovery_and_use(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = importlib.metadata.EntryPoint(
        name="fake", value=f"{__name__}:FakeSegmenter", group=reg.ENTRY_POINT_GROUP
    )

    def fake_entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
        return [ep] if group == reg.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(reg.importlib.metadata, "entry_points", fake_entry_points)
    assert "fake" in available_segmenters()
    assert segmenter_info("fake").source == "entry-point"
    labels = segment_heart(_image(), "fake", value=int(Label.LV_MYOCARDIUM))
    assert labels.array.dtype == np.uint8
    assert labels.metadata["segmenter"] == "fake"
    assert np.all(labels.array == Label.LV_MYOCARDIUM)


def test_instance_and_wrong_grid() -> None:
    image = _image()
    assert segment_heart(image, FakeSegmenter()).array.sum() == image.array.size
    with pytest.raises(SegmentationError, match="differs from the image grid"):
        segment_heart(image, FakeSegmenter(shape=(2, 2, 2)))
    with pytest.raises(ValueError, match="Options can only be given with a segmenter name"):
        segment_heart(image, FakeSegmenter(), value=1)
    with pytest.raises(TypeError, match="Argument 'image' must be an ImageVolume"):
        segment_heart(np.zeros((2, 2, 2)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Argument 'segmenter' must be a registered name"):
        segment_heart(image, 3)  # type: ignore[arg-type]


def test_not_a_segmenter() -> None:
    register_segmenter("bad", "builtins:dict")
    with pytest.raises(SegmentationError, match="has no 'name' attribute"):
        get_segmenter("bad")
