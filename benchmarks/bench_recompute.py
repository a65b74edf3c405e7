"""How long does "Recompute" take in the napari plugin?

Recompute = rebuild the LabelVolume/ImageVolume from the napari layers and call
``wallthick.measure.measure_labels`` on the edited labels (target: <= 2 s on a
typical scan). The automatic segmentation is made once and not timed; a band
of myocardium is then painted (as an analyst would) so the timed call measures
"corrected" labels.

Usage::

    .venv/bin/python benchmarks/bench_recompute.py                  # phantom + real CT
    .venv/bin/python benchmarks/bench_recompute.py --case phantom --repeats 5
    .venv/bin/python benchmarks/bench_recompute.py --case full      # 512x512x300 phantom (slow to generate)
    .venv/bin/python benchmarks/bench_recompute.py --case full --series DIR   # a full-size DICOM series
    .venv/bin/python benchmarks/bench_recompute.py --case real --short-axis   # + SAX mode
    xvfb-run -a env QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/bench_recompute.py --gui
        # also times the widget's Recompute button end to end (worker + layer updates)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REAL_CT = Path(__file__).resolve().parents[2] / "shared/data/real/chest_cta/ct_heart_crop.nii.gz"


#: A DICOM series to use for ``--case full`` instead of generating the phantom (``--series``).
FULL_SERIES: list[str] = []


def _load(case: str):
    if case == "full" and FULL_SERIES:
        from wallthick.io import load_image

        return load_image(FULL_SERIES[0])
    if case == "phantom":
        from wallthick.phantom import sample_case

        return sample_case(0).image
    if case == "full":
        from wallthick.phantom import generate_phantom, random_spec

        return generate_phantom(random_spec(0, "full")).image
    from wallthick.io import load_image

    return load_image(REAL_CT)


def _edit(labels):
    """Thicken the myocardium by one voxel on a few central slices (an analyst's edit)."""
    from scipy import ndimage as ndi

    from wallthick import Label

    arr = labels.array.copy()
    myo = arr == Label.LV_MYOCARDIUM
    z = np.flatnonzero(myo.any(axis=(1, 2)))
    mid = z[len(z) // 2 - 3 : len(z) // 2 + 3]
    grown = ndi.binary_dilation(myo[mid]) & (arr[mid] == Label.BACKGROUND)
    arr[mid] = np.where(grown, Label.LV_MYOCARDIUM, arr[mid])
    return labels.with_array(arr)


def _time(fn: Callable[[], object], repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock seconds per call (and CPU seconds of this process into ``cpu``)."""
    times = []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return times


def bench_core(case: str, repeats: int) -> dict[str, object]:
    from napari_wallthick._convert import image_layer_data, labels_layer_data, volume_from_layer

    from wallthick.measure import measure_labels
    from wallthick.segment import segment_heart

    image = _load(case)
    t0 = time.perf_counter()
    labels = _edit(segment_heart(image))
    seg_s = time.perf_counter() - t0
    idata, ikw, _ = image_layer_data(image, "ct")
    ldata, lkw, _ = labels_layer_data(labels, "seg")

    def recompute() -> None:
        img = volume_from_layer(idata, ikw["metadata"], ikw["affine"], "ct")
        lab = volume_from_layer(ldata, lkw["metadata"], lkw["affine"], "seg", labels=True)
        measure_labels(lab, img, segmentation_source="corrected")  # type: ignore[arg-type]

    recompute()  # warm-up (imports, caches)
    cpu: list[float] = []
    times = _time(recompute, repeats, cpu)
    return {
        "cpu": cpu,
        "case": case,
        "shape": "x".join(str(s) for s in image.shape),
        "spacing_mm": "x".join(f"{s:g}" for s in image.spacing_mm),
        "segment_s": seg_s,
        "times": times,
    }


def bench_short_axis(case: str, repeats: int) -> dict[str, object]:
    """Recompute in Short axis mode: edited labels measured on the SAX grid, CT on it too."""
    from wallthick.measure import measure_labels, reformat, short_axis_grid
    from wallthick.segment import segment_heart

    image = _load(case)
    labels = segment_heart(image)
    frame = measure_labels(labels, image).frame
    grid = short_axis_grid(frame, labels, slice_mm=1.5)
    sax_labels = _edit(reformat(labels, grid))
    sax_image = reformat(image, grid)

    def recompute() -> None:
        measure_labels(sax_labels, sax_image, segmentation_source="corrected")

    recompute()
    cpu: list[float] = []
    times = _time(recompute, repeats, cpu)
    return {
        "cpu": cpu,
        "case": f"{case}-sax",
        "shape": "x".join(str(s) for s in grid.shape),
        "spacing_mm": "x".join(f"{s:g}" for s in grid.spacing_mm),
        "segment_s": float("nan"),
        "times": times,
    }


def bench_gui(repeats: int) -> list[float]:
    """Wall time from clicking Recompute to the updated table, in a real viewer."""
    import napari
    from napari_wallthick._widget import WallThicknessWidget
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=False)
    viewer.open_sample("wallthick", "phantom_baseline")
    widget = WallThicknessWidget(viewer)
    app = QApplication.instance()

    def click_and_wait(button) -> None:
        button.click()
        while widget.busy:
            app.processEvents()
            time.sleep(0.005)

    click_and_wait(widget.run_button)
    layer = widget.labels_layer()
    assert layer is not None, widget.status.text()
    layer.data_setitem(tuple(np.argwhere(layer.data == 2)[:50].T), 1)  # a small edit
    click_and_wait(widget.recompute_button)  # warm-up
    times = _time(lambda: click_and_wait(widget.recompute_button), repeats)
    viewer.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["phantom", "real", "full", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gui", action="store_true", help="also time the widget end to end")
    parser.add_argument(
        "--short-axis", action="store_true", help="also time Recompute on the short-axis grid"
    )
    parser.add_argument("--series", default="", help="DICOM folder used for --case full")
    args = parser.parse_args(argv)
    if args.series:
        FULL_SERIES[:] = [args.series]
    cases = ["phantom", "real"] if args.case == "all" else [args.case]
    if "real" in cases and not REAL_CT.is_file():
        print(f"skipping the real CT: {REAL_CT} not found")
        cases.remove("real")
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (timings rise with load)"
    )
    print(
        f"{'case':8} {'shape':>12} {'spacing mm':>14} {'segment s':>10} "
        f"{'recompute s, median [min-max]':>30} {'CPU s':>6}"
    )
    runs = [(bench_core, c) for c in cases]
    if args.short_axis:
        runs += [(bench_short_axis, c) for c in cases]
    for bench, case in runs:
        r = bench(case, args.repeats)
        t = r["times"]
        assert isinstance(t, list)
        print(
            f"{r['case']:8} {r['shape']:>12} {r['spacing_mm']:>14} {r['segment_s']:>10.1f} "
            f"{statistics.median(t):>18.2f} [{min(t):.2f}-{max(t):.2f}] "
            f"{statistics.median(r['cpu']):>6.2f}"  # type: ignore[arg-type]
        )
    if args.gui:
        t = bench_gui(args.repeats)
        print(
            f"widget Recompute click->table (phantom): median {statistics.median(t):.2f} s "
            f"[{min(t):.2f}-{max(t):.2f}]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
