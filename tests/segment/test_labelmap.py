"""The labelmap segmenter: NIfTI and DICOM SEG inputs, mappings, resampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from wallthick.errors import SegmentationError
from wallthick.io import write_dicom_series
from wallthick.labels import Label
from wallthick.segment import get_segmenter, segment_heart
from wallthick.segment.labelmap import LabelMapSegmenter, load_label_mapping, resample_labels
from wallthick.volume import Geometry, ImageVolume, LabelVolume


def _rotation(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], float)


def _sphere_labels(
    geom: Geometry, inner: int, outer: int, r_in: float = 8.0, r_out: float = 12.0
) -> np.ndarray:
    """Two concentric spheres about LPS (0, 0, 0): ``inner`` inside, ``outer`` in the shell."""
    idx = np.indices(geom.shape).reshape(3, -1).T
    r = np.linalg.norm(geom.index_to_world(idx), axis=1).reshape(geom.shape)
    out = np.zeros(geom.shape, np.uint8)
    out[r < r_out] = outer
    out[r < r_in] = inner
    return out


@pytest.fixture
def image() -> ImageVolume:
    """A small oblique, anisotropic CT grid centred on the LPS origin."""
    spacing = np.array([2.0, 0.8, 0.8])
    shape = (16, 40, 40)
    direction = _rotation(10.0)
    origin = -direction @ (spacing * (np.array(shape) - 1) / 2)
    return ImageVolume(np.zeros(shape, np.int16), spacing, origin, direction)


def _write_nifti(path: Path, values: np.ndarray, geom: Geometry) -> None:
    sitk.WriteImage(LabelVolume.from_geometry(values, geom).to_sitk(), str(path))


def test_nifti_totalsegmentator_values_resampled(tmp_path: Path, image: ImageVolume) -> None:
    # TotalSegmentator heartchambers values on another (axis-aligned, 1 mm) grid
    src_geom = Geometry((40, 40, 40), (1.0, 1.0, 1.0), (-19.5, -19.5, -19.5), np.eye(3))
    _write_nifti(tmp_path / "ts.nii.gz", _sphere_labels(src_geom, inner=3, outer=1), src_geom)
    labels = segment_heart(
        image, "labelmap", path=tmp_path / "ts.nii.gz", mapping="totalsegmentator"
    )
    assert labels.geometry.same_grid(image.geometry)
    expected = _sphere_labels(image.geometry, int(Label.LV_BLOOD_POOL), int(Label.LV_MYOCARDIUM))
    for lab in (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM):  # nearest neighbour: edges differ
        a, b = labels.array == lab, expected == lab
        assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.9
        assert labels.volume_ml(lab) == pytest.approx(
            b.sum() * image.geometry.voxel_volume_mm3 / 1e3, rel=0.08
        )
    assert labels.metadata["labels_present"] == ["LV_BLOOD_POOL", "LV_MYOCARDIUM"]


def test_same_grid_custom_mapping(tmp_path: Path, image: ImageVolume) -> None:
    values = _sphere_labels(image.geometry, inner=7, outer=9)
    _write_nifti(tmp_path / "manual.nrrd", values, image.geometry)
    seg = LabelMapSegmenter(
        tmp_path / "manual.nrrd", mapping={7: "LV_BLOOD_POOL", 9: Label.LV_MYOCARDIUM}
    )
    labels = seg.segment(image)
    assert np.array_equal(labels.array == Label.LV_BLOOD_POOL, values == 7)
    assert np.array_equal(labels.array == Label.LV_MYOCARDIUM, values == 9)


def test_mask_folder_by_structure_name(tmp_path: Path, image: ImageVolume) -> None:
    values = _sphere_labels(image.geometry, inner=1, outer=2)
    folder = tmp_path / "ts"
    folder.mkdir()
    _write_nifti(
        folder / "heart_ventricle_left.nii.gz", (values == 1).astype(np.uint8), image.geometry
    )
    _write_nifti(folder / "heart_myocardium.nii.gz", (values == 2).astype(np.uint8), image.geometry)
    labels = get_segmenter("labelmap", path=folder, mapping="totalsegmentator").segment(image)
    assert np.array_equal(labels.array, values)


def test_errors(tmp_path: Path, image: ImageVolume) -> None:
    with pytest.raises(SegmentationError, match="label map not found"):
        LabelMapSegmenter(tmp_path / "missing.nii.gz").segment(image)
    with pytest.raises(ValueError, match="Argument 'mapping' must be a mapping or one of"):
        LabelMapSegmenter("x.nii.gz", mapping="nnunet")
    values = np.full(image.shape, 42, np.uint8)
    _write_nifti(tmp_path / "other.nii.gz", values, image.geometry)
    with (
        pytest.warns(UserWarning, match=r"values 42 not in the label mapping 'wallthick'"),
        pytest.raises(
            SegmentationError,
            match=r"no LV_MYOCARDIUM and no LV_BLOOD_POOL under the label mapping "
            r"'wallthick' \(found values: 42\)",
        ),
    ):
        LabelMapSegmenter(tmp_path / "other.nii.gz").segment(image)
    (tmp_path / "junk.nii.gz").write_bytes(b"not an image at all")
    with pytest.raises(SegmentationError, match="junk.nii.gz: cannot read the label map"):
        LabelMapSegmenter(tmp_path / "junk.nii.gz").segment(image)


def test_unmapped_values_warn_and_known_background_is_silent(
    tmp_path: Path, image: ImageVolume
) -> None:
    values = _sphere_labels(image.geometry, inner=3, outer=1)  # TotalSegmentator LV, myocardium
    values[:2] = 4  # right atrium: in the preset as background, no warning
    _write_nifti(tmp_path / "ts.nii.gz", values, image.geometry)
    labels = LabelMapSegmenter(tmp_path / "ts.nii.gz", mapping="totalsegmentator").segment(image)
    assert labels.metadata["labels_present"] == ["LV_BLOOD_POOL", "LV_MYOCARDIUM"]
    values[-2:] = 9
    _write_nifti(tmp_path / "ts9.nii.gz", values, image.geometry)
    with pytest.warns(UserWarning, match=r"ts9.nii.gz: values 9 not in the label mapping"):
        LabelMapSegmenter(tmp_path / "ts9.nii.gz", mapping="totalsegmentator").segment(image)


def test_misplaced_map_names_both_files(tmp_path: Path, image: ImageVolume) -> None:
    geom = image.geometry
    far = Geometry(geom.shape, geom.spacing_mm, geom.origin_mm + 300.0, geom.direction)
    _write_nifti(tmp_path / "far.nii.gz", _sphere_labels(geom, inner=1, outer=2), far)
    ct = image.with_array(image.array, source_path="series/ct")
    with pytest.raises(
        SegmentationError,
        match=r"far.nii.gz does not overlap series/ct in patient space: 0 % of its LV myocardium",
    ):
        LabelMapSegmenter(tmp_path / "far.nii.gz").segment(ct)


def test_label_mapping_from_json(tmp_path: Path, image: ImageVolume) -> None:
    path = tmp_path / "slicer.json"
    path.write_text('{"7": "lv_blood_pool", "9": "LV_MYOCARDIUM", "12": "BACKGROUND"}')
    mapping = load_label_mapping(path)
    assert mapping == {7: Label.LV_BLOOD_POOL, 9: Label.LV_MYOCARDIUM, 12: Label.BACKGROUND}
    values = _sphere_labels(image.geometry, inner=7, outer=9)
    _write_nifti(tmp_path / "manual.nii.gz", values, image.geometry)
    labels = LabelMapSegmenter(tmp_path / "manual.nii.gz", mapping=mapping).segment(image)
    assert np.array_equal(labels.array == Label.LV_MYOCARDIUM, values == 9)
    assert load_label_mapping("wallthick") == "wallthick"
    path.write_text('{"7": "LV_CAVITY"}')
    with pytest.raises(ValueError, match=r"slicer.json: .*'LV_CAVITY' is not a wallthick label"):
        load_label_mapping(path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="slicer.json: a label mapping must be a non-empty JSON"):
        load_label_mapping(path)
    with pytest.raises(ValueError, match="neither a preset .* nor a JSON file"):
        load_label_mapping(tmp_path / "nothing.json")


def test_labelmap_without_path_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"segmenter 'labelmap' cannot be built .*--labels PATH"):
        get_segmenter("labelmap")


def test_resample_labels_through_world_geometry() -> None:
    src = LabelVolume(np.zeros((3, 3, 3), np.uint8), (1, 1, 1), (0, 0, 0), np.eye(3))
    src.array[1, 1, 1] = 5
    # the target grid is flipped along its first axis: index 0 is LPS z = 2
    flipped = Geometry((3, 3, 3), (1, 1, 1), (2, 0, 0), np.diag([-1.0, 1.0, 1.0]))
    assert resample_labels(src, flipped)[1, 1, 1] == 5
    shifted = Geometry((3, 3, 3), (1, 1, 1), (1, 0, 0), np.eye(3))
    assert resample_labels(src, shifted)[0, 1, 1] == 5


def test_dicom_seg_by_segment_label(tmp_path: Path) -> None:
    hd = pytest.importorskip("highdicom")
    spacing = np.array([2.0, 1.0, 1.0])
    shape = (6, 32, 32)
    axial = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # slice axis = z
    origin = -axial @ (spacing * (np.array(shape) - 1) / 2)
    ct = ImageVolume(np.zeros(shape, np.int16), spacing, origin, axial)
    files = write_dicom_series(ct, tmp_path / "ct", info={"patient_name": "Test^Phantom"})
    sources = sorted(
        (pydicom.dcmread(f) for f in files), key=lambda d: float(d.ImagePositionPatient[2])
    )
    values = _sphere_labels(ct.geometry, inner=1, outer=2, r_in=5.0, r_out=9.0)
    descs = []
    for number, name in ((1, "heart_ventricle_left"), (2, "heart_myocardium")):
        descs.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=name,
                segmented_property_category=hd.sr.CodedConcept(
                    "91723000", "SCT", "Anatomical Structure"
                ),
                segmented_property_type=hd.sr.CodedConcept("80891009", "SCT", "Heart"),
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
        )
    order = [
        int(round((float(d.ImagePositionPatient[2]) - origin[2]) / spacing[0])) for d in sources
    ]
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=values[order],
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descs,
        series_instance_uid=hd.UID(),
        series_number=99,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="wallthick-tests",
        manufacturer_model_name="test",
        software_versions="0",
        device_serial_number="0",
    )
    seg.save_as(tmp_path / "seg.dcm")
    labels = LabelMapSegmenter(tmp_path / "seg.dcm", mapping="totalsegmentator").segment(ct)
    expected = _sphere_labels(
        ct.geometry, int(Label.LV_BLOOD_POOL), int(Label.LV_MYOCARDIUM), 5.0, 9.0
    )
    assert np.array_equal(labels.array, expected)
