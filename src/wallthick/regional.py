"""Regional change: which AHA segments changed beyond measurement error.

For one baseline/follow-up pair every AHA segment measured in both scans is
tested against its own 1-sigma uncertainties (``aha_N_uncertainty_mm``):

    z_i = delta_i / sqrt(u_b,i**2 + u_f,i**2),   p_i = 2 * (1 - Phi(|z_i|)).

With up to 17 tests per pair, a per-test 5 % level would flag some segment of
an unchanged heart more often than not. The family-wise error rate over the
segments of the pair is controlled with Holm's step-down procedure (Holm 1979):
the p-values are sorted, ``p_(k)`` is compared with ``alpha / (m - k + 1)``
and the procedure stops at the first one that is not below. Equivalently a
segment is significant when its Holm-adjusted p-value ``p_holm <= alpha``,
``alpha = 1 - confidence``. A significant segment is flagged ``thickened`` /
``thinned`` only when ``|delta|`` also exceeds ``floor_mm`` (the same floor as
the per-wall rule, which only removes flags and so keeps the control).

The per-wall rule of :mod:`wallthick.compare` is unchanged; this module adds
the per-segment table (``docs/comparison.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from statistics import NormalDist
from typing import Any

from wallthick.compare import (
    DEFAULT_CONFIDENCE,
    DEFAULT_FLOOR_MM,
    ComparisonRow,
    _as_row,
    _check_confidence,
    _check_floor,
    _field_values,
    _float,
)
from wallthick.compare import _fmt as _fmt_wall
from wallthick.measure.aha import AHA_SEGMENTS, SEGMENT_NAMES
from wallthick.measure.result import Measurement

__all__ = [
    "SEGMENT_COMPARISON_COLUMNS",
    "SegmentChange",
    "compare_segment_pair",
    "compare_segments",
    "holm_adjust",
]


@dataclass(frozen=True)
class SegmentChange:
    """One AHA segment of one baseline/follow-up pair (a line of the segment CSV).

    ``flag`` is ``thickened`` / ``thinned`` when the segment's Holm-adjusted
    p-value is at most ``1 - confidence`` and ``|delta_mm| > floor_mm``,
    ``stable`` otherwise, ``not_compared`` (with ``reason``) when the segment
    or the pair could not be tested. ``n_tested`` is the size of the family
    (segments tested in this pair).
    """

    patient_id: str
    baseline_series_uid: str
    followup_series_uid: str
    baseline_date: str
    followup_date: str
    segment: int
    segment_name: str
    baseline_mm: float
    followup_mm: float
    delta_mm: float
    baseline_uncertainty_mm: float
    followup_uncertainty_mm: float
    z: float
    p_value: float
    p_holm: float
    n_tested: int
    flag: str
    reason: str
    floor_mm: float
    confidence: float
    key: str
    group: str

    def to_row(self) -> dict[str, str]:
        """The CSV row (NaN -> empty)."""
        return {k: _fmt(v) for k, v in asdict(self).items()}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SegmentChange:
        """Inverse of :meth:`to_row`."""
        return cls(**_field_values(cls, row))

    @property
    def changed(self) -> bool:
        return self.flag in ("thickened", "thinned")


SEGMENT_COMPARISON_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SegmentChange))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given; NaN stays NaN).

    ``p_holm_(k) = max_{j <= k} min(1, (m - j + 1) * p_(j))`` over the ``m``
    finite p-values sorted ascending. A hypothesis is rejected at family-wise
    level ``alpha`` exactly when its adjusted p-value is ``<= alpha``.

    Examples
    --------
    >>> [round(p, 3) for p in holm_adjust([0.01, 0.04, 0.03, 0.5])]
    [0.04, 0.09, 0.09, 0.5]
    """
    finite = sorted((p, i) for i, p in enumerate(p_values) if math.isfinite(p))
    if any(not 0.0 <= p <= 1.0 for p, _ in finite):
        raise ValueError("Argument 'p_values' must hold probabilities in [0, 1] or NaN.")
    out = [math.nan] * len(p_values)
    m, running = len(finite), 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def compare_segment_pair(
    baseline: Mapping[str, Any] | Measurement,
    followup: Mapping[str, Any] | Measurement,
    *,
    floor_mm: float = DEFAULT_FLOOR_MM,
    confidence: float = DEFAULT_CONFIDENCE,
    key: str = "patient_id",
    group: str | None = None,
) -> list[SegmentChange]:
    """Test every AHA segment of one pair; 17 rows, segment order.

    ``baseline`` and ``followup`` are ``measurements.csv`` rows (or
    :class:`Measurement` objects). Segments without a value or an uncertainty
    in either scan are ``not_compared`` and not part of the family.
    """
    _check_confidence(confidence)
    _check_floor(floor_mm)
    base, follow = _as_row(baseline), _as_row(followup)
    ctx = _PairContext(base, follow, floor_mm, confidence, key, group)
    tests = [ctx.test(s) for s in AHA_SEGMENTS]
    adjusted = holm_adjust([t.p for t in tests])
    n = sum(math.isfinite(t.p) for t in tests)
    alpha = 1.0 - confidence
    out = []
    for s, t, p_holm in zip(AHA_SEGMENTS, tests, adjusted, strict=True):
        if t.reason:
            out.append(ctx.row(s, t, math.nan, n, "not_compared", t.reason))
            continue
        flag = "stable"
        if p_holm <= alpha and abs(t.delta) > floor_mm:
            flag = "thickened" if t.delta > 0 else "thinned"
        out.append(ctx.row(s, t, p_holm, n, flag, ""))
    return out


