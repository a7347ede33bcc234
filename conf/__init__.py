# hpt's config groups, shipped in the wheel as the package `hpt.conf` (see setup.py).
