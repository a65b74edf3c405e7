"""The cohort report: one self-contained HTML file, its PNG figures and a PDF.

:func:`write_report` reads a results folder written by ``wallthick batch``
(``measurements.csv`` and the per-series ``measurement.json``/``qc.png``),
compares each subject's studies (or uses a given comparison) and writes

* ``OUT.html`` – every image embedded as base64 PNG, no external resource;
* ``OUT_figures/*.png`` – the same plots as files (named by subject index,
  never by patient ID);
* ``OUT.pdf`` – the whole report drawn by matplotlib's PdfPages (no browser).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import platform
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread

from wallthick._version import __version__
from wallthick.compare import FLAGS, WALLS, ComparisonRow, compare_measurements
from wallthick.measure.result import MEASURED_STATUSES
from wallthick.regional import SegmentChange, compare_segments
from wallthick.report import plots
from wallthick.report.tables import read_comparison_csv, read_measurements
from wallthick.results import CSV_NAME, StoredResult, atomic_write, atomic_write_text, find_records

__all__ = ["ReportFiles", "write_report"]

logger = logging.getLogger(__name__)

_MANIFEST = "batch.json"
_PDF_TABLE_ROWS = 28


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    html: Path
    pdf: Path | None
    figures: tuple[Path, ...] = field(default_factory=tuple)


@dataclass
class _Subject:
    index: int
    group: str
    scans: list[dict[str, str]]
    comparisons: list[ComparisonRow]
    baseline_uid: str | None
    segment_changes: list[SegmentChange] = field(default_factory=list)
    figures: dict[str, Path] = field(default_factory=dict)


def write_report(
    results_dir: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    comparison: Sequence[ComparisonRow] | str | os.PathLike[str] | None = None,
    *,
    pdf: bool = True,
    options: Mapping[str, Any] | None = None,
) -> ReportFiles:
    """Write the cohort report of a results folder.

    Parameters
    ----------
    results_dir : path
        Folder written by ``wallthick batch`` (``measurements.csv`` plus one
        folder per series with ``measurement.json`` and ``qc.png``).
    out_html : path
        The HTML file to write; figures go to ``<stem>_figures/`` and the PDF to
        ``<stem>.pdf`` beside it.
    comparison : sequence of ComparisonRow, or path, optional
        The pre/post comparison to show (rows, or a CSV written by
        ``wallthick compare``). By default :func:`~wallthick.compare.compare_measurements`
        is run with its default options.
    pdf : bool
        Also write the PDF.
    options : mapping, optional
        Extra options to list in the report (e.g. the compare options used).

    Returns
    -------
    ReportFiles

    Raises
    ------
    FileNotFoundError
        ``results_dir`` is not a folder, or has neither ``measurements.csv``
        nor any ``measurement.json``.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: results folder not found.")
    out_html = Path(out_html)
    if not out_html.parent.is_dir():
        raise FileNotFoundError(f"Folder of the report does not exist: {out_html.parent}")
    records = find_records(root)
    rows = _rows(root, records)
    comparisons, shown_options = _comparisons(rows, comparison)
    shown_options.update(options or {})
    segment_changes = compare_segments(rows, comparisons)
    subjects = _subjects(rows, comparisons, segment_changes)
    fig_dir = out_html.parent / f"{out_html.stem}_figures"
    fig_dir.mkdir(exist_ok=True)
    pdf_path = out_html.with_suffix(".pdf") if pdf else None
    with _pdf_pages(pdf_path) as pages:
        if pages is not None:
            _pdf_tables(pages, rows, comparisons, shown_options)
        figures = _write_figures(subjects, comparisons, fig_dir, pages)
        body = _html_body(
            root, rows, records, subjects, comparisons, segment_changes, figures, shown_options
        )
        if pages is not None:
            _pdf_qc_pages(pages, rows, records)
    atomic_write_text(out_html, _HTML_TEMPLATE.format(title="wallthick report", body=body))
    logger.info("report written to %s (%d subjects)", out_html, len(subjects))
    return ReportFiles(out_html, pdf_path, tuple(figures.values()))


# -- data -------------------------------------------------------------------
def _rows(root: Path, records: Sequence[StoredResult]) -> list[dict[str, str]]:
    if (root / CSV_NAME).is_file():
        return read_measurements(root / CSV_NAME)
    if not records:
        raise FileNotFoundError(
            f"{root}: no {CSV_NAME} and no measurement.json found; run 'wallthick batch' first."
        )
    return [dict(r.row) for r in records]


