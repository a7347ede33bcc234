"""hpt from Python (notebooks, scripts): one training run from a list of overrides.

    from hpt.api import train

    result = train(["data=table", "data.path=wine.csv", "data.target=quality", "model=mlp"])
    result["objective"]  # {"name": "val/acc", "value": 0.97, "direction": "maximize"}

The overrides are exactly those of ``hpt train`` (same configs, including the user's
``./conf``, ``HPT_CONFIG_DIR`` and ``config_dir=``), and the return value is the run's
``result.json`` as a dict. A bad override or bad input raises ``hpt.errors.UserError``
with the same one line ``hpt train`` prints; a run that fails while training is returned
with ``status == "FAIL"`` and its ``error``, as the CLI records it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpt.errors import UserError, one_line

__all__ = ["compose", "train"]


def compose(overrides: Sequence[str] = (), *, config_dir: str | Path | None = None) -> Any:
    """The config ``hpt train OVERRIDES`` would run (an OmegaConf DictConfig, with ``hydra``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from hpt import app
    from hpt.config import register

    register()
    app.importable_cwd()
    overrides = app.renamed_overrides(list(overrides), "hpt.api")
    previous, app._flag_config_dir = (
        app._flag_config_dir,
        None if config_dir is None else str(config_dir),
    )
    try:
        with initialize_config_dir(str(app.config_dir()), version_base="1.3", job_name="train"):
            return hydra_compose("config", overrides=overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise UserError(one_line(exc)) from exc
    finally:
        app._flag_config_dir = previous


def train(
    overrides: Sequence[str] = (),
    *,
    run_dir: str | Path | None = None,
    config_dir: str | Path | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Run one training and return its ``result.json`` contents.

    ``run_dir``: where the run directory goes (default ``outputs/runs/<timestamp>``, as the
    CLI). ``config_dir``: a folder of config groups layered over hpt's (``--config-dir``).
    ``quiet``: no progress display (``trainer.quiet``).
    """
    from hydra.errors import HydraException
    from omegaconf import open_dict
    from omegaconf.errors import OmegaConfBaseException

    from hpt import train as training
    from hpt.rundir import RESULT

    cfg = compose([*overrides, *(["trainer.quiet=true"] if quiet else [])], config_dir=config_dir)
    choices = {str(k): v for k, v in cfg.hydra.runtime.choices.items()}
    with open_dict(cfg):
        del cfg["hydra"]  # the run needs only its own groups; ${now:} lives in hydra.*
    path = Path(run_dir) if run_dir is not None else _default_run_dir()
    try:
        training.run(cfg, path, choices=choices)
    except (HydraException, OmegaConfBaseException) as exc:
        raise UserError(one_line(exc)) from exc
    return json.loads((path / RESULT).read_text())


def _default_run_dir() -> Path:
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    return Path("outputs") / "runs" / f"{stamp}-{time.time_ns() % 1_000_000:06d}"
