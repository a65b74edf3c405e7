"""Render the report in a real browser (headless Chromium, Debian package ``chromium``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wallthick.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian package 'chromium')"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_report_renders_in_chromium(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(results_dir, out, pdf=False)
    dom = _chromium(tmp_path, "--dump-dom", out.as_uri()).stdout
    n_img = len(re.findall(r"<img\b", dom))
    assert n_img == 10
    # the report's load handler marks each image decoded (naturalWidth > 0)
    assert f'data-images-decoded="{n_img}/{n_img}"' in dom
    assert len(re.findall(r'<img[^>]*data-decoded="yes"', dom)) == n_img
    assert dom.count("<figure>") == 10 and "Subject 2: PAT-B" in dom

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, "--window-size=1300,2200", f"--screenshot={shot}", out.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