def _comparisons(
    rows: list[dict[str, str]], comparison: Sequence[ComparisonRow] | str | os.PathLike[str] | None
) -> tuple[list[ComparisonRow], dict[str, Any]]:
    if comparison is None:
        result = compare_measurements(rows)
    elif isinstance(comparison, (str, os.PathLike)):
        result = read_comparison_csv(comparison)
    else:
        result = list(comparison)
    opts: dict[str, Any] = {}
    if result:
        first = result[0]
        opts = {
            "compare key": first.key,
            "floor_mm": first.floor_mm,
            "confidence": first.confidence,
        }
    return result, opts


def _subjects(
    rows: list[dict[str, str]],
    comparisons: list[ComparisonRow],
    segment_changes: Sequence[SegmentChange] = (),
) -> list[_Subject]:
    key = comparisons[0].key if comparisons else "patient_id"
    by_group: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_group[str(r.get(key, "") or "")].append(r)
    comp_by_group: dict[str, list[ComparisonRow]] = defaultdict(list)
    for c in comparisons:
        comp_by_group[c.group].append(c)
    seg_by_group: dict[str, list[SegmentChange]] = defaultdict(list)
    for sc in segment_changes:
        seg_by_group[sc.group].append(sc)
    subjects = []
    for i, group in enumerate(sorted(by_group), start=1):
        scans = sorted(by_group[group], key=_scan_order)
        comps = comp_by_group.get(group, [])
        base = next((c.baseline_series_uid for c in comps if c.baseline_series_uid), None)
        subjects.append(_Subject(i, group, scans, comps, base, seg_by_group.get(group, [])))
    return subjects


def _scan_order(row: Mapping[str, str]) -> tuple[datetime, str]:
    return (plots.study_datetime(row) or datetime.max, str(row.get("series_instance_uid", "")))


# -- figures ---------------------------------------------------------------
@contextmanager
def _pdf_pages(path: Path | None) -> Iterator[PdfPages | None]:
    if path is None:
        yield None
        return
    with (
        atomic_write(path) as tmp,
        PdfPages(tmp, metadata={"Creator": f"wallthick {__version__}"}) as pages,
    ):
        _pdf_title_page(pages)
        yield pages


def _write_figures(
    subjects: list[_Subject],
    comparisons: list[ComparisonRow],
    fig_dir: Path,
    pages: PdfPages | None,
) -> dict[str, Path]:
    figures: dict[str, Path] = {}
    fig = plots.waterfall_figure(comparisons)
    figures["waterfall"] = _save(fig, fig_dir / "cohort_waterfall.png", pages)
    for s in subjects:
        ok_scans = [r for r in s.scans if str(r.get("status", "ok")) in MEASURED_STATUSES]
        stem = f"subject-{s.index:03d}"
        label = f"Subject {s.index}"
        if ok_scans:
            fig = plots.bullseye_figure(
                ok_scans,
                s.baseline_uid,
                title=f"{label}: AHA segments (mm)",
                segment_changes=s.segment_changes,
            )
            s.figures["bullseye"] = _save(fig, fig_dir / f"{stem}_bullseye.png", pages)
        fig = plots.timeline_figure(s.scans, s.comparisons, title=f"{label}: thickness over time")
        s.figures["timeline"] = _save(fig, fig_dir / f"{stem}_timeline.png", pages)
        figures.update({f"{stem}_{k}": v for k, v in s.figures.items()})
    return figures


def _save(fig: Figure, path: Path, pages: PdfPages | None) -> Path:
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    if pages is not None:
        pages.savefig(fig)
    return path


def _pdf_title_page(pages: PdfPages) -> None:
    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.5, 0.9, "wallthick cohort report", ha="center", fontsize=20)
    fig.text(0.5, 0.86, f"wallthick {__version__} · {_now()}", ha="center", fontsize=10)
    pages.savefig(fig)


