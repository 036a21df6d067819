"""Stand-in for pip inside the stand-in Python: offline, it installs nothing it cannot check."""
