"""Turns a supervised run's composed config into objects: data, model, optimizer, schedule, loss.

The ``instantiate`` calls of a run live here and in ``hpt/generative/build.py`` (the GAN's and
VAE's objects); the sweeper builds its Optuna sampler and pruner in ``hpt/sweep/running/worker.py``.
Everything downstream (data, models, loop) takes plain typed arguments.
"""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass, field
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from hpt import objectives
from hpt.compress import checked as checked_compress
from hpt.config.schema import GROUPS, CompressConfig, plain
from hpt.data import Dataset, Loaded, fits_on_device, prepare, sources
from hpt.errors import UserError
from hpt.losses import check_fits
from hpt.models import count_parameters
from hpt.objectives import Objective
from hpt.rundir import flatten
from hpt.schedulers import Schedule
from hpt.training.cv import check_plan, fold_count
from hpt.training.loop_types import Parts
from hpt.training.precision import (
    configure_backends,
    cpu_threads,
    resolve_device,
    resolve_precision,
)
from hpt.training.settings import Placement, loop_settings


@dataclass
class Run(Parts):
    """A built run: what the loop fits (``Parts``) and what the rest of the run needs."""

    objectives: list[Objective]
    n_params: int
    compress: CompressConfig | None = None  # the post-training stage (hpt.compress), None: none
    # how to build the model again (hpt.use.preprocessing): its config, in_shape, out_features
    model_spec: dict[str, Any] = field(default_factory=dict)


def data_problem(cfg: DictConfig) -> str:
    """``data.problem`` as a plain string: classification, binary or regression.

    ``auto`` is resolved from the data itself (loading it, once per process).
    """
    problem = sources.checked_problem(sources.plain(cfg.data))
    return problem if problem != "auto" else load_source(cfg.data).problem


def load_source(d: Any) -> Loaded:
    """The source ``data._target_`` names, given the config's other keys it takes
    (``hpt.data.sources.arguments``); built once per process for the same config, as sweep
    workers run many trials on the same data. Its errors are one line (``UserError``).
    """
    return _source(sources.key(d))


@functools.lru_cache(maxsize=4)
def _source(key: str) -> Loaded:
    d = json.loads(key)
    if "_target_" not in d:  # a run saved before data options named their source
        d["_target_"] = sources.option(str(d.get("source") or d.get("name")))["_target_"]
    problem = sources.checked_problem(d)
    fn = sources.target(d)
    name = str(d["_target_"])
    try:
        out = instantiate({"_target_": name, **sources.arguments(d, fn)}, _convert_="all")
    except Exception as exc:  # Hydra wraps the source's own error
        raise sources.failed(name, exc.__cause__ or exc) from None
    return sources.as_loaded(out, problem, name)


def load_dataset(
    option: str,
    problem: str,
    *,
    val_split: float,
    seed: int,
    folds: int = 1,
    fold: int = 0,
    **settings: Any,
) -> Dataset:
    """The splits of hpt's data option ``conf/data/<option>.yaml`` outside a run, as a run
    with this ``seed`` would have them; ``settings`` (``subset=300``) override its keys."""
    d = {**sources.option(option), "problem": problem, **settings}
    return prepare(load_source(d), d, val_split=val_split, seed=seed, folds=folds, fold=fold)