def _pdf_tables(
    pages: PdfPages,
    rows: list[dict[str, str]],
    comparisons: list[ComparisonRow],
    options: Mapping[str, Any],
) -> None:
    cohort = [_cohort_cells(r) for r in rows]
    comp = [_comparison_cells(c) for c in comparisons]
    for title, header, body in (
        ("Cohort", _COHORT_HEADER, cohort),
        ("Comparison", _COMPARISON_HEADER, comp),
    ):
        for start in range(0, max(len(body), 1), _PDF_TABLE_ROWS):
            chunk = body[start : start + _PDF_TABLE_ROWS] or [["(none)"] + [""] * (len(header) - 1)]
            fig = Figure(figsize=(11.69, 8.27))
            ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
            ax.axis("off")
            table = ax.table(cellText=chunk, colLabels=list(header), loc="upper center")
            table.auto_set_font_size(False)
            table.set_fontsize(6)
            table.scale(1.0, 1.2)
            fig.suptitle(f"{title} ({start + 1}–{start + len(chunk)} of {len(body)})", fontsize=11)
            pages.savefig(fig)
    fig = Figure(figsize=(8.27, 11.69))
    text = "Software and options\n\n" + "\n".join(
        f"{k}: {v}" for k, v in _versions(options).items()
    )
    fig.text(0.05, 0.95, text, va="top", fontsize=8, family="monospace", wrap=True)
    pages.savefig(fig)


def _pdf_qc_pages(
    pages: PdfPages, rows: list[dict[str, str]], records: Sequence[StoredResult]
) -> None:
    qc = {r.row.get("series_instance_uid", ""): r.qc_png_path for r in records}
    for row in sorted(rows, key=_scan_order):
        png = qc.get(row.get("series_instance_uid", ""))
        if png is None:
            continue
        img = imread(png)
        fig = Figure(figsize=(img.shape[1] / 100.0, img.shape[0] / 100.0 + 0.4))
        ax = fig.add_axes((0.0, 0.0, 1.0, img.shape[0] / (img.shape[0] + 40.0)))
        ax.imshow(img)
        ax.axis("off")
        fig.suptitle(f"QC: {row.get('patient_id', '')} {row.get('study_date', '')}", fontsize=9)
        pages.savefig(fig)


# -- HTML -------------------------------------------------------------------
_COHORT_HEADER = (
    "patient",
    "study date",
    "time",
    "series",
    "septal (mm)",
    "posterior (mm)",
    "LV mass (g)",
    "segmentation",
    "QC flags",
    "status",
)
_COMPARISON_HEADER = (
    "patient",
    "baseline",
    "follow-up",
    "wall",
    "baseline (mm)",
    "follow-up (mm)",
    "Δ (mm)",
    "threshold (mm)",
    "z",
    "flag",
    "reason / note",
)


def _html_body(
    root: Path,
    rows: list[dict[str, str]],
    records: Sequence[StoredResult],
    subjects: list[_Subject],
    comparisons: list[ComparisonRow],
    segment_changes: Sequence[SegmentChange],
    figures: Mapping[str, Path],
    options: Mapping[str, Any],
) -> str:
    e = html.escape
    parts = [
        "<h1>wallthick cohort report</h1>",
        f"<p class='meta'>{len(rows)} scan(s), {len(subjects)} subject(s), "
        f"{_flag_counts(comparisons)}. Generated {e(_now())} by wallthick {e(__version__)} "
        f"from <code>{e(root.name)}</code>.</p>",
        "<nav><a href='#cohort'>Cohort</a> · <a href='#comparison'>Comparison</a> · "
        "<a href='#regional'>Regional change</a> · "
        "<a href='#waterfall'>Waterfall</a> · <a href='#subjects'>Subjects</a> · "
        "<a href='#qc'>QC pictures</a> · <a href='#software'>Software</a></nav>",
        "<h2 id='cohort'>Cohort</h2>",
        _table(_COHORT_HEADER, [_cohort_cells(r) for r in rows], [_row_class(r) for r in rows]),
        "<h2 id='comparison'>Comparison</h2>",
        "<p>A change is flagged when |Δ| exceeds the pair's threshold: the minimal detectable "
        "change z·√(u<sub>baseline</sub>² + u<sub>follow-up</sub>²) at the stated confidence, "
        "never below the floor (see docs/comparison.md).</p>",
        _table(
            _COMPARISON_HEADER,
            [_comparison_cells(c) for c in comparisons],
            [f"flag-{c.flag}" for c in comparisons],
        ),
        "<h2 id='regional'>Regional change: segments beyond error</h2>",
        "<p>Each AHA segment of a compared pair is tested against its own uncertainties "
        "(z = Δ/√(u<sub>baseline</sub>² + u<sub>follow-up</sub>²)); Holm's step-down "
        "procedure keeps the chance of any false flag among a pair's segments at "
        "1 − confidence, and |Δ| must exceed the floor (see docs/comparison.md). "
        "Only the segments that changed beyond error are listed; they are outlined "
        "(▲ thickened, ▼ thinned) on each subject's change bull's-eye.</p>",
        _table(
            _SEGMENT_HEADER,
            [_segment_cells(c) for c in segment_changes if c.changed],
            [f"flag-{c.flag}" for c in segment_changes if c.changed],
        ),
        "<h2 id='waterfall'>Change across the cohort</h2>",
        _figure(figures["waterfall"], "Waterfall of changes from baseline, per wall"),
        "<h2 id='subjects'>Subjects</h2>",
    ]
    for s in subjects:
        parts.append(
            f"<section class='subject'><h3>Subject {s.index}: {e(s.group or '(no key)')}</h3>"
        )
        if "bullseye" in s.figures:
            parts.append(
                _figure(
                    s.figures["bullseye"],
                    "AHA 17-segment bull's-eye at each scan (top) and change from baseline "
                    "(bottom): which segments thickened (▲) or thinned (▼) beyond error, "
                    "outlined; Holm-controlled over the 17 segments",
                )
            )
        parts.append(_figure(s.figures["timeline"], "Septal and posterior thickness over time"))
        parts.append("</section>")
    parts += ["<h2 id='qc'>QC pictures</h2>", _qc_section(rows, records)]
    parts += ["<h2 id='software'>Software and options</h2>", _options_table(options, records, root)]
    return "\n".join(parts)


