"""AHA 17-segment numbering (Cerqueira et al., Circulation 2002;105:539-42).

Levels: basal ``h >= 2/3``, mid ``1/3 <= h < 2/3``, apical ``cap <= h < 1/3``
and the apical cap (17) ``h < cap``, where ``h`` is the level of the
endocardial point, 0 at the endocardial apex and 1 at the most basal
short-axis level with myocardium all around. Points more than ``basal_tol``
above that level (partial rings at the valve planes) get 0 (no segment).

Angles ``theta`` (degrees) are measured around the long axis from the septum
(0) towards the anterior wall (+90). Basal and mid rings: six 60-degree
sectors starting at the anterior RV insertion ``theta_ai`` and running through
the septum to the inferior wall: 2 anteroseptal, 3 inferoseptal, 4 inferior,
5 inferolateral, 6 anterolateral, 1 anterior. Apical ring: four 90-degree
sectors centred on the septum: 14 septal, 15 inferior, 16 lateral, 13 anterior.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "AHA_SEGMENTS",
    "POSTERIOR_SEGMENTS",
    "SEGMENT_NAMES",
    "SEPTAL_SEGMENTS",
    "aha_segments",
]

#: All 17 segments, in order.
AHA_SEGMENTS: tuple[int, ...] = tuple(range(1, 18))
#: AHA segments averaged for the septal thickness (basal + mid anteroseptal and
#: inferoseptal; Cerqueira et al. 2002).
SEPTAL_SEGMENTS: tuple[int, ...] = (2, 3, 8, 9)
#: AHA segments averaged for the posterior (inferolateral) wall thickness.
POSTERIOR_SEGMENTS: tuple[int, ...] = (5, 11)

SEGMENT_NAMES: dict[int, str] = {
    1: "basal anterior",
    2: "basal anteroseptal",
    3: "basal inferoseptal",
    4: "basal inferior",
    5: "basal inferolateral",
    6: "basal anterolateral",
    7: "mid anterior",
    8: "mid anteroseptal",
    9: "mid inferoseptal",
    10: "mid inferior",
    11: "mid inferolateral",
    12: "mid anterolateral",
    13: "apical anterior",
    14: "apical septal",
    15: "apical inferior",
    16: "apical lateral",
    17: "apex",
}

_RING6 = np.array([2, 3, 4, 5, 6, 1])
_RING4 = np.array([14, 15, 16, 13])


def aha_segments(
    level: npt.ArrayLike,
    theta_deg: npt.ArrayLike,
    anterior_insertion_deg: float = 60.0,
    cap: float = 0.1,
    basal_tol: float = 0.03,
) -> npt.NDArray[np.uint8]:
    """AHA segment number (0-17) of points given level and short-axis angle.

    Examples
    --------
    >>> aha_segments([0.9, 0.9, 0.5, 0.5, 0.2, 0.05, 1.5], [30, -30, -150, 120, 0, 0, 0]).tolist()
    [2, 3, 11, 7, 14, 17, 0]
    """
    h = np.asarray(level, dtype=np.float64)
    th = np.asarray(theta_deg, dtype=np.float64)
    beta = np.mod(anterior_insertion_deg - th, 360.0)
    six = _RING6[(np.floor(beta / 60.0).astype(np.int64)) % 6]
    four = _RING4[(np.floor(np.mod(45.0 - th, 360.0) / 90.0).astype(np.int64)) % 4]
    seg = np.where(h >= 2.0 / 3.0, six, np.where(h >= 1.0 / 3.0, six + 6, four))
    seg = np.where(h < cap, 17, seg)
    seg = np.where((h > 1.0 + basal_tol) | ~np.isfinite(h), 0, seg)
    return np.asarray(seg, dtype=np.uint8)
