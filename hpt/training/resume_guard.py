"""``hpt train --resume RUN`` never harms RUN: a Hydra callback that checks the resume first.

``CheckResume`` (conf/config.yaml ``hydra.callbacks``) runs after ``hpt.config.check.Validate`` and
before Hydra writes anything into the run dir (``.hydra/``): the resumed run's model and data
settings must be RUN's own, and ``checkpoints/last.pt`` must be intact
(``hpt.training.resume.load``) and fit the model, optimizer and scheduler the config builds.
Anything else is one line and exit 2, with RUN byte for byte as it was. Imports torch only when a
resume is asked for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from hpt.config.check import Rejected
from hpt.errors import UserError


class CheckResume(Callback):
    """Hydra callback: ``check`` a single run's ``resume=RUN`` before anything is written."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.get("resume"):
            return
        try:
            check(config)
        except UserError as exc:
            raise Rejected(exc) from None
        except Exception as exc:  # a callback's other exceptions would only be warnings
            from hpt.errors import one_line

            error = UserError(
                f"cannot resume {config.resume}: {type(exc).__name__}: {one_line(exc)}"
            )
            raise Rejected(error) from None


# Keys of data.* that say where the data is, not what it is: a moved dataset may be resumed.
_WHERE = ("data.root", "data.download", "data.path", "data.test_path")


def check(cfg: DictConfig) -> None:
    """Refuse a resume that would not continue the same run, before any file of it is touched.

    ``cfg`` is the composed config of ``hpt train --resume RUN``: its model and data settings
    must be the run's own (``RUN/.hydra/config.yaml``), and ``RUN/checkpoints/last.pt`` must be
    readable and fit the model (and optimizer and scheduler) this config builds. Raises one
    ``UserError`` that says which settings, keys or tensor shapes differ.
    """
    import torch

    from hpt.training.resume import LAST, load

    source = Path(str(cfg.resume))
    state = load(source / LAST)
    changed = _changed_settings(cfg, source / ".hydra" / "config.yaml")
    if changed:
        raise UserError(
            f"cannot resume {source}: a resume continues the same model and data, but "
            + "; ".join(changed)
        )
    from hpt.build import build
    from hpt.task import task_of

    if not task_of(cfg).resumable:
        return
    rng = torch.get_rng_state()  # building draws the initial weights: leave no trace
    try:
        built = build(_on_cpu(cfg))
    finally:
        torch.set_rng_state(rng)
    from hpt.training.loop import unwrap

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


def _on_cpu(cfg: DictConfig) -> DictConfig:
    """A copy of ``cfg`` that builds on the CPU, in fp32, uncompiled: shapes and states are the
    same, and the check uploads nothing to an accelerator the run is about to use."""
    import copy

    from omegaconf import OmegaConf

    local = copy.deepcopy(cfg)
    OmegaConf.set_readonly(local, False)
    local.trainer.device, local.trainer.compile, local.trainer.precision = "cpu", False, "fp32"
    local.trainer.data_on_device = False
    return local


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


def _misfit(saved: Mapping[str, Any], model: Mapping[str, Any], most: int = 4) -> str:
    """What differs between a saved and a built state_dict: keys and tensor shapes."""
    import torch

    from hpt.training.resume import LAST

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


__all__ = ["CheckResume", "check"]
