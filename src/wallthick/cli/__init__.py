"""Command-line interface (``wallthick ...``)."""
