"""How long ``hpt summarize`` takes over 1,000 run directories, end to end.

Writes a synthetic sweep of N trial directories (result.json, metrics.jsonl, manifest.json,
.hydra/) into a temporary folder, then times, each as a fresh subprocess:

- ``python -c "import hpt.summarize.cli"`` (import cost of the entry point),
- ``python -m hpt.summarize DIR`` (the default table report; no study storage, so no optuna),
- ``python -m hpt.summarize DIR --format csv`` (the export path).

Usage: ``python benchmarks/summarize_speed.py [--runs 1000] [--repeat 3]``. Target: the
table report under 2 s for 1,000 runs on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from summarize_fixtures import synthetic_sweep  # noqa: E402


def _time(cmd: list[str], repeat: int) -> tuple[float, float]:
    """(best, median) wall seconds of ``cmd`` over ``repeat`` runs; fails loudly on error."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return min(times), statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from importlib.metadata import version

    print(
        f"python {platform.python_version()} | pandas {version('pandas')} | "
        f"optuna {version('optuna')} | rich {version('rich')} | "
        f"{os.cpu_count()} CPUs | {platform.machine()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        sweep = synthetic_sweep(Path(tmp) / "sweep", args.runs)
        print(f"wrote {args.runs} run dirs in {time.perf_counter() - start:.2f} s")
        py = sys.executable
        cases = {
            "python (startup only)": [py, "-c", "pass"],
            "import hpt.summarize.cli": [py, "-c", "import hpt.summarize.cli"],
            f"hpt summarize ({args.runs} runs, table)": [py, "-m", "hpt.summarize", str(sweep)],
            f"hpt summarize ({args.runs} runs, csv)": [
                py,
                "-m",
                "hpt.summarize",
                str(sweep),
                "--format",
                "csv",
            ],
        }
        for label, cmd in cases.items():
            best, median = _time(cmd, args.repeat)
            print(f"{label:<40} best {best:6.3f} s   median {median:6.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
