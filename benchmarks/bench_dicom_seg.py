"""DICOM SEG (and SR) writing time on a full-size grid, this code against a baseline.

Writes (once, cached) a full-size CT series (512 x 512 x ``--slices``, 0.4 x 0.4 x
0.5 mm, uncompressed) and, on its grid, a label map shaped like a heart of
ordinary size: an ellipsoidal LV cavity (long axis 90 mm, radius 25 mm) in a
10 mm myocardial shell, an RV beside it, a left atrium and an aortic root above.
The labels cover 260 slices (130 mm): most of a 300-slice cardiac CT
(``--slices 300``), under half of a 600-slice chest CT (``--slices 600``). Then runs ``write_dicom_seg`` in fresh subprocesses, alternating between
the two codes, ``--repeats`` times each, and prints the median seconds, the
ratio, the peak resident memory while writing (the labels already in memory,
the CT image freed), the SEG's frame count and file size. When the
code has an SR writer it is timed too (SR of a stored measurement).

Usage::

    git archive HEAD~1 src | tar -x -C /tmp/old   # the code before the change
    .venv/bin/python benchmarks/bench_dicom_seg.py --baseline /tmp/old/src --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPACING = (0.5, 0.4, 0.4)


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak() -> None:
    """Start the peak-RSS count afresh (Linux ``clear_refs`` 5), so it covers the writing."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _heart_labels(n_slices: int) -> Any:
    """Label values on the grid: an LV of ordinary size with RV, LA and aorta beside it."""
    import numpy as np

    from wallthick.labels import Label

    shape = (n_slices, 512, 512)
    z, y, x = (np.arange(n, dtype=np.float32) * s for n, s in zip(shape, SPACING, strict=True))
    zz, yy, xx = z[:, None, None], y[None, :, None], x[None, None, :]
    cz, cy, cx = 75.0, 100.0, 110.0  # mm: the LV centre
    r_lv = np.sqrt(((zz - cz) / 45.0) ** 2 + ((yy - cy) / 25.0) ** 2 + ((xx - cx) / 25.0) ** 2)
    r_shell = np.sqrt(((zz - cz) / 55.0) ** 2 + ((yy - cy) / 35.0) ** 2 + ((xx - cx) / 35.0) ** 2)
    labels = np.zeros(shape, np.uint8)
    rv = np.sqrt(((zz - cz) / 45.0) ** 2 + ((yy - cy) / 30.0) ** 2 + ((xx - cx + 45) / 22.0) ** 2)
    labels[(rv <= 1.0) & (r_shell > 1.0)] = Label.RV_BLOOD_POOL
    labels[r_shell <= 1.0] = Label.LV_MYOCARDIUM
    labels[r_lv <= 1.0] = Label.LV_BLOOD_POOL
    la = np.sqrt(((zz - cz - 60) / 20.0) ** 2 + ((yy - cy) / 20.0) ** 2 + ((xx - cx) / 20.0) ** 2)
    labels[(la <= 1.0) & (labels == 0)] = Label.LEFT_ATRIUM
    ao = np.sqrt(((yy - cy - 25) / 12.0) ** 2 + ((xx - cx + 10) / 12.0) ** 2)
    labels[(ao <= 1.0) & (zz > cz + 30) & (zz < cz + 75) & (labels == 0)] = Label.AORTA
    return labels


def _prepare(cache: Path, n_slices: int) -> Path:
    folder = cache / ("bench_dicom_seg_ct" if n_slices == 300 else f"bench_dicom_seg_ct{n_slices}")
    if (folder / "done").exists():
        return folder
    import numpy as np

    from wallthick.io import write_dicom_series
    from wallthick.volume import ImageVolume

    axial = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).T
    image = ImageVolume(
        np.zeros((n_slices, 512, 512), np.float32), SPACING, (-60.0, -100.0, -100.0), axial
    )
    write_dicom_series(image, folder, info={"patient_id": "BENCH", "study_date": "20260101"})
    (folder / "done").write_text("ok\n")
    return folder


def _child(folder: Path) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    import pydicom

    from wallthick.io import discover_series, load_series
    from wallthick.results.dicomseg import write_dicom_seg
    from wallthick.volume import LabelVolume

    desc = discover_series(folder)[0]
    image = load_series(desc)
    labels = LabelVolume.from_geometry(_heart_labels(image.shape[0]), image.geometry)
    files = sorted(str(f) for f in desc.files)
    shape = image.shape
    del image
    gc.collect()
    _reset_peak()
    with tempfile.TemporaryDirectory(prefix="wallthick_seg_") as tmp:
        out = Path(tmp) / "seg.dcm"
        t0 = time.perf_counter()
        write_dicom_seg(labels, files, out)
        seconds = time.perf_counter() - t0
        seg = pydicom.dcmread(out, stop_before_pixels=True)
        result = {
            "seg": seconds,
            "frames": int(seg.NumberOfFrames),
            "rows_cols": [int(seg.Rows), int(seg.Columns)],
            "mb": out.stat().st_size / 1e6,
            "peak_mb": _peak_mb(),
            "labelled_slices": int((labels.array.reshape(shape[0], -1) > 0).any(axis=1).sum()),
            "shape": list(shape),
        }
        result.update(_time_sr(out, Path(tmp)))
    return result


def _time_sr(seg: Path, tmp: Path) -> dict[str, float]:
    """Seconds of the SR writer (a measurement of plausible values), if this code has one."""
    try:
        from wallthick.results.dicomsr import write_measurement_sr
    except ImportError:
        return {}
    from wallthick.measure.result import Measurement, SegmentStats

    segments = tuple(SegmentStats(i, 9.0, 9.0, 12.0, 1.0, 100, 0.4) for i in range(1, 18))
    m = Measurement(9.5, 0.4, 8.5, 0.4, segments, 140.0, 150.0, segmenter="classical")
    t0 = time.perf_counter()
    write_measurement_sr(m, seg, tmp / "sr.dcm")
    return {"sr": time.perf_counter() - t0}


def _run(folder: Path, src: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--folder", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--cache", default=os.environ.get("WALLTHICK_BENCH_CACHE", tempfile.gettempdir())
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--slices", type=int, default=300, help="slices of the CT series")
    p.add_argument("--baseline", default="", help="src folder of the code to compare against")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--folder", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(Path(args.folder))))
        return 0
    folder = _prepare(Path(args.cache), args.slices)
    codes: dict[str, str | None] = {"this": None}
    if args.baseline:
        codes = {"baseline": str(Path(args.baseline).resolve()), "this": None}
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in codes}
    for _ in range(args.repeats):
        for name, src in codes.items():
            runs[name].append(_run(folder, src))
    first = runs["this"][0]
    print(f"grid {tuple(first['shape'])}, labels on {first['labelled_slices']} slices; "
          f"median of {args.repeats} alternating runs")  # fmt: skip
    print("| code | SEG s | × this | peak MB | frames | rows×cols | SEG MB | SR s |")
    print("|---|---|---|---|---|---|---|---|")
    this = statistics.median(r["seg"] for r in runs["this"])
    for name, rows in runs.items():
        seg = statistics.median(r["seg"] for r in rows)
        sr = [r["sr"] for r in rows if "sr" in r]
        print(f"| {name} | {seg:.2f} | {seg / this:.2f} | "
              f"{statistics.median(r['peak_mb'] for r in rows):.0f} | {rows[0]['frames']} | "
              f"{rows[0]['rows_cols'][0]}×{rows[0]['rows_cols'][1]} | {rows[0]['mb']:.2f} | "
              f"{statistics.median(sr) if sr else float('nan'):.2f} |")  # fmt: skip
    print(f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
