"""Generation time and on-disk size of the phantom variants.

Usage::

    .venv/bin/python benchmarks/bench_phantom.py [--variants sample full] [--seed 0]

Prints, per variant: grid, wall-clock and CPU time of ``generate_phantom``, time to
write the DICOM series, and the size of the series on disk.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from wallthick.phantom import generate_phantom, random_spec, write_phantom_series


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def bench(variant: str, seed: int) -> dict[str, float | str]:
    spec = random_spec(seed, variant)
    wall, cpu = time.perf_counter(), time.process_time()
    case = generate_phantom(spec)
    gen_wall, gen_cpu = time.perf_counter() - wall, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = write_phantom_series(case, Path(tmp) / "series")
        write_s = time.perf_counter() - t0
        size = _size_mb(out)
    shape = "x".join(str(n) for n in case.image.shape)
    spacing = "x".join(f"{s:g}" for s in case.image.spacing_mm)
    return {
        "variant": variant,
        "grid": f"{shape} @ {spacing} mm",
        "generate_wall_s": round(gen_wall, 1),
        "generate_cpu_s": round(gen_cpu, 1),
        "write_dicom_s": round(write_s, 1),
        "disk_mb": round(size, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--variants", nargs="+", default=["sample", "full"], choices=["sample", "full"]
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for variant in args.variants:
        row = bench(variant, args.seed)
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
