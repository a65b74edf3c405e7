"""Qt pieces of the short-axis mode: the long-axis views and the question dialog."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QLabel, QMessageBox, QVBoxLayout, QWidget

from wallthick import Label

__all__ = ["LongAxisViews", "ask_yes_no", "render_plane"]

PLANE_TITLES = {"four_chamber": "4-chamber", "two_chamber": "2-chamber"}
_WINDOW_HU = (-200.0, 700.0)
_MYO_RGB = (60, 220, 90)
_LINE_RGB = (255, 210, 0)


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    """A modal Yes/No question (the default answer is No)."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return bool(answer == QMessageBox.StandardButton.Yes)


def render_plane(
    image: npt.NDArray[np.floating], labels: npt.NDArray[np.integer] | None, slice_row: float
) -> npt.NDArray[np.uint8]:
    """RGB picture of a long-axis plane: CT in a soft-tissue window, the
    myocardium's outline in green and the current SAX slice as a yellow line."""
    lo, hi = _WINDOW_HU
    grey = np.clip((np.asarray(image, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
    rgb = np.repeat((grey * 255).astype(np.uint8)[..., None], 3, axis=2)
    if labels is not None:
        myo = np.asarray(labels) == Label.LV_MYOCARDIUM
        edge = myo & ~(
            np.roll(myo, 1, 0) & np.roll(myo, -1, 0) & np.roll(myo, 1, 1) & np.roll(myo, -1, 1)
        )
        rgb[edge] = _MYO_RGB
    row = int(round(slice_row))
    if 0 <= row < rgb.shape[0]:
        rgb[row] = _LINE_RGB
    return np.ascontiguousarray(rgb)


class LongAxisViews(QWidget):
    """The 4- and 2-chamber views, with the current short-axis slice marked."""

    def __init__(self) -> None:
        super().__init__()
        self.pictures: dict[str, QLabel] = {}
        self.rows: dict[str, float] = {}
        layout = QVBoxLayout(self)
        for name, title in PLANE_TITLES.items():
            caption = QLabel(f"{title} (apex at the top; yellow: short-axis slice)")
            picture = QLabel()
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setMinimumSize(200, 200)
            layout.addWidget(caption)
            layout.addWidget(picture, stretch=1)
            self.pictures[name] = picture
        self.setMinimumWidth(260)

    def show_planes(
        self,
        images: Mapping[str, npt.NDArray[np.floating]],
        labels: Mapping[str, npt.NDArray[np.integer] | None],
        rows: Mapping[str, float],
    ) -> None:
        for name, picture in self.pictures.items():
            if name not in images:
                continue
            rgb = render_plane(images[name], labels.get(name), rows[name])
            self.rows[name] = rows[name]
            h, w, _ = rgb.shape
            qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            pixmap = QPixmap.fromImage(qimage)
            picture.setPixmap(
                pixmap.scaled(
                    max(picture.width(), 200),
                    max(picture.height(), 200),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
