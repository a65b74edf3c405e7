"""Are the results unchanged by a speed change? Every thickness, before and after.

Measures a validation set with the installed wallthick (segment + measure, as
``wallthick measure`` does) and writes every number that reaches the outputs
to a JSON file: septal and posterior thickness and uncertainty, the 17 AHA
segment means, cavity volume, mass, and a hash of the label map. A second call
with ``--compare OLD.json NEW.json`` prints the before/after table (largest
absolute difference per case) and exits 1 when a thickness moved by more than
``--tolerance`` mm.

The validation set (none of it was used to develop the speed changes):

* the demo cohort (``wallthick.cli.demo.DEMO_COHORT``: 2 patients with a
  baseline and a follow-up, one multiphase study), written once as DICOM and
  read through ``wallthick.io``;
* phantoms ``random_spec(seed, "sample")`` for ``--seeds`` (default 1200-1203);
* the real CTA crops (``real/chest_cta`` of ``WALLTHICK_TEST_DATA``);
* with ``--full DIR``, a full-size DICOM series (e.g. the one
  ``bench_end_to_end.py`` writes).

Usage (the code before the change from ``git archive``, side by side)::

    git archive BASE src | tar -x -C OLD
    PYTHONPATH=OLD/src python benchmarks/validate_unchanged.py --out before.json
    python benchmarks/validate_unchanged.py --out after.json
    python benchmarks/validate_unchanged.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Keys compared as thickness (mm); others are reported but not held to the tolerance.
THICKNESS_KEYS = ("septal_mm", "posterior_mm")


def _cases(cache: Path, seeds: list[int], data: Path, full: str) -> Iterator[tuple[str, Any]]:
    """``(name, ImageVolume)`` of every case, in a fixed order."""
    from wallthick.cli.demo import DEMO_COHORT
    from wallthick.io import discover_series, load_image, load_series
    from wallthick.phantom import generate_phantom, random_spec
    from wallthick.phantom.series import CohortSpec, write_cohort

    demo = cache / "validate_unchanged_demo"
    if not (demo / "cohort.json").is_file():
        write_cohort(CohortSpec(**DEMO_COHORT), demo)
    for desc in sorted(discover_series(demo), key=lambda d: str(d.files[0])):
        yield f"demo {Path(desc.files[0]).parent.relative_to(demo)}", load_series(desc)
    for seed in seeds:
        yield f"phantom {seed}", generate_phantom(random_spec(seed, "sample")).image
    for name in ("ct_heart_crop", "ct_aorta_crop"):
        path = data / "real" / "chest_cta" / f"{name}.nii.gz"
        if path.is_file():
            yield f"real {name}", load_image(path)
    if full:
        yield f"full-size {Path(full).name}", load_image(full)


def _values(image: Any) -> dict[str, Any]:
    from wallthick.measure import measure_labels
    from wallthick.segment import segment_heart

    t0 = time.perf_counter()
    try:
        labels = segment_heart(image)
    except Exception as exc:  # recorded: a failure must also be unchanged
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    result = measure_labels(labels, image)
    m = result.measurement
    out: dict[str, Any] = {
        "septal_mm": m.septal_thickness_mm,
        "posterior_mm": m.posterior_wall_thickness_mm,
        "septal_unc_mm": m.septal_uncertainty_mm,
        "posterior_unc_mm": m.posterior_uncertainty_mm,
        "cavity_ml": m.lv_cavity_volume_ml,
        "mass_g": m.lv_mass_g,
        "flags": list(m.qc_flags),
        "labels_sha1": hashlib.sha1(labels.array.tobytes()).hexdigest()[:12],
        "seconds": time.perf_counter() - t0,
    }
    for s in m.segments:
        out[f"aha{s.segment}_mm"] = s.mean_mm
    return out


def _measure(args: argparse.Namespace) -> int:
    import wallthick

    warnings.simplefilter("ignore")
    rows: dict[str, Any] = {"_code": str(Path(wallthick.__file__).parent)}
    for name, image in _cases(Path(args.cache), args.seeds, Path(args.data), args.full):
        rows[name] = _values(image)
        print(name, {k: rows[name].get(k) for k in ("septal_mm", "posterior_mm", "error")},
              flush=True)  # fmt: skip
    Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


def _diff(a: Any, b: Any) -> float:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return 0.0
        return abs(a - b)
    return 0.0 if a == b else math.inf


def _compare(args: argparse.Namespace) -> int:
    old, new = (json.loads(Path(p).read_text()) for p in args.compare)
    print("| case | septal before → after (mm) | posterior before → after (mm) | "
          "largest Δ thickness, 17 AHA segments incl. (mm) | largest Δ uncertainty, volume, mass, flags | labels identical |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for case in (k for k in old if not k.startswith("_")):
        a, b = old[case], new.get(case, {})
        if "error" in a or "error" in b:
            same = a.get("error") == b.get("error")
            print(f"| {case} | {a.get('error', 'ok')} → {b.get('error', 'ok')} | | "
                  f"{'0' if same else 'inf'} | | |")  # fmt: skip
            worst = worst if same else math.inf
            continue
        thick = [k for k in a if k in THICKNESS_KEYS or (k.startswith("aha") and k.endswith("_mm"))]
        other = [k for k in a if k not in thick and k not in ("seconds", "labels_sha1")]
        d_thick = max(_diff(a[k], b.get(k)) for k in thick)
        d_other = max(_diff(a[k], b.get(k)) for k in other)
        worst = max(worst, d_thick)
        print(f"| {case} | {a['septal_mm']:.3f} → {b['septal_mm']:.3f} | "
              f"{a['posterior_mm']:.3f} → {b['posterior_mm']:.3f} | {d_thick:.4f} | "
              f"{d_other:.4g} | {'yes' if a['labels_sha1'] == b['labels_sha1'] else 'no'} |")  # fmt: skip
    ok = worst <= args.tolerance
    print(f"largest thickness difference {worst:.4f} mm (tolerance {args.tolerance} mm): "
          f"{'unchanged' if ok else 'CHANGED'}")  # fmt: skip
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="", help="JSON written with this code's values")
    p.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="print the table")
    p.add_argument("--seeds", type=int, nargs="*", default=[1200, 1201, 1202, 1203])
    p.add_argument("--full", default="", help="also a full-size DICOM series folder")
    p.add_argument("--tolerance", type=float, default=0.02)
    p.add_argument(
        "--cache", default=os.environ.get("WALLTHICK_BENCH_CACHE", tempfile.gettempdir())
    )
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
    p.add_argument("--data", default=os.environ.get("WALLTHICK_TEST_DATA", str(default_data)))
    args = p.parse_args(argv)
    if args.compare:
        return _compare(args)
    if not args.out:
        p.error("give --out FILE or --compare OLD NEW")
    return _measure(args)


if __name__ == "__main__":
    sys.exit(main())
