"""``python -m hpt.summarize PATH...`` (same as ``hpt summarize``)."""

from __future__ import annotations

import sys

from hpt.summarize.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