def _cohort_cells(r: Mapping[str, str]) -> list[str]:
    return [
        r.get("patient_id", ""),
        r.get("study_date", ""),
        r.get("study_time", ""),
        _short_uid(r.get("series_instance_uid", "")),
        _pm(r.get("septal_thickness_mm", ""), r.get("septal_uncertainty_mm", "")),
        _pm(r.get("posterior_wall_thickness_mm", ""), r.get("posterior_uncertainty_mm", "")),
        _num_text(r.get("lv_mass_g", ""), 0),
        r.get("segmentation_source", ""),
        r.get("qc_flags", "").replace(";", ", "),
        r.get("status", "") + (f": {r.get('error', '')}" if r.get("error") else ""),
    ]


_SEGMENT_HEADER = (
    "patient",
    "baseline",
    "follow-up",
    "segment",
    "baseline (mm)",
    "follow-up (mm)",
    "Δ (mm)",
    "z",
    "Holm p",
    "flag",
)


def _segment_cells(c: SegmentChange) -> list[str]:
    return [
        c.patient_id,
        c.baseline_date,
        c.followup_date,
        f"{c.segment} {c.segment_name}",
        _num_text(c.baseline_mm, 2),
        _num_text(c.followup_mm, 2),
        _num_text(c.delta_mm, 2, signed=True),
        _num_text(c.z, 1, signed=True),
        f"{c.p_holm:.2g}",
        c.flag,
    ]


def _comparison_cells(c: ComparisonRow) -> list[str]:
    return [
        c.patient_id,
        c.baseline_date,
        c.followup_date,
        c.wall,
        _num_text(c.baseline_mm, 2),
        _num_text(c.followup_mm, 2),
        _num_text(c.delta_mm, 2, signed=True),
        _num_text(c.threshold_mm, 2),
        _num_text(c.z, 1, signed=True),
        c.flag,
        "; ".join(t for t in (c.reason, c.note) if t),
    ]


def _row_class(r: Mapping[str, str]) -> str:
    status = str(r.get("status", "ok"))
    if status not in MEASURED_STATUSES:
        return "failed"
    return "qc" if status == "qc_failed" or r.get("qc_flags") else ""