def compare_segments(
    rows: Iterable[Mapping[str, Any] | Measurement], comparisons: Iterable[ComparisonRow]
) -> list[SegmentChange]:
    """Per-segment tests for every pair of a per-wall comparison.

    ``comparisons`` (from :func:`wallthick.compare.compare_measurements` and
    friends) say which scans were paired and with which floor and confidence;
    ``rows`` are the measurements they were computed from, found again by
    series UID (with study UID, date and time). A pair that the per-wall
    comparison could not use (a failed or QC-failed scan, no follow-up) gets
    17 ``not_compared`` rows with its reason; a pair with only a missing wall
    value is still tested segment by segment.
    """
    table = [_as_row(r) for r in rows]
    index: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in table:
        index.setdefault(_identity(r), []).append(r)
    out: list[SegmentChange] = []
    for pair in _pairs(comparisons):
        c = pair[0]
        base = _lookup(index, c, "baseline")
        follow = _lookup(index, c, "followup")
        blocking = next((p.reason for p in pair if _blocks(p)), "")
        if not blocking and (base is None or follow is None):
            blocking = "the pair's measurements are not in the table (or not unique)"
        if blocking:
            out += [_not_compared(c, s, blocking) for s in AHA_SEGMENTS]
            continue
        assert base is not None and follow is not None
        out += compare_segment_pair(
            base, follow, floor_mm=c.floor_mm, confidence=c.confidence, key=c.key, group=c.group
        )
    return out


# -- helpers ----------------------------------------------------------------
@dataclass(frozen=True)
class _SegmentTest:
    """One segment's values and z-test in a pair (NaN where not tested)."""

    b: float
    f: float
    ub: float
    uf: float
    delta: float = math.nan
    z: float = math.nan
    p: float = math.nan
    reason: str = ""


