"""The fuzz corpus: every file loads or raises WallthickError, fast and small.

Each file goes through discovery, loading (``min_slices=1``, so single images
reach the pixel path) and ``read_pixels`` in a worker subprocess that reports,
per file, the outcome, the time taken and the peak of traced allocations
(numpy and Python). Workers run with a 2 GiB address-space limit and a time
limit, nothing may be written to the corpus, the worker's cwd or its TMPDIR.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PER_FILE_SECONDS = 5.0
PER_FILE_BYTES = 2**30
WORKERS = 2

WORKER = r"""
import json, resource, sys, time, tracemalloc
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
from wallthick.errors import WallthickError
from wallthick.io import discover_series, load_series, read_pixels

def attempt(path):
    outcomes = []
    found = discover_series(path)
    outcomes += ["rejected"] * len(found.rejected)
    for desc in found:
        try:
            load_series(desc, min_slices=1)
            outcomes.append("loaded")
        except WallthickError as exc:
            outcomes.append("refused")
    try:
        read_pixels(path)
        outcomes.append("decoded")
    except WallthickError:
        outcomes.append("pixels refused")
    return outcomes

for line in sys.stdin:
    path = Path(line.strip())
    tracemalloc.start()
    start = time.perf_counter()
    try:
        outcome = attempt(path)
    except BaseException as exc:
        outcome = ["LEAKED " + type(exc).__name__ + ": " + str(exc)[:200]]
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"file": str(path), "outcome": outcome, "seconds": seconds, "peak": peak}), flush=True)
"""


def _corpus(shared_data: Path) -> list[Path]:
    root = shared_data / "dicom" / "fuzz_corpus"
    manifest = json.loads((root / "manifest.json").read_text())
    files = [root / case["filename"] for cat in manifest["categories"] for case in cat["cases"]]
    files.append(root / manifest["baseline_file"])
    return [f for f in files if f.is_file()]


def _snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime) for p in root.rglob("*")}


@pytest.mark.realdata
def test_fuzz_corpus_loads_or_refuses(shared_data: Path, tmp_path: Path) -> None:
    files = _corpus(shared_data)
    assert len(files) > 500
    corpus_before = _snapshot(shared_data / "dicom" / "fuzz_corpus")
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PYTHONWARNINGS": "error"}
    (tmp_path / "tmp").mkdir()
    (tmp_path / "cwd").mkdir()
    chunks = [files[i::WORKERS] for i in range(WORKERS)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # C decoders print their complaints
            cwd=tmp_path / "cwd",
            env=env,
            text=True,
        )
        for _ in chunks
    ]
    results = []
    for proc, chunk in zip(procs, chunks, strict=True):
        out, _ = proc.communicate("\n".join(map(str, chunk)) + "\n", timeout=120)
        assert proc.returncode == 0, "a worker crashed"
        results += [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(files)
    leaked = [
        (r["file"], r["outcome"]) for r in results if any("LEAKED" in o for o in r["outcome"])
    ]
    slow = [(r["file"], r["seconds"]) for r in results if r["seconds"] > PER_FILE_SECONDS]
    big = [(r["file"], r["peak"]) for r in results if r["peak"] > PER_FILE_BYTES]
    assert not leaked and not slow and not big
    assert list((tmp_path / "tmp").iterdir()) == [] and list((tmp_path / "cwd").iterdir()) == []
    assert _snapshot(shared_data / "dicom" / "fuzz_corpus") == corpus_before
    decoded = sum("decoded" in r["outcome"] for r in results)
    assert decoded > 100  # the pixel path is really exercised, not only refused early


@pytest.mark.parametrize("syntax", ["explicit-little", "rle", "jpeg2000-lossless", "deflate"])
def test_corrupted_valid_series_loads_or_refuses(tmp_path: Path, syntax: str) -> None:
    """Seeded byte corruption of one file of a valid, loadable series (header bytes,
    truncation, pixel bytes): discovery + loading end in a volume or a WallthickError
    (the corpus above has no geometry, so it never reaches stacking)."""
    import shutil
    import time
    import warnings

    import numpy as np

    from wallthick.errors import WallthickError
    from wallthick.io import discover_series, load_phases, write_dicom_series
    from wallthick.volume import ImageVolume

    rng = np.random.default_rng(2024)
    values = rng.integers(-1000, 1000, (3, 32, 32)).astype(np.float32)
    source = tmp_path / "source"
    write_dicom_series(
        ImageVolume(values, (1, 1, 1), (0, 0, 0), np.eye(3)[:, ::-1]),
        source,
        transfer_syntax=syntax,
    )
    outcomes = []
    for trial in range(24):
        work = tmp_path / f"trial{trial}"
        shutil.copytree(source, work)
        victim = sorted(work.iterdir())[trial % 3]
        data = bytearray(victim.read_bytes())
        if trial % 3 == 0:  # a few random bytes anywhere
            for _ in range(5):
                data[rng.integers(0, len(data))] = rng.integers(0, 256)
        elif trial % 3 == 1:  # truncated
            data = data[: rng.integers(0, len(data))]
        else:  # a burst of garbage in the second half (pixel data)
            at = int(rng.integers(len(data) // 2, len(data)))
            data[at : at + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        victim.write_bytes(bytes(data))
        start = time.perf_counter()
        for desc in discover_series(work):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # ours: spacing, duplicates
                    load_phases(desc, min_slices=1)
                outcomes.append("loaded")
            except WallthickError:
                outcomes.append("refused")
        assert time.perf_counter() - start < PER_FILE_SECONDS
        shutil.rmtree(work)
    assert "refused" in outcomes


def test_rust_decoder_panic_becomes_decode_error(tmp_path: Path) -> None:
    """pylibjpeg-rle panics (PyO3 PanicException, a BaseException) on this RLE data."""
    import numpy as np

    from wallthick.errors import DecodeError
    from wallthick.io import read_pixels, write_dicom_series
    from wallthick.volume import ImageVolume

    values = np.arange(3 * 32 * 32, dtype=np.float32).reshape(3, 32, 32) % 2000 - 1000
    volume = ImageVolume(values, (1, 1, 1), (0, 0, 0), np.eye(3)[:, ::-1])
    path = write_dicom_series(volume, tmp_path, transfer_syntax="rle", file_names="instance")[0]
    data = bytearray(path.read_bytes())
    data[-1068 : -1068 + 8] = b"\x7f" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(DecodeError, match="IM00001.dcm: cannot decode its pixel data"):
        read_pixels(path)
