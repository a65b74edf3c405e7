"""Speed and memory of the classical segmenter on a full-size phantom.

Generates (once, cached as NIfTI) the phantom ``random_spec(seed, "full")``:
512 x 512 pixels x 300 slices at 0.4 x 0.4 x 0.5 mm. Then, in a fresh
subprocess, loads it and times ``segment_heart`` alone, printing the wall
time, the peak resident memory of the process before and after segmenting,
and the LV volumes against the phantom's truth labels.

With ``--real-ct DATA`` it instead segments the real CTA in
``DATA/real/chest_cta`` (both crops, and copies rotated a few degrees and
resampled to 1.2 x 1.2 x 2 mm), prints volumes, Dice between the runs and
times, and with ``--figure PNG`` saves axial and short-axis views with the
contours.

Usage::

    .venv/bin/python benchmarks/bench_segment.py [--cache /tmp/wallthick_bench_segment] [--seed 11]
    .venv/bin/python benchmarks/bench_segment.py --real-ct ../shared/data \
        --figure docs/img/segmentation_real_ct.png
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _prepare(cache: Path, seed: int) -> Path:
    folder = cache / f"phantom_full_{seed}"
    if (folder / "labels.nii.gz").exists():
        return folder
    import SimpleITK as sitk

    from wallthick.phantom import generate_phantom, random_spec

    folder.mkdir(parents=True, exist_ok=True)
    case = generate_phantom(random_spec(seed, "full"))
    sitk.WriteImage(case.image.to_sitk(), str(folder / "image.nii.gz"))
    sitk.WriteImage(case.labels.to_sitk(), str(folder / "labels.nii.gz"))
    return folder


def _child(folder: Path) -> dict[str, float]:
    import numpy as np
    import SimpleITK as sitk

    from wallthick.labels import Label
    from wallthick.segment import segment_heart
    from wallthick.volume import ImageVolume, LabelVolume

    image = ImageVolume.from_sitk(sitk.ReadImage(str(folder / "image.nii.gz")))
    truth = LabelVolume.from_sitk(sitk.ReadImage(str(folder / "labels.nii.gz")))
    before = _peak_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    labels = segment_heart(image)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    out: dict[str, float] = {
        "cpu_seconds": cpu,
        "shape": list(image.shape),  # type: ignore[dict-item]
        "seconds": seconds,
        "peak_rss_mb_before": before,
        "peak_rss_mb_after": _peak_mb(),
        "image_mb": image.array.nbytes / 2**20,
    }
    for lab in (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM, Label.RV_BLOOD_POOL):
        a, b = labels.array == lab, truth.array == lab
        out[f"{lab.name}_dice"] = float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))
        out[f"{lab.name}_ml"] = labels.volume_ml(lab)
        out[f"{lab.name}_truth_ml"] = truth.volume_ml(lab)
    del np
    return out


def _rotated(image: object, angles_deg: tuple[float, float, float]) -> object:
    import numpy as np
    import SimpleITK as sitk
    from scipy.spatial.transform import Rotation

    from wallthick.volume import ImageVolume

    assert isinstance(image, ImageVolume)
    src = sitk.Cast(image.to_sitk(), sitk.sitkFloat32)
    spacing = np.array([1.2, 1.2, 2.0])
    size = np.ceil(np.array(src.GetSize()) * np.array(src.GetSpacing()) / spacing).astype(int)
    direction = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix()
    centre = np.array(
        src.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in src.GetSize()])
    )
    ref = sitk.Image([int(n) for n in size], sitk.sitkFloat32)
    ref.SetSpacing(tuple(float(x) for x in spacing))
    ref.SetDirection(tuple(direction.ravel()))
    ref.SetOrigin(tuple(centre - direction @ ((size - 1) / 2 * spacing)))
    return ImageVolume.from_sitk(
        sitk.Resample(src, ref, sitk.Transform(), sitk.sitkLinear, -1000.0)
    )


def _real_ct(data: Path, figure: Path | None) -> None:
    import numpy as np
    import SimpleITK as sitk

    from wallthick.labels import Label
    from wallthick.segment import segment_heart
    from wallthick.segment.labelmap import resample_labels
    from wallthick.volume import ImageVolume

    folder = data / "real" / "chest_cta"
    runs = {}
    for name in ("ct_heart_crop", "ct_aorta_crop"):
        path = folder / f"{name}.nii.gz"
        runs[name] = ImageVolume.from_sitk(sitk.ReadImage(str(path)), {"source_path": str(path)})
    ref_image = runs["ct_heart_crop"]
    runs["rotated (4,-3,5) deg, 1.2x1.2x2 mm"] = _rotated(ref_image, (4.0, -3.0, 5.0))  # type: ignore[assignment]
    runs["rotated (-5,4,-3) deg, 1.2x1.2x2 mm"] = _rotated(ref_image, (-5.0, 4.0, -3.0))  # type: ignore[assignment]
    ref = None
    for name, image in runs.items():
        t0 = time.perf_counter()
        labels = segment_heart(image)
        seconds = time.perf_counter() - t0
        if ref is None:
            ref = labels
        mapped = resample_labels(labels, ref.geometry)
        dice = {}
        for lab in (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM, Label.RV_BLOOD_POOL):
            a, b = mapped == lab, ref.array == lab
            dice[lab.name] = 2 * (a & b).sum() / max(1, a.sum() + b.sum())
        m = labels.metadata
        print(
            f"{name}: {seconds:.1f} s, cavity {labels.volume_ml(Label.LV_BLOOD_POOL):.1f} ml, "
            f"myocardium {labels.volume_ml(Label.LV_MYOCARDIUM):.1f} ml "
            f"({1.05 * labels.volume_ml(Label.LV_MYOCARDIUM):.0f} g), "
            f"Dice vs heart crop: cavity {dice['LV_BLOOD_POOL']:.3f}, "
            f"myocardium {dice['LV_MYOCARDIUM']:.3f}, RV {dice['RV_BLOOD_POOL']:.3f}; "
            f"blood/myo/RV HU {m['blood_hu']}/{m['myocardium_hu']}/{m['rv_blood_hu']}"
        )
    if figure is not None and ref is not None:
        _figure(ref_image, ref, figure)
        print(f"figure: {figure}")
        del np


def _figure(image: object, labels: object, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from wallthick.labels import LABEL_COLORS, Label
    from wallthick.volume import ImageVolume, LabelVolume

    assert isinstance(image, ImageVolume) and isinstance(labels, LabelVolume)
    cav = np.argwhere(labels.array == Label.LV_BLOOD_POOL)
    centre = image.index_to_world(cav.mean(axis=0))
    axis = np.asarray(labels.metadata["long_axis"])
    e1 = np.cross(axis, [0.0, 0.0, 1.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    g = np.arange(-60.0, 60.0, 0.5)
    views = []
    k = int(round(cav[:, 0].mean()))
    views.append((f"axial (slice {k})", image.array[k].astype(float), labels.array[k]))
    for title, (a, b) in (
        ("short axis through the LV centre", (e1, e2)),
        ("long axis (3-D reformat)", (axis, e1)),
    ):
        pts = centre + g[:, None, None] * a + g[None, :, None] * b
        idx = image.world_to_index(pts.reshape(-1, 3))
        from scipy import ndimage

        img = ndimage.map_coordinates(image.array, idx.T, order=1, cval=-1000.0).reshape(
            g.size, g.size
        )
        lab = ndimage.map_coordinates(labels.array, idx.T, order=0, cval=0).reshape(g.size, g.size)
        views.append((title, img, lab))
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.4))
    for ax, (title, img, lab) in zip(axes, views, strict=True):
        ax.imshow(img, cmap="gray", vmin=-200, vmax=700)
        for label in (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM, Label.RV_BLOOD_POOL):
            if (lab == label).any():
                ax.contour(lab == label, [0.5], colors=[LABEL_COLORS[label][:3]], linewidths=1.2)
        ax.set_title(title)
        ax.set_axis_off()
    fig.suptitle(
        "classical segmenter on the real CTA (ct_heart_crop, 1.5 mm): "
        "red LV cavity, green LV myocardium, blue RV blood pool"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/wallthick_bench_segment"))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--real-ct", type=Path, help="the shared data folder (../shared/data)")
    parser.add_argument("--figure", type=Path, help="with --real-ct: save the contour picture")
    args = parser.parse_args(argv)
    if args.real_ct is not None:
        _real_ct(args.real_ct, args.figure)
        return 0
    if args.child is not None:
        print(json.dumps(_child(args.child)))
        return 0
    t0 = time.perf_counter()
    folder = _prepare(args.cache, args.seed)
    print(f"phantom ready in {time.perf_counter() - t0:.1f} s: {folder}")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"image {res['shape']} ({res['image_mb']:.0f} MB as loaded)")
    print(f"segment_heart: {res['seconds']:.2f} s wall, {res['cpu_seconds']:.2f} s CPU")
    print(
        f"peak RSS: {res['peak_rss_mb_before']:.0f} MB after loading, "
        f"{res['peak_rss_mb_after']:.0f} MB after segmenting"
    )
    for name in ("LV_BLOOD_POOL", "LV_MYOCARDIUM", "RV_BLOOD_POOL"):
        print(
            f"{name}: Dice {res[name + '_dice']:.3f}, {res[name + '_ml']:.1f} ml "
            f"(truth {res[name + '_truth_ml']:.1f} ml)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