@dataclass(frozen=True)
class _PairContext:
    base: Mapping[str, Any]
    follow: Mapping[str, Any]
    floor_mm: float
    confidence: float
    key: str
    group: str | None

    def test(self, segment: int) -> _SegmentTest:
        value, unc = f"aha_{segment}_mm", f"aha_{segment}_uncertainty_mm"
        b, f = _float(self.base.get(value)), _float(self.follow.get(value))
        ub, uf = _float(self.base.get(unc)), _float(self.follow.get(unc))
        missing = [
            name
            for name, v in (
                (f"baseline {value}", b),
                (f"follow-up {value}", f),
                (f"baseline {unc}", ub),
                (f"follow-up {unc}", uf),
            )
            if not math.isfinite(v) or (name.endswith("uncertainty_mm") and v <= 0)
        ]
        if missing:
            return _SegmentTest(b, f, ub, uf, reason="missing value: " + ", ".join(missing))
        z = (f - b) / math.hypot(ub, uf)
        return _SegmentTest(b, f, ub, uf, delta=f - b, z=z, p=2.0 * NormalDist().cdf(-abs(z)))

    def row(
        self, segment: int, t: _SegmentTest, p_holm: float, n: int, flag: str, reason: str
    ) -> SegmentChange:
        b, f = self.base, self.follow
        group = self.group if self.group is not None else str(b.get(self.key) or "")
        return SegmentChange(
            patient_id=str(b.get("patient_id") or f.get("patient_id") or ""),
            baseline_series_uid=str(b.get("series_instance_uid", "") or ""),
            followup_series_uid=str(f.get("series_instance_uid", "") or ""),
            baseline_date=str(b.get("study_date", "") or ""),
            followup_date=str(f.get("study_date", "") or ""),
            segment=segment,
            segment_name=SEGMENT_NAMES[segment],
            baseline_mm=t.b,
            followup_mm=t.f,
            delta_mm=t.delta,
            baseline_uncertainty_mm=t.ub,
            followup_uncertainty_mm=t.uf,
            z=t.z,
            p_value=t.p,
            p_holm=p_holm,
            n_tested=n,
            flag=flag,
            reason=reason,
            floor_mm=self.floor_mm,
            confidence=self.confidence,
            key=self.key,
            group=group,
        )


def _pairs(comparisons: Iterable[ComparisonRow]) -> list[list[ComparisonRow]]:
    """Wall rows grouped by pair, in first-seen order."""
    pairs: dict[tuple[str, ...], list[ComparisonRow]] = {}
    for c in comparisons:
        ident = (
            c.group,
            c.baseline_series_uid,
            c.baseline_study_uid,
            c.baseline_date,
            c.baseline_time,
            c.followup_series_uid,
            c.followup_study_uid,
            c.followup_date,
            c.followup_time,
        )
        pairs.setdefault(ident, []).append(c)
    return list(pairs.values())


def _blocks(c: ComparisonRow) -> bool:
    """A per-wall reason that also rules out the segments (not a missing wall value)."""
    return not c.compared and not c.reason.startswith("missing value")


_IDENTITY = ("series_instance_uid", "study_instance_uid", "study_date", "study_time")
_COMPARISON_IDENTITY = ("series_uid", "study_uid", "date", "time")


def _identity(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(row.get(k, "") or "") for k in _IDENTITY)


def _lookup(
    index: Mapping[tuple[str, ...], list[dict[str, Any]]], c: ComparisonRow, role: str
) -> dict[str, Any] | None:
    ident = tuple(str(getattr(c, f"{role}_{k}")) for k in _COMPARISON_IDENTITY)
    hits = index.get(ident, [])
    return hits[0] if len(hits) == 1 else None


def _not_compared(c: ComparisonRow, segment: int, reason: str) -> SegmentChange:
    return SegmentChange(
        patient_id=c.patient_id,
        baseline_series_uid=c.baseline_series_uid,
        followup_series_uid=c.followup_series_uid,
        baseline_date=c.baseline_date,
        followup_date=c.followup_date,
        segment=segment,
        segment_name=SEGMENT_NAMES[segment],
        baseline_mm=math.nan,
        followup_mm=math.nan,
        delta_mm=math.nan,
        baseline_uncertainty_mm=math.nan,
        followup_uncertainty_mm=math.nan,
        z=math.nan,
        p_value=math.nan,
        p_holm=math.nan,
        n_tested=0,
        flag="not_compared",
        reason=reason,
        floor_mm=c.floor_mm,
        confidence=c.confidence,
        key=c.key,
        group=c.group,
    )


def _fmt(value: Any) -> str:
    """As the per-wall table, but tiny values (p-values) keep 4 significant digits."""
    if isinstance(value, float) and value != 0 and abs(value) < 1e-3:
        return f"{value:.4g}"
    return _fmt_wall(value)
