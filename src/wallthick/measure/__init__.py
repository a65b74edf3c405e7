"""Wall-thickness measurement: LV frame, AHA segments, thickness, QC."""
