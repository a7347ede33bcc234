"""Search only what the run uses.

Some of hpt's settings reach the run only through an interpolation in another group's
config: ``regularization.dropout`` through ``model.dropout: ${regularization.dropout}``
(the shipped mlp/cnn/resnet18), ``regularization.weight_decay`` through each optimizer's
``weight_decay: ${regularization.weight_decay}``. A user's own model or optimizer config may
not have that key; searching the setting then changes nothing, and importance would still
rank it. Before the sweep starts, such a dimension is passed through to a model constructor
that takes the argument (``+model.dropout=${regularization.dropout}``), or dropped, with one
line saying which and why.
"""

from __future__ import annotations

import inspect
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.sweep.planning.space import SearchSpace

# setting -> (group whose config must use it, the argument name in that group's constructor)
REACHED_BY = {
    "regularization.dropout": ("model", "dropout"),
    "regularization.weight_decay": ("optimizer", "weight_decay"),
}


def _uses(node: Any, name: str) -> bool:
    text = "${" + name + "}"
    if isinstance(node, dict):
        return any(_uses(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_uses(v, name) for v in node)
    return isinstance(node, str) and text in node


def _takes(target: Any, argument: str) -> bool:
    """Whether the ``_target_`` callable names ``argument`` (or takes ``**kwargs``)."""
    if not target:
        return False
    from hpt.targets import locate

    try:
        params = inspect.signature(locate(str(target), "_target_")).parameters
    except Exception:
        return False
    return argument in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def prune_unreached(space: SearchSpace, config: DictConfig) -> list[str]:
    """Drop (or pass through) searched settings the run cannot receive.

    Args:
        space: The search space (changed in place: a dimension removed, or a fixed override
            added that passes the value on).
        config: The run's composed config.

    Returns:
        The lines to print, one per setting.
    """
    searched = {d.name for d in space.dims}
    lines = []
    for name, (group, argument) in REACHED_BY.items():
        dim = next((d for d in space.dims if d.name == name and d.when is None), None)
        if dim is None or group in searched or config.get(group) is None:
            continue  # not searched, or the group itself is: every choice may differ
        node = OmegaConf.to_container(config[group], resolve=False)
        if _uses(node, name):
            continue
        target = node.get("_target_") if isinstance(node, dict) else None
        if _takes(target, argument) and argument not in (node or {}):
            space.fixed.append(f"+{group}.{argument}=${{{name}}}")
            lines.append(f"searching {name}: passed to {target} as {group}.{argument}")
            continue
        space.dims.remove(dim)
        lines.append(
            f"not searching {name}: {group} {target or config[group]} has no {argument!r} "
            f"argument, so it would change nothing"
        )
    return lines
