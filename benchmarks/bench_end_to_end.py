"""End to end, per stage, against a bare pydicom read of the same files.

Writes (once, cached) a phantom series of ``random_spec(SEED, VARIANT)`` as
uncompressed DICOM (``full``: 512 x 512 x 300 slices, 0.4 x 0.4 x 0.5 mm), then
runs in fresh subprocesses, alternating, ``--repeats`` times each:

* ``bare``: ``pydicom.dcmread`` of every file, sort by position along the
  slice normal, ``np.stack`` of the pixel arrays (imports not timed);
* ``stages``: the steps of ``wallthick measure`` one by one, each timed, with
  the process's peak resident memory after each: load, segment, measure,
  NIfTI labels, DICOM SEG, QC picture, and the DICOM SR when the installed
  wallthick has one;
* ``cli``: the whole ``wallthick measure SERIES --out DIR`` in one process,
  timed from before its first import to its exit (the end-to-end figure).

Prints two tables (median over the repeats), wall-clock and CPU seconds, with
each stage's seconds, its ratio to the bare read, and peak RSS (on a shared,
loaded machine the CPU table is the steadier one; stages that run several
threads use more CPU than wall-clock time); then the ``python -X importtime`` cost
of the command's imports. With ``--baseline SRC`` (the ``src`` folder of
another checkout, e.g. from ``git archive``) every child also runs on that
code, alternating with this one, and the table shows both side by side.

Usage::

    .venv/bin/python benchmarks/bench_end_to_end.py [--variant full] [--repeats 3]
    .venv/bin/python benchmarks/bench_end_to_end.py --baseline OLD/src --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAGES = ("load", "segment", "measure", "nifti", "seg", "qc", "sr")


def _peak_mb() -> float:
    """Peak resident memory of this process (``VmHWM``; ``ru_maxrss`` on Linux keeps
    the parent's high-water mark across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _prepare(cache: Path, variant: str, seed: int) -> Path:
    folder = cache / f"e2e_{variant}_{seed}"
    if (folder / "truth.json").exists():
        return folder
    from wallthick.phantom import generate_phantom, random_spec, write_phantom_series

    tmp = cache / f".tmp_e2e_{variant}_{seed}"
    shutil.rmtree(tmp, ignore_errors=True)
    write_phantom_series(generate_phantom(random_spec(seed, variant)), tmp)
    tmp.rename(folder)
    return folder


def _dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".dcm")


# -- children --------------------------------------------------------------------
def _bare(folder: Path) -> dict[str, Any]:
    import numpy as np
    import pydicom

    t0, c0 = time.perf_counter(), time.process_time()
    dss = [pydicom.dcmread(p) for p in _dicom_files(folder)]
    normal = np.cross(*np.reshape(np.asarray(dss[0].ImageOrientationPatient, float), (2, 3)))
    dss.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, float))))
    np.stack([ds.pixel_array for ds in dss])
    cpu = {"bare": time.process_time() - c0}
    return {"bare": time.perf_counter() - t0, "cpu": cpu, "peak_mb": _peak_mb()}


def _stages(folder: Path, out: Path) -> dict[str, Any]:
    from wallthick.io import discover_series, load_series
    from wallthick.measure import measure_labels
    from wallthick.report.qc import render_qc_picture
    from wallthick.results.dicomseg import write_dicom_seg
    from wallthick.segment import segment_heart

    times: dict[str, Any] = {}
    cpu: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        times[name] = time.perf_counter() - t0
        cpu[name] = time.process_time() - c0
        peaks[name] = _peak_mb()
        return value

    desc = timed("load_discover", lambda: discover_series(folder)[0])
    image = timed("load", lambda: load_series(desc))
    times["load"] += times.pop("load_discover")
    cpu["load"] += cpu.pop("load_discover")
    peaks.pop("load_discover")
    labels = timed("segment", lambda: segment_heart(image))
    result = timed("measure", lambda: measure_labels(labels, image))
    timed("nifti", lambda: _write_nifti(result.labels, out / "segmentation.nii.gz"))
    files = sorted(str(f) for f in desc.files)
    timed("seg", lambda: write_dicom_seg(result.labels, files, out / "segmentation_seg.dcm"))
    timed("qc", lambda: render_qc_picture(result, out / "qc.png"))
    sr = _sr_writer()
    if sr is not None:
        timed("sr", lambda: sr(result.measurement, out / "segmentation_seg.dcm",
                               out / "measurement_sr.dcm"))  # fmt: skip
    m = result.measurement
    return {
        **times,
        "cpu": cpu,
        "peaks": peaks,
        "peak_mb": _peak_mb(),
        "septal_mm": m.septal_thickness_mm,
        "posterior_mm": m.posterior_wall_thickness_mm,
        "shape": list(image.shape),
    }


def _write_nifti(labels: Any, path: Path) -> None:
    import SimpleITK as sitk

    sitk.WriteImage(labels.to_sitk(), str(path), useCompression=True)


def _sr_writer() -> Callable[[Any, Path, Path], None] | None:
    """The SR writer of the installed wallthick (measurement, SEG, out), if it has one."""
    try:
        from wallthick.results.dicomsr import write_measurement_sr
    except ImportError:
        return None
    return write_measurement_sr


def _cli(folder: Path, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    from wallthick.cli.main import main

    code = main(["measure", str(folder), "--out", str(out)])
    seconds = time.perf_counter() - t0
    modules = sorted({m.split(".")[0] for m in sys.modules if not m.startswith("_")})
    return {"cli": seconds, "peak_mb": _peak_mb(), "exit_code": code, "modules": modules}


def _child(mode: str, folder: Path) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="wallthick_e2e_") as tmp:
        if mode == "bare":
            return _bare(folder)
        if mode == "stages":
            return _stages(folder, Path(tmp))
        return _cli(folder, Path(tmp))


