"""Pre/post comparison: is a change in wall thickness larger than measurement error?

Each patient's (or other key's) studies are ordered by study date and time; the
earliest is the baseline (or the one chosen with ``baseline=``) and is paired
with every later study, for the septal and the posterior wall. A change is
flagged only when it exceeds the minimal detectable change (MDC) of that pair,

    MDC = z * sqrt(u_baseline**2 + u_followup**2),   z = Phi^-1((1 + confidence) / 2)

never below a user floor (see ``docs/comparison.md``). The function works on
``measurements.csv`` rows (mappings of column name to string or number) and
returns :class:`ComparisonRow` objects; files are read and written by
:mod:`wallthick.report.tables` and the CLI.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, time
from statistics import NormalDist
from typing import Any

from wallthick.measure.result import MEASURED_STATUSES, Measurement

__all__ = [
    "COMPARISON_COLUMNS",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_FLOOR_MM",
    "FLAGS",
    "WALLS",
    "ComparisonRow",
    "compare_measurements",
    "compare_pair",
    "compare_sets",
    "minimal_detectable_change",
]

logger = logging.getLogger(__name__)

#: Default lower bound of the detection threshold, in mm (see docs/comparison.md).
DEFAULT_FLOOR_MM = 0.5
DEFAULT_CONFIDENCE = 0.95
#: Flag values. ``not_compared`` rows say why in ``reason``.
FLAGS = ("thickened", "thinned", "stable", "not_compared")
#: Wall name -> (value column, uncertainty column) of measurements.csv.
WALLS: dict[str, tuple[str, str]] = {
    "septal": ("septal_thickness_mm", "septal_uncertainty_mm"),
    "posterior": ("posterior_wall_thickness_mm", "posterior_uncertainty_mm"),
}


@dataclass(frozen=True)
class ComparisonRow:
    """One wall of one baseline/follow-up pair (one line of the comparison CSV).

    ``delta_mm = followup_mm - baseline_mm``; ``z = delta_mm / sqrt(u_b^2 + u_f^2)``;
    ``threshold_mm = max(mdc_mm, floor_mm)``. ``flag`` is ``thickened`` /
    ``thinned`` when ``|delta_mm| > threshold_mm``, ``stable`` otherwise, and
    ``not_compared`` (with ``reason``) when the pair could not be compared.
    ``note`` warns about differences between the two measurements that the
    threshold does not account for (software version, segmenter, corrected
    versus automatic segmentation).
    """

    patient_id: str
    baseline_series_uid: str
    followup_series_uid: str
    baseline_date: str
    followup_date: str
    wall: str
    baseline_mm: float
    followup_mm: float
    delta_mm: float
    threshold_mm: float
    flag: str
    reason: str
    z: float
    baseline_uncertainty_mm: float
    followup_uncertainty_mm: float
    mdc_mm: float
    floor_mm: float
    confidence: float
    key: str
    group: str
    baseline_time: str
    followup_time: str
    interval_days: float
    baseline_study_uid: str
    followup_study_uid: str
    note: str = ""

    def to_row(self) -> dict[str, str]:
        """The CSV row, keyed by :data:`COMPARISON_COLUMNS` (NaN -> empty)."""
        return {k: _fmt(v) for k, v in asdict(self).items()}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ComparisonRow:
        """Inverse of :meth:`to_row` (missing columns become empty / NaN)."""
        return cls(**_field_values(cls, row))

    @property
    def compared(self) -> bool:
        return self.flag != "not_compared"


COMPARISON_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ComparisonRow))


def minimal_detectable_change(
    u_baseline_mm: float, u_followup_mm: float, confidence: float = DEFAULT_CONFIDENCE
) -> float:
    """Smallest change distinguishable from measurement error at ``confidence``.

    Two-sided: ``z * sqrt(u_b**2 + u_f**2)`` with ``z`` the standard-normal
    quantile of ``(1 + confidence) / 2`` (1.96 at 95 %).

    Examples
    --------
    >>> round(minimal_detectable_change(0.3, 0.4), 3)
    0.98
    """
    _check_confidence(confidence)
    if u_baseline_mm < 0 or u_followup_mm < 0:
        raise ValueError(
            "Uncertainties must be >= 0 mm, got "
            f"u_baseline_mm={u_baseline_mm}, u_followup_mm={u_followup_mm}."
        )
    return _z(confidence) * math.hypot(u_baseline_mm, u_followup_mm)


def compare_measurements(
    rows: Iterable[Mapping[str, Any] | Measurement],
    *,
    key: str = "patient_id",
    baseline: str | None = None,
    floor_mm: float = DEFAULT_FLOOR_MM,
    confidence: float = DEFAULT_CONFIDENCE,
    usable_baseline: bool = False,
    include_qc_failed: bool = False,
) -> list[ComparisonRow]:
    """Pair each group's baseline with every later study and flag real changes.

    Parameters
    ----------
    rows : iterable of mapping or Measurement
        ``measurements.csv`` rows (values as strings or numbers), or
        :class:`~wallthick.measure.result.Measurement` objects.
    key : str
        Column that groups studies of one subject (default ``patient_id``).
    baseline : str, optional
        Choose the baseline explicitly instead of the earliest study: a series
        instance UID, a study instance UID, or a study date (``YYYYMMDD`` or
        ``YYYY-MM-DD``). Groups without a matching study get ``not_compared``
        rows with reason ``missing baseline``.
    floor_mm : float
        Lower bound of the threshold, mm (>= 0).
    confidence : float
        Two-sided confidence of the minimal detectable change, in (0, 1).
    usable_baseline : bool
        Without an explicit ``baseline``: when the earliest study failed or is
        QC-flagged, use the earliest *usable* study instead (its rows say so in
        ``note``; the unusable earlier studies are reported ``not_compared``).
        Off by default: the baseline is the earliest study, as documented.
    include_qc_failed : bool
        Compare measurements whose status is ``qc_failed`` too (their rows say
        so in ``note``). Off by default: a QC-failed value failed a
        plausibility check, so it is reported ``not_compared``. Failed
        measurements and missing values are never compared.

    Returns
    -------
    list of ComparisonRow
        Two rows (septal, posterior) per pair, ordered by group, follow-up
        date/time and wall. A group with one study gives ``not_compared`` rows
        (reason ``no follow-up study``) so that no subject is silently dropped.

    Raises
    ------
    ValueError
        If ``key`` is not a column of the rows, or ``floor_mm`` / ``confidence``
        are out of range.
    """
    table = [_as_row(r) for r in rows]
    _check_confidence(confidence)
    _check_floor(floor_mm)
    if table and not any(key in r for r in table):
        raise ValueError(f"Argument 'key' must be a column of the rows, got {key!r}.")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in table:
        groups[str(r.get(key) or "")].append(r)
    out: list[ComparisonRow] = []
    for group in sorted(groups):
        ctx = _Context(key, group, floor_mm, confidence, include_qc_failed=include_qc_failed)
        if not group:
            out += [
                row
                for r in groups[group]
                for row in ctx.not_compared(r, None, f"empty {key}").both()
            ]
            continue
        out += _compare_group(groups[group], baseline, ctx, usable_baseline)
    return out


def compare_pair(
    baseline: Mapping[str, Any] | Measurement,
    followup: Mapping[str, Any] | Measurement,
    *,
    floor_mm: float = DEFAULT_FLOOR_MM,
    confidence: float = DEFAULT_CONFIDENCE,
    key: str = "patient_id",
    include_qc_failed: bool = False,
) -> list[ComparisonRow]:
    """Compare two single measurements (septal and posterior rows).

    The pair is compared as given, whatever their keys and dates; a
    follow-up dated before its baseline is compared too, and its
    ``interval_days`` is negative. ``include_qc_failed`` as in
    :func:`compare_measurements`.
    """
    _check_confidence(confidence)
    _check_floor(floor_mm)
    base, follow = _as_row(baseline), _as_row(followup)
    group = str(base.get(key) or follow.get(key) or "")
    ctx = _Context(key, group, floor_mm, confidence, include_qc_failed=include_qc_failed)
    return ctx.pair(base, follow)


def compare_sets(
    baseline_rows: Iterable[Mapping[str, Any] | Measurement],
    followup_rows: Iterable[Mapping[str, Any] | Measurement],
    *,
    key: str = "patient_id",
    floor_mm: float = DEFAULT_FLOOR_MM,
    confidence: float = DEFAULT_CONFIDENCE,
    include_qc_failed: bool = False,
) -> list[ComparisonRow]:
    """Compare a baseline set against a follow-up set (the two-files mode).

    With exactly one row on each side the two are compared directly
    (:func:`compare_pair`). Otherwise every follow-up row is paired with the
    earliest baseline row of the same ``key``; follow-ups without one get
    ``not_compared`` rows with reason ``missing baseline``.
    """
    base = [_as_row(r) for r in baseline_rows]
    follow = [_as_row(r) for r in followup_rows]
    if len(base) == 1 and len(follow) == 1:
        return compare_pair(
            base[0],
            follow[0],
            floor_mm=floor_mm,
            confidence=confidence,
            key=key,
            include_qc_failed=include_qc_failed,
        )
    _check_confidence(confidence)
    _check_floor(floor_mm)
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in base:
        by_key[str(r.get(key) or "")].append(r)
    out: list[ComparisonRow] = []
    for f in sorted(follow, key=lambda r: (str(r.get(key) or ""), _when(r) or datetime.max)):
        group = str(f.get(key) or "")
        ctx = _Context(key, group, floor_mm, confidence, include_qc_failed=include_qc_failed)
        candidates = sorted(by_key.get(group, []), key=_order) if group else []
        if not candidates:
            out += ctx.not_compared(
                f, None, f"missing baseline: no study with {key}={group!r} in the baseline set"
            ).both()
        else:
            out += ctx.pair(candidates[0], f)
    return out


# -- grouping ---------------------------------------------------------------
def _compare_group(
    studies: list[dict[str, Any]], baseline: str | None, ctx: _Context, usable_baseline: bool
) -> list[ComparisonRow]:
    undated = [r for r in studies if _when(r) is None]
    dated = sorted((r for r in studies if _when(r) is not None), key=_order)
    out: list[ComparisonRow] = []
    before_base = "study precedes the chosen baseline"
    if baseline is None:
        base = dated[0] if dated else None
        usable = [r for r in dated if not ctx.unusable(r, "study")]
        if usable_baseline and base is not None and usable and usable[0] is not base:
            base = usable[0]
            before_base = "study before the earliest usable baseline"
            ctx = replace(ctx, base_note="baseline is the earliest usable study")
    else:
        base = _find_baseline(studies, baseline)
        if base is None:
            reason = f"missing baseline: no study matches baseline={baseline!r}"
            return [
                row
                for r in sorted(studies, key=_order)
                for row in ctx.not_compared(r, None, reason).both()
            ]
    for r in undated:
        if r is not base:
            out += ctx.not_compared(r, base, "missing study date: cannot order the study").both()
    if base is None:
        return out
    followups = [r for r in dated if r is not base and _order(r) > _order(base)]
    earlier = [r for r in dated if r is not base and _order(r) <= _order(base)]
    for r in earlier:
        why = ctx.unusable(r, "study")
        out += ctx.not_compared(r, base, f"{before_base}" + (f"; {why}" if why else "")).both()
    if not followups and not out:
        out += ctx.not_compared(None, base, "no follow-up study").both()
    for f in followups:
        out += ctx.pair(base, f)
    return out


def _find_baseline(studies: Sequence[dict[str, Any]], baseline: str) -> dict[str, Any] | None:
    wanted = baseline.strip()
    for column in ("series_instance_uid", "study_instance_uid"):
        hits = [r for r in studies if str(r.get(column, "")) == wanted]
        if hits:
            return sorted(hits, key=_order)[0]
    day = wanted.replace("-", "")
    hits = [r for r in studies if str(r.get("study_date", "")).strip() == day]
    return sorted(hits, key=_order)[0] if hits else None


# -- one pair -----------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    key: str
    group: str
    floor_mm: float
    confidence: float
    base_note: str = ""
    include_qc_failed: bool = False

    def unusable(self, row: Mapping[str, Any], role: str) -> str:
        """Why a study cannot be compared ('' when it can)."""
        failed = _failure(row, role)
        if failed:
            return failed
        criteria = _qc_failure(row)
        if criteria and not self.include_qc_failed:
            uid = str(row.get("series_instance_uid", "") or "?")
            return f"{role} measurement QC-failed (series {uid}): {criteria}"
        return ""

    def pair(self, base: Mapping[str, Any], follow: Mapping[str, Any]) -> list[ComparisonRow]:
        problem = self.unusable(base, "baseline") or self.unusable(follow, "follow-up")
        if problem:
            return self.not_compared(follow, base, problem).both()
        return [self._wall(base, follow, wall) for wall in WALLS]

    def _wall(self, base: Mapping[str, Any], follow: Mapping[str, Any], wall: str) -> ComparisonRow:
        value_col, unc_col = WALLS[wall]
        b, f = _float(base.get(value_col)), _float(follow.get(value_col))
        ub, uf = _float(base.get(unc_col)), _float(follow.get(unc_col))
        missing = [
            name
            for name, v in (
                (f"baseline {value_col}", b),
                (f"follow-up {value_col}", f),
                (f"baseline {unc_col}", ub),
                (f"follow-up {unc_col}", uf),
            )
            if not math.isfinite(v) or (name.endswith("uncertainty_mm") and v < 0)
        ]
        if missing:
            return self._row(
                base, follow, wall, "not_compared", "missing value: " + ", ".join(missing)
            )
        delta = f - b
        sigma = math.hypot(ub, uf)
        mdc = _z(self.confidence) * sigma
        threshold = max(mdc, self.floor_mm)
        if abs(delta) > threshold:
            flag = "thickened" if delta > 0 else "thinned"
        else:
            flag = "stable"
        z = delta / sigma if sigma > 0 else (math.copysign(math.inf, delta) if delta else 0.0)
        return self._row(
            base, follow, wall, flag, "", delta=delta, z=z, mdc=mdc, threshold=threshold
        )

    def _qc_note(self, base: Mapping[str, Any], follow: Mapping[str, Any]) -> str:
        """Which QC-failed measurements were compared (``include_qc_failed`` only)."""
        if not self.include_qc_failed:
            return ""
        return "; ".join(
            f"{role} QC-failed ({criteria}), compared on request"
            for role, row in (("baseline", base), ("follow-up", follow))
            if row and (criteria := _qc_failure(row))
        )

    def not_compared(
        self, follow: Mapping[str, Any] | None, base: Mapping[str, Any] | None, reason: str
    ) -> _Pending:
        return _Pending(self, base or {}, follow or {}, reason)

    def _row(
        self,
        base: Mapping[str, Any],
        follow: Mapping[str, Any],
        wall: str,
        flag: str,
        reason: str,
        *,
        delta: float = math.nan,
        z: float = math.nan,
        mdc: float = math.nan,
        threshold: float = math.nan,
    ) -> ComparisonRow:
        value_col, unc_col = WALLS[wall]
        tb, tf = _when(base), _when(follow)
        interval = (tf - tb).total_seconds() / 86400.0 if tb and tf else math.nan
        return ComparisonRow(
            patient_id=str(base.get("patient_id") or follow.get("patient_id") or ""),
            baseline_series_uid=str(base.get("series_instance_uid", "") or ""),
            followup_series_uid=str(follow.get("series_instance_uid", "") or ""),
            baseline_date=str(base.get("study_date", "") or ""),
            followup_date=str(follow.get("study_date", "") or ""),
            wall=wall,
            baseline_mm=_float(base.get(value_col)),
            followup_mm=_float(follow.get(value_col)),
            delta_mm=delta,
            threshold_mm=threshold,
            flag=flag,
            reason=reason,
            z=z,
            baseline_uncertainty_mm=_float(base.get(unc_col)),
            followup_uncertainty_mm=_float(follow.get(unc_col)),
            mdc_mm=mdc,
            floor_mm=self.floor_mm,
            confidence=self.confidence,
            key=self.key,
            group=self.group,
            baseline_time=str(base.get("study_time", "") or ""),
            followup_time=str(follow.get("study_time", "") or ""),
            interval_days=interval,
            baseline_study_uid=str(base.get("study_instance_uid", "") or ""),
            followup_study_uid=str(follow.get("study_instance_uid", "") or ""),
            note="; ".join(
                n
                for n in (
                    self.base_note,
                    self._qc_note(base, follow),
                    _note(base, follow) if base and follow else "",
                )
                if n
            ),
        )


@dataclass(frozen=True)
class _Pending:
    """A pair that cannot be compared; ``both()`` gives its two wall rows."""

    ctx: _Context
    base: Mapping[str, Any]
    follow: Mapping[str, Any]
    reason: str

    def both(self) -> list[ComparisonRow]:
        return [
            self.ctx._row(self.base, self.follow, wall, "not_compared", self.reason)
            for wall in WALLS
        ]


def _failure(row: Mapping[str, Any], role: str) -> str:
    """Why a study has no measurement at all ('' when it has one)."""
    status = str(row.get("status", "ok") or "ok").strip().lower()
    if status in MEASURED_STATUSES:
        return ""
    uid = str(row.get("series_instance_uid", "") or "?")
    error = str(row.get("error", "") or "no error message")
    return f"{role} measurement failed (series {uid}): {error}"


def _qc_failure(row: Mapping[str, Any]) -> str:
    """The QC criteria a measured study failed, comma-separated ('' when it passed).

    A row of an older schema (status ``ok`` with ``qc_flags``) counts as QC-failed.
    """
    flags = [f.strip() for f in str(row.get("qc_flags", "") or "").split(";") if f.strip()]
    status = str(row.get("status", "ok") or "ok").strip().lower()
    if not flags and status == "qc_failed":
        flags = ["status qc_failed"]
    return ", ".join(flags)


def _note(base: Mapping[str, Any], follow: Mapping[str, Any]) -> str:
    """Differences in how the two values were obtained (empty when none)."""
    notes = []
    for column, what in _PROVENANCE:
        b, f = str(base.get(column, "") or ""), str(follow.get(column, "") or "")
        if b and f and b != f:
            notes.append(f"{what} differs ({b} vs {f})")
    return "; ".join(notes)


_PROVENANCE = (
    ("wallthick_version", "wallthick version"),
    ("segmenter", "segmenter"),
    ("segmentation_source", "segmentation source"),
)


# -- values ---------------------------------------------------------------------
def _field_values(cls: type, row: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments of a row dataclass from CSV strings (by field type;
    missing columns become empty, NaN or 0)."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        raw = row.get(f.name, "")
        if f.type == "float":
            values[f.name] = _float(raw)
        elif f.type == "int":
            number = _float(raw)
            values[f.name] = int(number) if math.isfinite(number) else 0
        else:
            values[f.name] = "" if raw is None else str(raw)
    return values


def _as_row(item: Mapping[str, Any] | Measurement) -> dict[str, Any]:
    if isinstance(item, Measurement):
        return dict(item.to_row())
    if isinstance(item, Mapping):
        return dict(item)
    raise TypeError(
        f"Rows must be mappings (measurements.csv rows) or Measurement objects, got {type(item).__name__}."
    )


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.4f}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    return str(value)


def _when(row: Mapping[str, Any]) -> datetime | None:
    """Study date + time (time defaults to midnight); None without a valid date."""
    raw_date = str(row.get("study_date", "") or "").strip().replace("-", "")
    try:
        day = datetime.strptime(raw_date, "%Y%m%d").date()
    except ValueError:
        return None
    return datetime.combine(day, _parse_time(str(row.get("study_time", "") or "")))


def _parse_time(text: str) -> time:
    """DICOM TM (``HH``, ``HHMM``, ``HHMMSS``, ``HHMMSS.ffffff``, or with colons)."""
    digits, _, frac = text.strip().replace(":", "").partition(".")
    if not digits.isdigit() or len(digits) not in (2, 4, 6):
        return time(0, 0)
    parts = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)] + [0, 0]
    micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
    try:
        return time(parts[0], parts[1], parts[2], micro)
    except ValueError:
        return time(0, 0)


def _order(row: Mapping[str, Any]) -> tuple[datetime, str]:
    """Sort key: date/time, then series UID so that ties are deterministic."""
    return (_when(row) or datetime.max, str(row.get("series_instance_uid", "") or ""))


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"Argument 'confidence' must be in (0, 1), got {confidence}.")


def _check_floor(floor_mm: float) -> None:
    if not (math.isfinite(floor_mm) and floor_mm >= 0.0):
        raise ValueError(f"Argument 'floor_mm' must be a finite number >= 0 mm, got {floor_mm}.")
