"""The default sweep dir of ``hpt sweep``: named for what the sweep is, so it never collides.

``outputs/sweeps/<search>-<data>-<hash>``: the search config, the data (its file or folder
when the command names one) and 8 hex digits of the command's settings that make the sweep
what it is. Running the same command again finds the same folder and resumes it; another
command (other data, another space or fixed setting) gets its own folder instead of being
refused by the study it would have resumed. Settings that only say how the sweep runs (the
budget, the workers, timeouts) are left out: ``hydra.sweeper.n_trials=30`` extends a sweep.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = "outputs/sweeps"
# How a sweep runs, not what it searches: changing them resumes the same sweep.
HOW_TO_RUN = {
    *("n_trials", "n_jobs", "per_gpu", "timeout", "trial_timeout", "dry_run"),
    *("max_failure_rate", "min_failures", "heartbeat_interval", "grace_period"),
}
# Overrides that name the data's own file, folder or dataset: the dir says which.
_DATA_KEYS = ("data.path", "data.root", "data.name")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def identity(overrides: list[str]) -> list[str]:
    """The overrides that make a sweep what it is, sorted.

    Args:
        overrides: The command line's overrides (``key=value``, ``group=option``).

    Returns:
        Those that are not Hydra's launcher settings or a sweeper setting of ``HOW_TO_RUN``.
    """
    kept = []
    for override in overrides:
        key = _key(override)
        if key.startswith(("hydra/launcher", "hydra.launcher", "hydra/job_logging")):
            continue
        if key.startswith("hydra.sweeper.") and key.split(".")[2] in HOW_TO_RUN:
            continue
        kept.append(override.strip())
    return sorted(kept)


def _data_label(overrides: list[str], default_data: str) -> str:
    """The data's option, or the stem of the file, folder or dataset the command names."""
    label = default_data
    for override in overrides:
        key, _, value = override.partition("=")
        key = key.lstrip("+~")
        if key == "data":
            label = value
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") in _DATA_KEYS and value.strip("'\" /"):
            label = Path(value.strip("'\" ").rstrip("/")).name.split(".")[0] or label
    return label


def default_sweep_dir(overrides: list[str], default_data: str) -> str:
    """``outputs/sweeps/<search>-<data>-<hash>`` for ``hpt sweep`` with these overrides.

    Args:
        overrides: The command line's overrides.
        default_data: The data option the config uses when the command names none.

    Returns:
        The folder, relative to where hpt runs.
    """
    search = next((o.split("=", 1)[1] for o in overrides if _key(o) == "search"), "sweep")
    data = _data_label(overrides, default_data)
    digest = hashlib.sha256("\n".join(identity(overrides)).encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{search}-{data}")
    return f"{ROOT}/{name}-{digest}"


def free_sibling(sweep_dir: Path) -> Path:
    """A folder beside ``sweep_dir`` that does not exist yet (``<name>-2``, ``-3``, ...).

    Args:
        sweep_dir: A sweep's folder.

    Returns:
        The first free ``<name>-N``.
    """
    n = 2
    while (sweep_dir.parent / f"{sweep_dir.name}-{n}").exists():
        n += 1
    return sweep_dir.parent / f"{sweep_dir.name}-{n}"
