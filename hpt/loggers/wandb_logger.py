"""``logger=wandb``: one Weights & Biases run per hpt run (``pip install 'hpt[wandb]'``).

A sweep's trials are grouped by study (``group=<study name>``, ``job_type=trial``, the trial
number in the config), so the W&B UI shows one group per sweep and one run per trial. Each
run gets the flattened hyperparameters as its config, every epoch's metrics (step = epoch),
GAN/VAE sample grids as images, and at the end the best/test metrics and the final ``state``
in its summary (a FAIL exits non-zero, so W&B marks the run failed). ``logger.wandb.mode``
(or W&B's own ``WANDB_MODE``) chooses online, offline (files only, no network) or disabled;
files go to ``WANDB_DIR`` when set, else into the run directory. The run id is kept in
``<run dir>/wandb.json`` so a resumed run continues the same W&B run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import wandb  # ImportError without wandb: see open_loggers

from hpt.errors import UserError
from hpt.loggers import RunInfo
from hpt.rundir import atomic_write_json, read_json

RUN_FILE = "wandb.json"


MODES = ("online", "offline", "shared", "disabled", "dryrun", "run")  # wandb.init's


class WandbLogger:
    def __init__(self, info: RunInfo, project: str = "hpt", mode: str | None = None) -> None:
        chosen = mode or os.environ.get("WANDB_MODE") or None
        if chosen is not None and chosen not in MODES:  # W&B's own error is a pydantic dump
            where = "logger.wandb.mode" if mode else "WANDB_MODE"
            raise UserError(f"{where}={chosen}: W&B's modes are {', '.join(MODES)}")
        saved = read_json(info.run_dir / RUN_FILE) if info.start_epoch else None
        config: dict[str, Any] = dict(info.params)
        group = job_type = None
        if info.trial is not None:  # a sweep: the study's trials form one group
            group, job_type = str(info.trial["study_name"]), "trial"
            config["trial"] = int(info.trial["number"])
        try:
            self.run = wandb.init(
                project=project,
                name=info.name,
                group=group,
                job_type=job_type,
                config=config,
                # read here, not once per process: W&B caches its settings at the first init
                dir=os.environ.get("WANDB_DIR") or str(info.run_dir),
                mode=chosen,  # type: ignore[arg-type]
                id=str(saved["run_id"]) if saved and saved.get("run_id") else None,
                resume="allow" if saved else None,
                # hpt prints its own progress; W&B must not wrap stdout/stderr, and a sweep's
                # trials stay silent (three W&B lines per trial would bury the sweep's own)
                settings=wandb.Settings(console="off", quiet=True, silent=info.trial is not None),
            )
        except wandb.errors.UsageError as exc:
            raise UserError(
                f"logger=wandb: {str(exc).strip().splitlines()[0]} "
                "(or log without network: logger.wandb.mode=offline)"
            ) from None
        atomic_write_json(info.run_dir / RUN_FILE, {"run_id": self.run.id, "project": project})

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log({k: float(v) for k, v in metrics.items()}, step=step)

    def log_image(self, tag: str, png: Path, step: int) -> None:
        self.run.log({tag: wandb.Image(str(png))}, step=step)

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        self.run.summary.update({**{k: float(v) for k, v in summary.items()}, "state": status})
        self.run.finish(exit_code=1 if status == "FAIL" else 0)
