"""``wallthick discover ROOT``: list the image series found under a folder.

Prints one row per series (usable ones first), then the skipped series with
their reasons and the number of files that were not usable DICOM. Patient
names and IDs are shown only with ``--show-phi``. Exit code 0 when at least
one usable CT series was found, 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

logger = logging.getLogger(__name__)


def _existing_path(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist")
    return path


def add_parser(subparsers: Any) -> None:
    """Register the ``discover`` subcommand."""
    parser = subparsers.add_parser(
        "discover",
        help="list the DICOM series under a folder (headers only)",
        description="List the image series under ROOT, grouped by series and geometry.",
    )
    parser.add_argument("root", type=_existing_path, metavar="ROOT", help="folder or file")
    parser.add_argument("--show-phi", action="store_true", help="also print patient names and IDs")
    parser.add_argument(
        "--rejected", action="store_true", help="list every file that was not usable DICOM"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the series table; 0 when a usable CT series exists, else 1."""
    from wallthick.io import discover_series, find_phase_groups

    found = discover_series(args.root)
    usable = found.usable
    groups = {id(d): i for i, g in enumerate(find_phase_groups(usable), 1) if len(g) > 1 for d in g}
    columns = [
        "#",
        "series",
        "description",
        "phase",
        "slices",
        "size",
        "spacing mm",
        "date",
        "folder",
    ]
    if args.show_phi:
        columns += ["patient", "patient id"]
    rows = [_row(i, d, groups.get(id(d)), args) for i, d in enumerate(usable, 1)]
    print(f"{len(usable)} usable CT series under {args.root}")
    if rows:
        _print_table(columns, rows)
    skipped = [d for d in found if not d.usable]
    if skipped:
        print(f"\n{len(skipped)} skipped series:")
        for d in skipped:
            number = "" if d.series_number is None else f" {d.series_number}"
            where = _relative(d.files[0].parent, args.root)
            print(f"  series{number} in {_clip(where, 50)}: {d.skip_reason}")
    if found.rejected:
        print(f"\n{len(found.rejected)} files not usable as DICOM images")
        shown = found.rejected if args.rejected else found.rejected[:5]
        for r in shown:
            reason = r.reason.removeprefix(f"{r.path}: ")
            print(f"  {_clip(_relative(r.path, args.root), 50)}: {_clip(reason, 100)}")
        if len(found.rejected) > len(shown):
            print("  ... (--rejected lists them all)")
    return 0 if usable else 1


def _row(index: int, d: Any, group: int | None, args: argparse.Namespace) -> list[str]:
    spacing = d.pixel_spacing or (0.0, 0.0)
    phase = d.phase or (f"{d.trigger_time_ms:g} ms" if d.trigger_time_ms is not None else "")
    if d.temporal_positions > 1:
        phase = f"{d.temporal_positions} phases"
    if group is not None:
        phase = f"{phase} (group {group})"
    row = [
        str(index),
        "" if d.series_number is None else str(d.series_number),
        _clip(d.series_description, 30),
        phase,
        str(d.slice_count),
        f"{d.rows}x{d.columns}",
        f"{spacing[0]:.3g}x{spacing[1]:.3g}",
        d.study_date,
        _clip(_relative(d.files[0].parent, args.root), 40),
    ]
    if args.show_phi:
        row += [_clip(d.patient_name, 24), _clip(d.patient_id, 16)]
    return row


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to the folder the user named (no absolute prefixes)."""
    base = root if root.is_dir() else root.parent
    try:
        return str(path.relative_to(base)) or "."
    except ValueError:
        return str(path)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(columns: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
