"""``wallthick`` entry point: one subcommand per module of this package.

Each subcommand module defines ``add_parser(subparsers) -> None`` (which calls
``subparsers.add_parser(NAME, ...)`` and sets ``func=run`` as default) and
``run(args: argparse.Namespace) -> int``.
Exit codes: 0 all cases succeeded, 1 some case failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

from wallthick._version import __version__

__all__ = ["main", "build_parser"]

SUBCOMMANDS = ("discover", "measure", "batch", "compare", "report", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wallthick",
        description="Left-ventricular wall thickness on cardiac CT.",
    )
    parser.add_argument("--version", action="version", version=f"wallthick {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        modname = f"wallthick.cli.{name}"
        if importlib.util.find_spec(modname) is None:  # not yet available
            continue
        importlib.import_module(modname).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on usage errors and --help
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
