"""End-to-end speed and memory of wall-thickness measurement vs a bare DICOM read.

Writes (once, cached) a full-size phantom series (512 x 512 x 300 slices,
0.4 x 0.4 x 0.5 mm), then times in fresh subprocesses, in the same run:

* ``bare``: pydicom ``dcmread`` of every file + ``np.stack`` of the pixel arrays;
* ``pipeline``: ``measure_wall_thickness(folder)`` = load + classical
  segmentation + thickness;
* ``measure``: ``measure_labels`` alone on the phantom's labels and image
  (the napari "Recompute" path).

Prints the wall-time ratio pipeline/bare (target <= 15) and each
subprocess's peak resident memory (target <= 2 GB).

Usage::

    .venv/bin/python benchmarks/bench_measure.py [--cache /tmp/wallthick_bench] [--variant full]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path


def _prepare(cache: Path, variant: str) -> Path:
    folder = cache / f"phantom_{variant}"
    if (folder / "truth.json").exists():
        return folder
    from wallthick.phantom import generate_phantom, random_spec, write_phantom_series

    case = generate_phantom(random_spec(11, variant))
    write_phantom_series(case, folder)
    return folder


def _child(mode: str, folder: Path) -> dict[str, float]:
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    c0 = time.process_time()
    if mode == "bare":
        import numpy as np
        import pydicom

        files = sorted(p for p in folder.iterdir() if p.suffix == ".dcm" or p.suffix == "")
        slices = [
            pydicom.dcmread(p).pixel_array for p in files if p.is_file() and p.name != "truth.json"
        ]
        np.stack(slices)
    elif mode == "pipeline":
        from wallthick.measure import measure_wall_thickness

        measure_wall_thickness(folder)
    else:
        from wallthick.io import load_image
        from wallthick.measure import measure_labels
        from wallthick.segment import segment_heart

        image = load_image(folder)
        labels = segment_heart(image)
        t0 = time.perf_counter()
        c0 = time.process_time()
        measure_labels(labels, image)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"seconds": seconds, "cpu_s": cpu, "peak_mb": peak_mb}


def _run(mode: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--folder", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--cache", default=os.environ.get("WALLTHICK_BENCH_CACHE", "/tmp/wallthick_bench")
    )
    p.add_argument("--variant", default="full", choices=["full", "sample"])
    p.add_argument("--child", default="")
    p.add_argument("--folder", default="")
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, Path(args.folder))))
        return 0
    folder = _prepare(Path(args.cache), args.variant)
    n = sum(1 for q in folder.iterdir() if q.name != "truth.json")
    bare = _run("bare", folder)
    pipe = _run("pipeline", folder)
    meas = _run("measure", folder)
    print(f"series: {folder} ({n} files)")
    for name, r in (("bare pydicom read+stack", bare), ("load+segment+measure", pipe),
                    ("measure_labels alone", meas)):  # fmt: skip
        print(
            f"{name:24s}: {r['seconds']:7.1f} s wall {r['cpu_s']:7.1f} s CPU  peak {r['peak_mb']:6.0f} MB"
        )
    print(f"ratio pipeline / bare   : {pipe['seconds'] / bare['seconds']:7.1f} x wall, "
          f"{pipe['cpu_s'] / bare['cpu_s']:.1f} x CPU (target <= 15)")  # fmt: skip
    print(f"peak memory             : {pipe['peak_mb'] / 1024:7.2f} GB (target <= 2)")
    print(f"machine load average    : {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