def _table(header: Sequence[str], body: list[list[str]], classes: Sequence[str]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    lines = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for cells, cls in zip(body, classes, strict=True):
        tds = "".join(f"<td>{e(str(c))}</td>" for c in cells)
        lines.append(f"<tr class='{e(cls)}'>{tds}</tr>")
    if not body:
        lines.append(f"<tr><td colspan='{len(header)}'>(none)</td></tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _figure(png: Path, caption: str, alt: str | None = None) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    e = html.escape
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{e(alt or caption)}'>"
        f"<figcaption>{e(caption)}</figcaption></figure>"
    )


def _qc_section(rows: list[dict[str, str]], records: Sequence[StoredResult]) -> str:
    qc = {r.row.get("series_instance_uid", ""): r.qc_png_path for r in records}
    parts = []
    for row in sorted(rows, key=_scan_order):
        uid = row.get("series_instance_uid", "")
        label = f"{row.get('patient_id', '')} · {row.get('study_date', '')} · series …{uid[-16:]}"
        png = qc.get(uid)
        if png is None:
            parts.append(
                f"<p class='noqc'>{html.escape(label)}: no QC picture ({html.escape(row.get('status', ''))}).</p>"
            )
        else:
            verdict = (
                f" - QC FAILED ({row.get('qc_flags', '').replace(';', ', ')})"
                if _row_class(row) == "qc"
                else ""
            )
            parts.append(_figure(png, f"QC: {label}{verdict}", alt=f"QC picture {label}"))
    return "\n".join(parts) or "<p>No QC pictures found.</p>"


def _options_table(options: Mapping[str, Any], records: Sequence[StoredResult], root: Path) -> str:
    info = _versions(options)
    seen: list[str] = []
    for r in records:
        if r.measurement is not None:
            text = json.dumps(
                {"segmenter": r.measurement.segmenter, **dict(r.measurement.options)},
                sort_keys=True,
                default=str,
            )
            if text not in seen:
                seen.append(text)
    for i, text in enumerate(seen, start=1):
        info[f"measurement options ({i})"] = text
    manifest = root / _MANIFEST
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            info["batch manifest"] = json.dumps(
                data.get("options", data), sort_keys=True, default=str
            )
        except (OSError, ValueError) as exc:
            logger.warning("cannot read %s (%s)", manifest, exc)
    body = [[k, str(v)] for k, v in info.items()]
    return _table(("item", "value"), body, [""] * len(body))


def _versions(options: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "wallthick": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        **{str(k): v for k, v in options.items()},
    }


def _flag_counts(comparisons: Sequence[ComparisonRow]) -> str:
    counts = {f: sum(1 for c in comparisons if c.flag == f) for f in FLAGS}
    pairs = len(comparisons) // max(len(WALLS), 1)
    text = ", ".join(f"{n} {f.replace('_', ' ')}" for f, n in counts.items() if n)
    return f"{pairs} pair(s): {text or 'no comparisons'}"


def _pm(value: str, unc: str) -> str:
    if not value:
        return ""
    return f"{_num_text(value, 2)} ± {_num_text(unc, 2)}" if unc else _num_text(value, 2)


def _num_text(value: object, digits: int, signed: bool = False) -> str:
    try:
        x = float(str(value))
    except ValueError:
        return ""
    if x != x:  # NaN
        return ""
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _short_uid(uid: str) -> str:
    return uid if len(uid) <= 14 else f"…{uid[-12:]}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="wallthick">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1250px; color: #222; }}
table {{ border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; }}
td {{ white-space: nowrap; }}
td:last-child {{ white-space: normal; }}
th {{ background: #f0f0f0; position: sticky; top: 0; }}
tr.failed td {{ background: #fde0dc; }}
tr.qc td {{ background: #fff3cd; }}
tr.flag-thickened td {{ background: #fdecea; }}
tr.flag-thinned td {{ background: #e3f2fd; }}
tr.flag-not_compared td {{ color: #8a6d3b; }}
figure {{ margin: 0.5em 0 1.5em; }}
figure img {{ max-width: 100%; height: auto; border: 1px solid #ddd; }}
figcaption {{ font-size: 12px; color: #555; }}
section.subject {{ border-top: 1px solid #ddd; }}
.meta {{ color: #555; }}
img[data-decoded="no"] {{ outline: 4px solid red; }}
</style>
</head>
<body>
{body}
<script>
window.addEventListener("load", function () {{
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {{
    var good = imgs[i].complete && imgs[i].naturalWidth > 0;
    imgs[i].setAttribute("data-decoded", good ? "yes" : "no");
    if (good) {{ ok++; }}
  }}
  document.body.setAttribute("data-images-decoded", ok + "/" + imgs.length);
}});
</script>
</body>
</html>
"""
