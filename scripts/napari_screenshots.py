"""Make the analyst guide's screenshots (``docs/img/napari_*.png``).

Needs an X server: napari's screenshot of a window that was never shown is
black, so the window is shown under Xvfb with the xcb platform::

    xvfb-run -a -s "-screen 0 1600x1200x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/napari_screenshots.py docs/img
        .venv/bin/python scripts/napari_screenshots.py docs/img --short-axis   # that one only

The real-CT screenshots are made when the test-data folder is there
(``$WALLTHICK_TEST_DATA``, by default ``../shared/data`` beside the project;
see ``CONTRIBUTING.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WALLTHICK_TEST_DATA", ROOT.parent / "shared" / "data"))
REAL_CT = Path("real") / "chest_cta" / "ct_heart_crop.nii.gz"
WINDOW_SIZE = (1600, 1000)


def _wait(widget: Any, timeout_s: float = 600.0) -> None:
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    assert app is not None
    t0 = time.monotonic()
    while widget.busy and time.monotonic() - t0 < timeout_s:
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()


def _go_to_probe(viewer: Any, widget: Any) -> None:
    """Move the slider to the slice through the middle posterior probe."""
    result = widget.analysis.result
    if result is None:
        return
    probes = result.probes.get("posterior")
    if probes is None or len(probes) == 0:
        probes = result.probes.get("septal")
    if probes is None or len(probes) == 0:
        return
    mid = np.asarray(probes[len(probes) // 2]).mean(axis=0)  # LPS mm
    viewer.dims.set_point(0, float(mid[2]))  # world axis 0 is S; the probes follow the slice
    lv_centre = (result.frame.apex_mm + result.frame.base_center_mm) / 2.0
    viewer.camera.center = tuple(lv_centre[::-1])  # LPS -> world (S, P, L)
    viewer.camera.zoom *= 1.5


def screenshot(open_: Any, name: str, out_dir: Path) -> Path:
    """Open a scan, run the widget on it and save the whole window."""
    import imageio.v3 as iio
    import napari
    from napari_wallthick._widget import WallThicknessWidget

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(*WINDOW_SIZE)
    open_(viewer)
    widget = WallThicknessWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Wall thickness", area="right")
    widget.analyst_edit.setText("")
    widget.run_button.click()
    _wait(widget)
    viewer.reset_view()
    _go_to_probe(viewer, widget)
    _wait(widget)
    path = out_dir / name
    iio.imwrite(path, viewer.screenshot(canvas_only=False, flash=False))
    viewer.close()
    return path


def short_axis_screenshot(
    real_ct: Path, out_dir: Path, name: str = "napari_short_axis_real_ct.png"
) -> Path:
    """The real CTA in short-axis mode, at a mid-ventricular slice."""
    import imageio.v3 as iio
    import napari
    from napari_wallthick._widget import SHORT_AXIS, WallThicknessWidget

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1800, 1100)
    viewer.open(str(real_ct), plugin="wallthick")
    widget = WallThicknessWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Wall thickness", area="right")
    widget.run_button.click()
    _wait(widget)
    widget.mode_combo.setCurrentText(SHORT_AXIS)
    _wait(widget)
    assert widget.sax is not None and widget.sax.session is not None, widget.status.text()
    grid = widget.sax.session.grid
    frame = widget.sax.session.result.frame
    mid = grid.world_to_index((frame.apex_mm + 2.0 * frame.base_center_mm) / 3.0)
    viewer.reset_view()
    viewer.dims.set_point(0, float(mid[0] * grid.spacing_mm[0]))
    viewer.camera.zoom *= 1.6
    _wait(widget)
    path = out_dir / name
    iio.imwrite(path, viewer.screenshot(canvas_only=False, flash=False))
    widget.ask = lambda title, text: True  # nothing edited; never block on a dialog
    viewer.close()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir", nargs="?", type=Path, default=ROOT / "docs" / "img")
    p.add_argument("--data", type=Path, default=DATA, help="the test-data folder")
    p.add_argument("--short-axis", action="store_true", help="only the short-axis screenshot")
    args = p.parse_args(argv)
    out_dir: Path = args.out_dir
    real_ct: Path = args.data / REAL_CT
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.short_axis:
        sys.stdout.write(f"wrote {short_axis_screenshot(real_ct, out_dir)}\n")
        return 0
    shots = [
        screenshot(
            lambda v: v.open_sample("wallthick", "phantom_baseline"), "napari_phantom.png", out_dir
        )
    ]
    if real_ct.is_file():
        shots.append(
            screenshot(
                lambda v: v.open(str(real_ct), plugin="wallthick"), "napari_real_ct.png", out_dir
            )
        )
        shots.append(short_axis_screenshot(real_ct, out_dir))
    else:
        sys.stdout.write(f"no real CT at {real_ct}: its screenshots are skipped\n")
    for shot in shots:
        sys.stdout.write(f"wrote {shot}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