def build_model(model_cfg: Any, in_shape: list[int], out_features: int) -> nn.Module:
    """The model of ``model_cfg`` (``_target_`` plus its own arguments).

    Args:
        model_cfg: ``cfg.model``.
        in_shape: The data's input shape, passed only to a constructor that names it.
        out_features: The outputs the data needs, likewise.

    Returns:
        The model.

    Raises:
        UserError: No model, no target, or anything that goes wrong building it (one line
            naming the target).
    """
    if model_cfg is None:
        raise UserError(
            "model=null: choose a model (model=mlp, cnn, resnet18, one of your conf/model/*.yaml, "
            "or model=custom model._target_=pkg.Net)"
        )
    if OmegaConf.is_missing(model_cfg, "_target_") or not model_cfg.get("_target_"):
        raise UserError("model._target_ is not set: model._target_=pkg.Net names your model class")
    target = str(model_cfg._target_)
    from hpt.errors import one_line
    from hpt.targets import locate

    factory = locate(target, "model._target_")
    try:
        named = set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # no signature to read: pass nothing extra
        named = set()
    given = {"in_shape": list(in_shape), "out_features": int(out_features)}
    extra = {k: v for k, v in given.items() if k in named and k not in model_cfg}
    try:
        model = instantiate(model_cfg, **extra, _convert_="all")
    except Exception as exc:
        cause = exc.__cause__ or exc  # Hydra wraps the constructor's own error
        raise UserError(
            f"model._target_={target} could not be built: {type(cause).__name__}: {one_line(cause)}"
        ) from None
    if not isinstance(model, nn.Module):
        raise UserError(
            f"model._target_={target} returned a {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def resolve_objectives(metric: Any, direction: Any, problem: str) -> list[Objective]:
    """The run's objectives, from ``objective.metric`` and ``objective.direction``.

    Args:
        metric: A metric or a list of them; ``auto``: val/acc for classification and binary,
            else val/loss.
        direction: ``auto`` (from the metric), ``maximize`` or ``minimize``, or one per metric.
        problem: classification, binary or regression.

    Returns:
        The objectives, the first one selecting the best epoch.
    """
    return objectives.resolve(
        metric, direction, "val/acc" if problem in ("classification", "binary") else "val/loss"
    )


def run_params(cfg: DictConfig, choices: dict[str, str] | None = None) -> dict[str, Any]:
    """The flattened hyperparameters that define the run, plus the group choices.

    Args:
        cfg: The composed config.
        choices: Hydra's group choices; each becomes ``<group>.name`` (``optimizer.name``).

    Returns:
        Dotted keys and their values.
    """
    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    assert isinstance(container, dict)
    container.pop("hydra", None)
    params = flatten({k: v for k, v in container.items() if k in (*GROUPS, "objective")})
    for group, choice in (choices or {}).items():
        if group in GROUPS and choice is not None and f"{group}.name" not in params:
            params[f"{group}.name"] = choice
    return {k: v for k, v in params.items() if not k.endswith("._partial_")}


def build(cfg: DictConfig, data_cache: dict[Any, Dataset] | None = None, *, fold: int = 0) -> Run:
    """Build data, model, optimizer, schedule and loss for one run from the composed config.

    Args:
        cfg: The composed config.
        data_cache: Where a sweep worker keeps the data it uploaded to the device, across
            trials (None: no cache).
        fold: With ``trainer.folds=K > 1``, which fold validates
            (``hpt.training.repeats`` builds each).

    Returns:
        The run's objects and its loop settings.

    Raises:
        UserError: A setting that cannot be built (one line naming it).
    """
    t = cfg.trainer
    device, precision, folds = _trainer(t)
    data, on_device = _data(cfg, device, data_cache, folds, fold)
    problem = data.problem  # resolved from the data when data.problem=auto
    torch.manual_seed(int(t.seed))  # the same init for the same seed, whatever ran before
    model = build_model(cfg.get("model"), data.in_shape, data.out_features)
    spec = {  # how to build the model again (hpt.use.preprocessing)
        "model": OmegaConf.to_container(cfg.model, resolve=True, enum_to_str=True),
        "in_shape": data.in_shape,
        "out_features": data.out_features,
    }
    n_params = count_parameters(model)
    cpu_threads(device, n_params, int(t.batch_size))  # one thread for a small step on a CPU
    channels_last = _channels_last(t, model, device)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(cfg, model)
    objectives = resolve_objectives(cfg.objective.metric, cfg.objective.direction, problem)
    schedule = _schedule(cfg, optimizer, len(data.train), objectives[0])
    loss_fn = _loss(cfg, problem)
    if t.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    placement = Placement(device, precision, channels_last, on_device)
    settings = loop_settings(cfg, placement, problem, objectives[0], data.target_scale)
    compress = checked_compress(
        cfg.get("compress"), needed=any(o.name.startswith("compress/") for o in objectives)
    )
    return Run(
        model, optimizer, schedule, data, loss_fn, settings, objectives, n_params, compress, spec
    )


def _trainer(t: DictConfig) -> tuple[torch.device, str, int]:
    """The device, the precision and the number of folds; the backends set for the run."""
    device = resolve_device(str(t.device))
    precision = resolve_precision(str(plain(t.precision)), device)
    if t.epochs < 1 or t.batch_size < 1 or t.eval_batch_size < 1:
        raise UserError(
            "trainer.epochs, trainer.batch_size and trainer.eval_batch_size must be >= 1"
        )
    configure_backends(device, bool(t.deterministic), int(t.seed))
    folds = fold_count(t.get("folds", 1))
    check_plan(folds, int(t.get("repeats", 1)))
    if t.get("refit", False) and folds > 1:
        raise UserError("trainer.refit=true trains one model on every row: use trainer.folds=1")
    return device, precision, folds


def _data(
    cfg: DictConfig,
    device: torch.device,
    data_cache: dict[Any, Dataset] | None,
    folds: int,
    fold: int,
) -> tuple[Dataset, bool]:
    """The run's data, and whether it is held on the device (then it is moved there)."""
    t = cfg.trainer
    src = load_source(cfg.data)
    refit = bool(t.get("refit", False))
    data = prepare(
        src,
        cfg.data,
        val_split=float(t.val_split),
        seed=int(t.seed),
        folds=folds,
        fold=fold,
        refit=refit,
    )
    on_device = (
        fits_on_device(data.nbytes, device)
        if t.data_on_device == "auto"
        else bool(t.data_on_device)
    )
    if on_device:
        data = _on_device(data, device, data_cache, _cache_key(cfg, device, folds, fold))
    return data, on_device


def _cache_key(cfg: DictConfig, device: torch.device, folds: int, fold: int) -> tuple[Any, ...]:
    """What the data on the device depends on: the data config, the split, the device."""
    t = cfg.trainer
    return (
        json.dumps(OmegaConf.to_container(cfg.data, resolve=True), sort_keys=True, default=str),
        float(t.val_split),
        int(t.seed),
        str(device),
        folds,
        fold,
        bool(t.get("refit", False)),
    )


def _on_device(
    data: Dataset, device: torch.device, cache: dict[Any, Dataset] | None, key: tuple[Any, ...]
) -> Dataset:
    """``data`` on ``device``: sweep workers keep the uploaded tensors across trials."""
    if cache is not None and key in cache:
        return cache[key]
    data = data.to(device)
    if cache is not None:
        cache.clear()
        cache[key] = data
    return data


def _channels_last(t: DictConfig, model: nn.Module, device: torch.device) -> bool:
    """``trainer.channels_last``; ``auto``: for a convolutional model on CUDA."""
    if t.channels_last == "auto":
        return bool(getattr(model, "is_conv", False)) and device.type == "cuda"
    return bool(t.channels_last)


def _optimizer(cfg: DictConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer of ``cfg.optimizer`` over ``model``'s parameters."""
    try:  # torch checks the values (lr < 0, betas outside [0, 1)...) when the optimizer is made
        optimizer: torch.optim.Optimizer = instantiate(cfg.optimizer, _convert_="all")(
            params=model.parameters()
        )
    except (ValueError, TypeError) as exc:
        raise UserError(f"bad optimizer setting: {exc}") from exc
    return optimizer


def _schedule(
    cfg: DictConfig, optimizer: torch.optim.Optimizer, n_train: int, first: Objective
) -> Schedule:
    """The lr schedule of ``cfg.scheduler``, given the run's length and direction."""
    t = cfg.trainer
    steps_per_epoch = max(1, n_train // int(t.batch_size))
    try:  # every schedule gets the run's length and direction (plateau follows the objective)
        schedule: Schedule = instantiate(cfg.scheduler, _convert_="all")(
            optimizer,
            steps_per_epoch=steps_per_epoch,
            epochs=int(t.epochs),
            maximize=first.direction == "maximize",
        )
    except (ValueError, TypeError) as exc:
        raise UserError(f"bad scheduler setting: {exc}") from exc
    return schedule


def _loss(cfg: DictConfig, problem: str) -> nn.Module:
    """The loss of ``cfg.loss``, for the problem the data resolved (``data.problem``: auto)."""
    resolved = {"problem": problem} if "problem" in cfg.loss else {}
    loss_fn: nn.Module = instantiate(cfg.loss, **resolved, _convert_="all")
    check_fits(loss_fn, problem)
    return loss_fn
