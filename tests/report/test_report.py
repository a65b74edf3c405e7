from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from wallthick.cli.main import main
from wallthick.compare import compare_measurements
from wallthick.report import write_report
from wallthick.report.tables import read_measurements
from wallthick.results import find_records


def test_write_report_contents(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report" / "cohort.html"
    out.parent.mkdir()
    files = write_report(results_dir, out)
    text = out.read_text(encoding="utf-8")
    # self-contained: no external references
    assert not re.search(r"""(src|href)=['"](?!data:|#)""", text)
    imgs = re.findall(r"<img src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    # waterfall + 2 subjects x (bull's-eye + timeline) + 5 QC pictures (failed scan has none)
    assert len(imgs) == 1 + 2 * 2 + 5
    for data in imgs:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "PAT-A" in text and "Subject 2: PAT-B" in text
    assert (
        "thickened" in text
        and "QC-failed" in text
        and "qc_failed" in text
        and "no LV found" in text
    )
    assert "wallthick" in text and "floor_mm" in text and "half-max" in text
    # PNG files next to the HTML, named without patient IDs
    names = sorted(p.name for p in files.figures)
    assert names == [
        "cohort_waterfall.png",
        "subject-001_bullseye.png",
        "subject-001_timeline.png",
        "subject-002_bullseye.png",
        "subject-002_timeline.png",
    ]
    assert all(p.parent == out.parent / "cohort_figures" for p in files.figures)
    assert not any("PAT" in p.name for p in out.parent.rglob("*"))
    assert files.pdf is not None and files.pdf.read_bytes()[:5] == b"%PDF-"
    assert files.pdf.stat().st_size > 20_000
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "cohort.html",
        "cohort.pdf",
        "cohort_figures",
    ]


def test_report_uses_given_comparison(results_dir: Path, tmp_path: Path) -> None:
    rows = compare_measurements(read_measurements(results_dir), floor_mm=5.0)
    files = write_report(results_dir, tmp_path / "r.html", rows, pdf=False)
    text = files.html.read_text()
    assert files.pdf is None
    assert ">thickened<" not in text and ">stable<" in text


def test_find_records(results_dir: Path) -> None:
    records = find_records(results_dir)
    assert len(records) == 6
    ok = [r for r in records if r.measurement is not None]
    assert len(ok) == 5 and all(r.qc_png_path is not None for r in ok)


def test_report_cli(results_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert (
        main(["report", str(results_dir), "--out", str(out), "--floor-mm", "0.2", "--no-pdf"]) == 0
    )
    assert out.is_file() and "report:" in capsys.readouterr().out
    comp = tmp_path / "c.csv"
    assert main(["compare", str(results_dir), "--out", str(comp)]) == 1  # some not compared
    assert (
        main(["report", str(results_dir), "--out", str(out), "--comparison", str(comp), "--no-pdf"])
        == 0
    )
    assert main(["report", str(tmp_path / "nope"), "--out", str(out)]) == 2


def test_report_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="results folder not found"):
        write_report(tmp_path / "missing", tmp_path / "r.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="run 'wallthick batch' first"):
        write_report(tmp_path / "empty", tmp_path / "r.html")


def test_report_lists_segments_changed_beyond_error(results_dir: Path, tmp_path: Path) -> None:
    import html as html_lib

    from wallthick.compare import compare_measurements
    from wallthick.regional import compare_segments
    from wallthick.report.tables import read_measurements

    out = tmp_path / "r.html"
    write_report(results_dir, out, pdf=False)
    text = html_lib.unescape(out.read_text(encoding="utf-8"))
    section = text.split("id='regional'")[1].split("id='waterfall'")[0]
    rows = read_measurements(results_dir)
    expected = [c for c in compare_segments(rows, compare_measurements(rows)) if c.changed]
    # PAT-A: septal segments +2.5 mm at the last visit (u 0.3 each), nothing else
    assert sorted(c.segment for c in expected) == [2, 3, 8, 9]
    assert {c.flag for c in expected} == {"thickened"}
    for c in expected:
        assert f"{c.segment} {c.segment_name}" in section
    assert section.count("<tr class='flag-thickened'>") == len(expected)
