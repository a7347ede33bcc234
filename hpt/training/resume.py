"""``checkpoints/last.pt``: everything a run needs to continue after its last finished epoch.

Saved atomically after every epoch: model, optimizer, scheduler and grad-scaler states, the
epoch driver's progress (epoch, history, best-so-far and its weights, epochs without
improvement) and the RNG states (torch's CPU and CUDA generators and the data-shuffling
generator). Only tensors and plain containers go in, so it loads with ``weights_only=True``;
the file carries the sha256 of its bytes (``hpt.use.sealed``), checked on load.
``hpt train --resume RUN_DIR`` continues a killed run from it; on CPU with
``trainer.deterministic=true`` the resumed run ends with the same metrics as an
uninterrupted one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hpt.errors import DamagedFileError, UserError
from hpt.rundir import METRICS, atomic_write_text, read_jsonl
from hpt.use.sealed import read_sealed, write_sealed

LAST = "checkpoints/last.pt"
Metrics = dict[str, float]


@dataclass
class Progress:
    """The epoch driver's state after ``epoch`` finished epochs."""

    epoch: int
    history: list[Metrics]
    best: Metrics | None
    best_value: float | None
    best_state: dict[str, torch.Tensor] | None
    stale: int


def _cpu(state: Any) -> Any:
    """A state_dict with every tensor copied to the CPU (plain containers kept as they are)."""
    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, Mapping):
        return {k: _cpu(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(_cpu(v) for v in state)
    return state


class LastCheckpoint:
    """Saves and restores ``stateful`` objects (anything with ``state_dict``) and generators."""

    def __init__(
        self,
        path: Path,
        stateful: Mapping[str, Any],
        generators: Mapping[str, torch.Generator | None],
    ) -> None:
        self.path = path
        self.stateful = {k: v for k, v in stateful.items() if v is not None}
        self.generators = {k: g for k, g in generators.items() if g is not None}

    def save(self, p: Progress) -> None:
        """Write ``checkpoints/last.pt`` (sealed, atomically) after a finished epoch."""
        state = {
            "epoch": p.epoch,
            "history": p.history,
            "best": p.best,
            "best_value": p.best_value,
            "best_state": _cpu(p.best_state),
            "stale": p.stale,
            "states": {k: _cpu(obj.state_dict()) for k, obj in self.stateful.items()},
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
                **{f"gen/{k}": g.get_state() for k, g in self.generators.items()},
            },
        }
        write_sealed(self.path, state)  # atomic: a kill mid-save keeps the previous one

    def restore(self, state: Mapping[str, Any]) -> Progress:
        """Load ``state`` (from ``load``) into the objects and generators; return the progress."""
        for key, obj in self.stateful.items():
            obj.load_state_dict(state["states"][key])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        for key, g in self.generators.items():
            g.set_state(rng[f"gen/{key}"])
        return Progress(
            int(state["epoch"]),
            [dict(m) for m in state["history"]],
            state["best"],
            state["best_value"],
            state["best_state"],
            int(state["stale"]),
        )


def load(path: Path) -> dict[str, Any]:
    """The saved state, verified (``hpt.use.sealed.read_sealed``): a missing file, or one that is
    damaged, is a ``UserError`` naming it (exit 2, one line) and is never used."""
    if not path.is_file():
        raise UserError(f"cannot resume: {path} does not exist (the run saved no epoch yet)")
    state = read_sealed(path)
    if not isinstance(state, dict) or not {"epoch", "states", "rng"} <= set(state):
        raise DamagedFileError(f"{path} is damaged: it is not a last.pt checkpoint")
    return state


def carry_metrics(source: Path, run_dir: Path, epoch: int) -> None:
    """``run_dir/metrics.jsonl`` := the source run's rows up to ``epoch`` (later ones were lost)."""
    rows = [r for r in read_jsonl(source / METRICS) if int(r.get("epoch", 0)) <= epoch]
    atomic_write_text(run_dir / METRICS, "".join(json.dumps(r) + "\n" for r in rows))


__all__ = ["LAST", "LastCheckpoint", "Progress", "carry_metrics", "load"]
