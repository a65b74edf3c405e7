"""The one declaration of label numbers used everywhere in wallthick."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["LABEL_COLORS", "LABEL_SNOMED_CODES", "Label"]


class Label(IntEnum):
    """Label values of a :class:`wallthick.volume.LabelVolume`.

    Papillary muscles and trabeculae belong to ``LV_BLOOD_POOL`` (the cavity),
    never to ``LV_MYOCARDIUM``.
    """

    BACKGROUND = 0
    LV_BLOOD_POOL = 1
    LV_MYOCARDIUM = 2
    RV_BLOOD_POOL = 3
    LEFT_ATRIUM = 4
    AORTA = 5


#: RGBA colours (0-1) used by reports and the napari plugin.
LABEL_COLORS: dict[Label, tuple[float, float, float, float]] = {
    Label.BACKGROUND: (0.0, 0.0, 0.0, 0.0),
    Label.LV_BLOOD_POOL: (0.90, 0.20, 0.20, 1.0),
    Label.LV_MYOCARDIUM: (0.20, 0.80, 0.30, 1.0),
    Label.RV_BLOOD_POOL: (0.25, 0.45, 0.95, 1.0),
    Label.LEFT_ATRIUM: (0.95, 0.75, 0.20, 1.0),
    Label.AORTA: (0.80, 0.40, 0.90, 1.0),
}


#: SNOMED CT concept (code value, meaning) of each structure, used as the
#: SegmentedPropertyTypeCode of DICOM SEG segments (written and read).
LABEL_SNOMED_CODES: dict[Label, tuple[str, str]] = {
    Label.LV_BLOOD_POOL: ("87878005", "Left ventricle"),
    Label.LV_MYOCARDIUM: ("49848007", "Myocardium of left ventricle"),
    Label.RV_BLOOD_POOL: ("53085002", "Right ventricle"),
    Label.LEFT_ATRIUM: ("82471001", "Left atrium"),
    Label.AORTA: ("15825003", "Aorta"),
}
