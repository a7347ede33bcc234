"""``checkpoints/last.pt``: everything a run needs to continue after its last finished epoch.

Saved atomically after every epoch: model, optimizer, scheduler and grad-scaler states, the
epoch driver's progress (epoch, history, best-so-far and its weights, epochs without
improvement) and the RNG states (torch's CPU and CUDA generators and the data-shuffling
generator). Only tensors and plain containers go in, so it loads with ``weights_only=True``;
the file carries the sha256 of its bytes (``hpt.record.write_sealed``), checked on load.
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
from omegaconf import DictConfig

from hpt.errors import DamagedFileError, UserError
from hpt.record import read_sealed, write_sealed
from hpt.rundir import METRICS, atomic_write_text, read_jsonl

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
    """The saved state, verified (``hpt.record.read_sealed``): a missing file, or one that is
    damaged, is a ``UserError`` naming it (exit 2, one line) and is never used."""
    if not path.is_file():
        raise UserError(f"cannot resume: {path} does not exist (the run saved no epoch yet)")
    state = read_sealed(path)
    if not isinstance(state, dict) or not {"epoch", "states", "rng"} <= set(state):
        raise DamagedFileError(f"{path} is damaged: it is not a last.pt checkpoint")
    return state


# Keys of data.* that say where the data is, not what it is: a moved dataset may be resumed.
_WHERE = ("data.root", "data.download", "data.path", "data.test_path")


def check(cfg: DictConfig) -> None:
    """Refuse a resume that would not continue the same run, before any file of it is touched.

    ``cfg`` is the composed config of ``hpt train --resume RUN``: its model and data settings
    must be the run's own (``RUN/.hydra/config.yaml``), and ``RUN/checkpoints/last.pt`` must be
    readable and fit the model (and optimizer and scheduler) this config builds. Raises one
    ``UserError`` that says which settings, keys or tensor shapes differ.
    """
    source = Path(str(cfg.resume))
    state = load(source / LAST)
    changed = _changed_settings(cfg, source / ".hydra" / "config.yaml")
    if changed:
        raise UserError(
            f"cannot resume {source}: a resume continues the same model and data, but "
            + "; ".join(changed)
        )
    from hpt.build import build, task_kind

    if task_kind(cfg) != "supervised":
        return
    rng = torch.get_rng_state()  # building draws the initial weights: leave no trace
    try:
        built = build(cfg)
    finally:
        torch.set_rng_state(rng)
    from hpt.loop import unwrap

    model = unwrap(built.model)
    misfit = _misfit(state["states"].get("model", {}), model.state_dict())
    if misfit:
        raise UserError(
            f"cannot resume {source}: {LAST} does not fit the model its config builds: {misfit}"
        )
    for key, obj in (("optimizer", built.optimizer), ("scheduler", built.schedule.scheduler)):
        if key in state["states"] and obj is not None:
            try:
                obj.load_state_dict(state["states"][key])
            except Exception as exc:
                raise UserError(
                    f"cannot resume {source}: the {key} state in {LAST} does not fit the "
                    f"{key} of its config ({type(exc).__name__}: {_first_line(exc)})"
                ) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _changed_settings(cfg: DictConfig, saved: Path) -> list[str]:
    """``model.width=64 (the run has 32)`` for each model/data setting that differs."""
    from omegaconf import OmegaConf

    from hpt.rundir import flatten, read_text

    text = read_text(saved)
    if text is None:
        return []  # no saved config to compare with: the checkpoint check still runs
    try:
        old = OmegaConf.create(text)
    except Exception:
        return []
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for group in ("model", "data"):
        for tree, out in ((old, before), (cfg, after)):
            node = tree.get(group) if isinstance(tree, DictConfig) else None
            if isinstance(node, DictConfig):
                plain = OmegaConf.to_container(node, resolve=False, enum_to_str=True)
                out.update(flatten(plain, group + "."))  # type: ignore[arg-type]
    keys = sorted(set(before) | set(after), key=lambda k: (k not in after, k))
    return [
        f"{k}={_show(after.get(k, _ABSENT))} (the run has {_show(before.get(k, _ABSENT))})"
        for k in keys
        if k not in _WHERE and before.get(k, _ABSENT) != after.get(k, _ABSENT)
    ]


_ABSENT = "<not set>"


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _misfit(saved: Mapping[str, Any], model: Mapping[str, torch.Tensor], most: int = 4) -> str:
    """What differs between a saved and a built state_dict: keys and tensor shapes."""
    parts = []
    missing = [k for k in model if k not in saved]
    extra = [k for k in saved if k not in model]
    shapes = [
        f"{k} is {list(saved[k].shape)} in {LAST} but {list(v.shape)} in the model"
        for k, v in model.items()
        if k in saved and isinstance(saved[k], torch.Tensor) and saved[k].shape != v.shape
    ]
    parts += shapes[:most] + (
        [f"{len(shapes) - most} more tensors differ in shape"] if len(shapes) > most else []
    )
    if missing:
        parts.append(f"missing from {LAST}: {_few(missing, most)}")
    if extra:
        parts.append(f"not in the model: {_few(extra, most)}")
    return "; ".join(parts)


def _few(keys: list[str], most: int) -> str:
    return ", ".join(keys[:most]) + (f" and {len(keys) - most} more" if len(keys) > most else "")


def carry_metrics(source: Path, run_dir: Path, epoch: int) -> None:
    """``run_dir/metrics.jsonl`` := the source run's rows up to ``epoch`` (later ones were lost)."""
    rows = [r for r in read_jsonl(source / METRICS) if int(r.get("epoch", 0)) <= epoch]
    atomic_write_text(run_dir / METRICS, "".join(json.dumps(r) + "\n" for r in rows))


__all__ = ["LAST", "LastCheckpoint", "Progress", "carry_metrics", "check", "load"]
