"""The allowed range of every setting: ``RULES`` and ``problems``, which checks a config against it.

Types alone let nonsense through (``model.width=0``, ``regularization.dropout=-0.1``,
``optimizer.lr=inf``): ``RULES`` holds the allowed range of every numeric, boolean and
enumerated key of every group, by its dotted name. ``hpt.config.check.validate`` runs the check
once, right after composition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from hpt.config.ranges import (
    BOOL,
    COUNT,
    DECAY,
    FRACTION,
    NATURAL,
    NONNEG,
    OPEN_UNIT,
    POSITIVE,
    UNIT,
    ListOf,
    Num,
    OneOf,
    Rule,
    is_number,
    schema_rules,
)
from hpt.config.schema import GROUPS, CompressConfig, Problem, RegularizationConfig, TrainerConfig

# The ranges of the keys whose group has no schema (a `_target_`'s own arguments), and of
# data's, whose keys several sources share, by dotted name. A key a group option does not have
# is simply not checked; tests/config/test_rules.py fails when an option gains a key that has no
# rule, here or beside its schema field.
_NAMED: dict[str, Rule] = {
    # data
    "data.problem": OneOf(tuple(p.value for p in Problem)),
    "data.shape": ListOf(COUNT),
    "data.num_classes": COUNT,
    "data.download": BOOL,
    "data.subset": Num(2, integer=True, optional=True),
    "data.n_samples": Num(10, integer=True),  # a train, a validation and a test split
    "data.n_features": COUNT,
    "data.noise": NONNEG,
    "data.test_split": OPEN_UNIT,  # table, image_folder: the test fraction when no test file
    "data.max_classes": Num(2, integer=True),  # table: integer targets up to this are classes
    "data.target_scaling": OneOf(("standard", "none")),  # regression targets: standardised or not
    "data.size": COUNT,  # image_folder: images are resized to size x size pixels
    "data.channels": OneOf(("auto", 1, 3)),
    "data.epochs": COUNT,  # table: trainer.epochs unless set
    "data.batch_size": COUNT,  # table: trainer.batch_size unless set
    # model (mlp, cnn, resnet18)
    "model.width": COUNT,
    "model.depth": NATURAL,  # 0: a linear model
    "model.channels": ListOf(COUNT),
    "model.fc_width": COUNT,
    "model.batch_norm": BOOL,
    "model.dropout": FRACTION,
    # model (tabm, ft_transformer: hpt.table_models)
    "model.k": COUNT,  # TabM's ensemble members
    "model.n_blocks": COUNT,
    "model.d_block": COUNT,
    "model.attention_n_heads": COUNT,
    "model.attention_dropout": FRACTION,
    "model.ffn_d_hidden_multiplier": POSITIVE,
    "model.ffn_dropout": FRACTION,
    "model.residual_dropout": FRACTION,
    "model.embeddings.kind": OneOf(("none", "periodic")),
    "model.embeddings.d_embedding": COUNT,
    "model.embeddings.frequency_scale": POSITIVE,
    # optimizer (every torch.optim choice in conf/optimizer)
    "optimizer.lr": POSITIVE,
    "optimizer.betas": ListOf(FRACTION, length=2),
    "optimizer.eps": POSITIVE,
    "optimizer.weight_decay": NONNEG,
    "optimizer.momentum": FRACTION,
    "optimizer.dampening": UNIT,
    "optimizer.nesterov": BOOL,
    "optimizer.alpha": FRACTION,
    "optimizer.rho": UNIT,
    "optimizer.lr_decay": NONNEG,
    # scheduler
    "scheduler.step_size": COUNT,
    "scheduler.gamma": DECAY,
    "scheduler.milestones": ListOf(COUNT, increasing=True),
    "scheduler.eta_min": NONNEG,
    "scheduler.factor": OPEN_UNIT,
    "scheduler.patience": NATURAL,
    "scheduler.threshold": NONNEG,
    "scheduler.min_lr": NONNEG,
    "scheduler.max_lr_factor": POSITIVE,
    "scheduler.pct_start": OPEN_UNIT,
    "scheduler.anneal_strategy": OneOf(("cos", "linear")),
    "scheduler.warmup_fraction": FRACTION,
    "scheduler.final_lr_factor": UNIT,
    "scheduler.decay": OneOf(("cosine", "linear")),
    # loss
    "loss.problem": OneOf(tuple(p.value for p in Problem)),
    "loss.label_smoothing": FRACTION,
    "loss.beta": NONNEG,
    # lr_find (`hpt lr-find`)
    "lr_find.start": POSITIVE,
    "lr_find.end": POSITIVE,
    "lr_find.steps": Num(5, integer=True),  # the range test needs a few points to smooth
    "lr_find.beta": FRACTION,
    "lr_find.diverge": Num(1, lo_open=True),
    # task=gan / task=vae
    "task.g_lr": POSITIVE,
    "task.d_lr": POSITIVE,
    "task.beta1": FRACTION,
    "task.beta2": FRACTION,
    "task.score_samples": Num(2, integer=True),
    "task.grid": COUNT,
    "task.lr": POSITIVE,
    "task.optimizer.lr": POSITIVE,
    "task.g_optimizer.lr": POSITIVE,
    "task.g_optimizer.betas": ListOf(FRACTION, length=2),
    "task.d_optimizer.lr": POSITIVE,
    "task.d_optimizer.betas": ListOf(FRACTION, length=2),
    "task.beta": NONNEG,
    "task.model.arch": OneOf(("conv", "mlp")),
    "task.model.latent_dim": COUNT,
    "task.model.width": COUNT,
    "task.model.depth": COUNT,
    # logger (experiment trackers)
    "logger.tensorboard.flush_secs": POSITIVE,
    "logger.wandb.mode": OneOf((None, "online", "offline", "disabled")),
    # what the run is judged by
    "objective.direction": OneOf(("auto", "maximize", "minimize")),
}

# The order problems are reported in: each group's keys in their config's order.
GROUP_ORDER = (*GROUPS, "lr_find", "task", "logger", "objective")
# Every numeric, boolean and enumerated key of every group: the schemas' own, and the table's.
RULES: dict[str, Rule] = dict(
    sorted(
        {
            **_NAMED,
            **schema_rules(RegularizationConfig, "regularization"),
            **schema_rules(TrainerConfig, "trainer"),
            **schema_rules(CompressConfig, "compress"),
        }.items(),
        key=lambda item: GROUP_ORDER.index(item[0].split(".", 1)[0]),
    )
)


def _show(value: Any) -> str:
    value = getattr(value, "value", value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, list | tuple):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value) if value != "" else "''"


def problems(cfg: Mapping[str, Any] | DictConfig) -> list[str]:
    """Every setting of ``cfg`` outside its allowed range.

    Args:
        cfg: A composed config (its ``hydra`` node is not checked), or a plain mapping.

    Returns:
        One ``key=value: must be ...`` message per bad setting; ``${other.key}`` references
        are left to the key they copy.
    """
    container: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    if isinstance(cfg, DictConfig):  # resolved, without the hydra node (not ours to check)
        for k in cfg:
            node = cfg[k] if k != "hydra" else None
            nested = isinstance(node, DictConfig | ListConfig)
            container[str(k)] = OmegaConf.to_container(node, resolve=True) if nested else node
            raw[str(k)] = OmegaConf.to_container(node, resolve=False) if nested else node
    else:
        container = dict(cfg)
    found = []
    for key, rule in RULES.items():
        value = _lookup(container, key)
        if value is _MISSING or _REFERENCE.fullmatch(str(_lookup(raw, key))):
            continue  # absent, or `${other.key}`: the key it copies is checked in its own right
        if isinstance(rule, OneOf) and isinstance(value, list) and key == "objective.direction":
            bad = [v for v in value if not rule.allows(v)]  # multi-objective: one per metric
        else:
            bad = [] if rule.allows(value) else [value]
        if bad:
            found.append(f"{key}={_show(value)}: must be {rule}")
    lr_find = container.get("lr_find")
    return found + (_lr_find_order(lr_find) if isinstance(lr_find, Mapping) else [])


def lr_find_problems(scan: Mapping[str, Any]) -> list[str]:
    """``hpt lr-find``'s plan against the ``lr_find.*`` ranges above, the only place they live.

    Args:
        scan: The plan's settings by their short names (``start``, ``end``, ``steps``, ...).

    Returns:
        One line per problem, as ``problems`` words it; empty when the plan can run.
    """
    found = [
        f"lr_find.{key}={_show(value)}: must be {RULES[f'lr_find.{key}']}"
        for key, value in scan.items()
        if not RULES[f"lr_find.{key}"].allows(value)
    ]
    return found + _lr_find_order(scan)


def _lr_find_order(lr_find: Mapping[str, Any]) -> list[str]:
    start: Any = lr_find.get("start")
    end: Any = lr_find.get("end")
    if is_number(start) and is_number(end) and not end > start:
        return [f"lr_find.end={_show(end)}: must be > lr_find.start={_show(start)}"]
    return []


_MISSING = object()
_REFERENCE = re.compile(r"\$\{[\w.]+\}")


def _lookup(container: Mapping[str, Any], key: str) -> Any:
    node: Any = container
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node