def _run(mode: str, folder: Path, src: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    c0 = _children_cpu()
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--folder", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    result["process"] = time.perf_counter() - t0
    result.setdefault("cpu", {})["process"] = _children_cpu() - c0
    return result


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _importtime(src: str | None, modules: list[str]) -> tuple[float, dict[str, float]]:
    """``python -X importtime`` of every top-level package ``wallthick measure`` loaded
    (wallthick first): total seconds and those of the heavy packages."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    skip = set(sys.builtin_module_names) | {"__main__", "bench_end_to_end"}
    names = ["wallthick.cli.main"] + [m for m in modules if m not in skip and m != "wallthick"]
    code = "import importlib\n" + "".join(
        f"try:\n    importlib.import_module({n!r})\nexcept Exception:\n    pass\n" for n in names
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    heavy = ("dask", "distributed", "highdicom", "matplotlib", "SimpleITK", "scipy",
             "skimage", "pydicom", "numpy", "pandas", "wallthick")  # fmt: skip
    found: dict[str, float] = {}
    total = 0.0
    for line in out.stderr.splitlines():
        parts = line[len("import time:") :].split("|")
        if not line.startswith("import time:") or len(parts) != 3:
            continue
        try:
            own = int(parts[0]) / 1e6
        except ValueError:
            continue
        total += own
        package = parts[2].strip().split(".")[0]
        if package in heavy:
            found[package] = found.get(package, 0.0) + own
    return total, found


# -- report ----------------------------------------------------------------------
def _median(rows: list[dict[str, Any]], key: str, clock: str = "wall") -> float:
    """Median of ``key`` over ``rows``: wall-clock seconds, or CPU seconds (``clock="cpu"``)."""
    src = [r if clock == "wall" else r.get("cpu", {}) for r in rows]
    values = [float(r[key]) for r in src if key in r]
    return statistics.median(values) if values else float("nan")


def _table(runs: dict[str, dict[str, list[dict[str, Any]]]], clock: str) -> list[str]:
    """Per stage: seconds (wall-clock or CPU), ratio to the bare read, peak RSS."""
    names = list(runs)
    head = "| stage |" + "".join(f" {n} s | {n} ×bare | {n} peak MB |" for n in names)
    lines = [head, "|---" * (1 + 3 * len(names)) + "|"]
    bare = {n: _median(runs[n]["bare"], "bare", clock) for n in names}
    bare_peak = {n: _median(runs[n]["bare"], "peak_mb") for n in names}
    cells = "".join(f" {bare[n]:.2f} | 1.0 | {bare_peak[n]:.0f} |" for n in names)
    lines.append("| bare read-sort-stack |" + cells)
    for stage in STAGES:
        if not any(stage in r for n in names for r in runs[n]["stages"]):
            continue
        cells = ""
        for n in names:
            t = _median(runs[n]["stages"], stage, clock)
            peaks = [r["peaks"].get(stage, float("nan")) for r in runs[n]["stages"]]
            cells += f" {t:.2f} | {t / bare[n]:.2f} | {statistics.median(peaks):.0f} |"
        lines.append(f"| {stage} |" + cells)
    cells = ""
    for n in names:
        done = [st for st in STAGES if st in runs[n]["stages"][0]]
        total = sum(_median(runs[n]["stages"], st, clock) for st in done)
        peak = _median(runs[n]["stages"], "peak_mb")
        cells += f" {total:.2f} | {total / bare[n]:.2f} | {peak:.0f} |"
    lines.append("| sum of stages (imports not timed) |" + cells)
    cells = ""
    for n in names:
        t = _median(runs[n]["cli"], "process", clock)
        cells += f" {t:.2f} | {t / bare[n]:.2f} | {_median(runs[n]['cli'], 'peak_mb'):.0f} |"
    lines.append("| **`wallthick measure` process, end to end** |" + cells)
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--cache", default=os.environ.get("WALLTHICK_BENCH_CACHE", tempfile.gettempdir())
    )
    p.add_argument("--variant", default="full", choices=["full", "sample"])
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--baseline", default="", help="src folder of the code to compare against")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    p.add_argument("--folder", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, Path(args.folder))))
        return 0
    folder = _prepare(Path(args.cache), args.variant, args.seed)
    codes: dict[str, str | None] = {"this": None}
    if args.baseline:
        codes = {"baseline": str(Path(args.baseline).resolve()), "this": None}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {"bare": [], "stages": [], "cli": []} for n in codes
    }
    for _ in range(args.repeats):
        for mode in ("bare", "stages", "cli"):
            for name, src in codes.items():
                runs[name][mode].append(_run(mode, folder, src))
    shape = runs["this"]["stages"][0]["shape"]
    print(f"series: {args.variant} phantom seed {args.seed}, {len(_dicom_files(folder))} "
          f"files, array {shape}; median of {args.repeats} alternating runs")  # fmt: skip
    for clock, what in (("wall", "wall-clock"), ("cpu", "CPU (user + system)")):
        print(f"\n{what} seconds:")
        print("\n".join(_table(runs, clock)))
    for name, src in codes.items():
        r = runs[name]["stages"][0]
        total, heavy = _importtime(src, runs[name]["cli"][0]["modules"])
        listed = ", ".join(f"{k} {v:.2f}" for k, v in sorted(heavy.items(), key=lambda kv: -kv[1]))
        print(f"{name}: septal {r['septal_mm']:.3f} mm, posterior {r['posterior_mm']:.3f} mm; "
              f"python -X importtime of the command: {total:.2f} s ({listed})")  # fmt: skip
    print(f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
