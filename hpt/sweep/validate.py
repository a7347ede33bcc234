"""A sweep's settings checked before anything runs: each mistake is one line and exit code 2
(``UserError``), found in the order the checks run here (the first one is reported)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.errors import UserError
from hpt.sweep.space import SearchSpace

# Each numeric setting's rule and the words that say it in the error message.
NUMBER_RULES: dict[str, tuple[Any, str]] = {
    "n_trials": (lambda v: v >= 1, ">= 1"),
    "n_jobs": (lambda v: v >= 0, ">= 0 (0: one worker per GPU)"),
    "per_gpu": (lambda v: v >= 1, ">= 1"),
    "timeout": (lambda v: v > 0, "> 0 seconds (or null)"),
    "trial_timeout": (lambda v: v > 0, "> 0 seconds (or null)"),
    "heartbeat_interval": (lambda v: v > 0, "> 0 seconds"),
    "grace_period": (lambda v: v > 0, "> 0 seconds"),
    "max_failure_rate": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "min_failures": (lambda v: v >= 0, ">= 0"),
}


def plain(x: Any) -> Any:
    """A setting as plain Python data.

    Args:
        x: An OmegaConf node or any other value.

    Returns:
        The node as resolved dicts and lists; any other value unchanged.
    """
    return OmegaConf.to_container(x, resolve=True) if OmegaConf.is_config(x) else x


def directions_for(conf: Mapping[str, Any], config: DictConfig) -> tuple[list[str], list[str]]:
    """The study's directions and objective names, from the run's objective config.

    Args:
        conf: The sweeper's settings (``hydra.sweeper``), as plain data.
        config: The run's composed config.

    Returns:
        The objectives' names and their directions (``minimize`` / ``maximize``).

    Raises:
        UserError: ``hydra.sweeper.direction`` is set and differs from the objective's.
    """
    from hpt.build import data_problem, resolve_objectives

    objectives = resolve_objectives(
        config.objective.metric, config.objective.direction, data_problem(config)
    )
    names, dirs = [o.name for o in objectives], [o.direction for o in objectives]
    wanted = plain(conf.get("direction"))
    if wanted is not None:
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if len(wanted) != len(dirs) or wanted != dirs:
            raise UserError(
                f"hydra.sweeper.direction={wanted} does not match the objective {names} ({dirs}); "
                "set objective.metric / objective.direction to what the sweep should optimize"
            )
    return names, dirs


def validate_settings(conf: Mapping[str, Any]) -> None:
    """Every numeric sweeper setting checked before anything runs: one line, exit 2.

    Args:
        conf: The sweeper's settings (``hydra.sweeper``), as plain data.

    Raises:
        UserError: The first setting out of its range or of the wrong type.
    """
    _check_numbers(conf)
    _check_stop_rules(conf.get("stop") or {})
    from hpt.sweep.baseline import parse_constraints

    parse_constraints(conf.get("constraints"))
    seed = (conf.get("sampler") or {}).get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise UserError(f"hydra.sweeper.sampler.seed={seed!r} must be an integer >= 0 (or null)")
    pruner = conf.get("pruner") or {}
    if str(pruner.get("_target_", "")).endswith("HyperbandPruner"):
        factor = pruner.get("reduction_factor")
        if isinstance(factor, int | float) and factor < 2:
            raise UserError(f"hydra.sweeper.pruner.reduction_factor={factor} must be >= 2")
    for entry in conf.get("enqueue") or []:
        if not isinstance(entry, Mapping):
            raise UserError(
                f"hydra.sweeper.enqueue entries must be mappings of param: value, got {entry!r}"
            )


def _number(conf: Mapping[str, Any], key: str) -> float | None:
    value = conf.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"hydra.sweeper.{key}={value!r} must be a number")
    return float(value)


def _check_numbers(conf: Mapping[str, Any]) -> None:
    """The settings of ``NUMBER_RULES``, in its order."""
    for key, (ok, wanted) in NUMBER_RULES.items():
        value = _number(conf, key)
        if value is not None and (not math.isfinite(value) or not ok(value)):
            raise UserError(f"hydra.sweeper.{key}={value:g} must be {wanted}")


def _check_stop_rules(stop: Mapping[str, Any]) -> None:
    """``hydra.sweeper.stop``: stagnation an integer >= 1, target a finite number."""
    stagnation, target = stop.get("stagnation"), stop.get("target")
    if stagnation is not None and (
        isinstance(stagnation, bool) or not isinstance(stagnation, int) or stagnation < 1
    ):
        raise UserError(
            f"hydra.sweeper.stop.stagnation={stagnation!r} must be an integer >= 1 (or null)"
        )
    if target is not None and (
        isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target)
    ):
        raise UserError(f"hydra.sweeper.stop.target={target!r} must be a finite number (or null)")


def check_enqueue_names(space: SearchSpace, enqueue: list[Any]) -> None:
    """Enqueued points may only name searched params.

    Args:
        space: The parsed search space.
        enqueue: ``hydra.sweeper.enqueue``: mappings of param -> value.

    Raises:
        UserError: An entry names a param that is not searched.
    """
    searched = {d.name for d in space.dims}
    for entry in enqueue:
        unknown = sorted(set(entry) - searched)
        if unknown:
            raise UserError(
                f"hydra.sweeper.enqueue names {unknown}, not in the search space {sorted(searched)}"
            )


def check_enqueued(space: SearchSpace, enqueue: list[Any]) -> None:
    """Enqueued values must lie in their dimension's range (Optuna would run them anyway).

    Args:
        space: The parsed search space.
        enqueue: ``hydra.sweeper.enqueue``: mappings of param -> value.

    Raises:
        UserError: A value lies outside its dimension.
    """
    dims = {d.name: d for d in space.dims}
    for entry in enqueue:
        for name, value in entry.items() if isinstance(entry, Mapping) else ():
            dim = dims.get(name)
            if dim is None:
                continue
            try:
                inside = dim.dist._contains(dim.dist.to_internal_repr(value))
            except Exception:
                inside = False
            if not inside:
                raise UserError(
                    f"hydra.sweeper.enqueue: {name}={value!r} "
                    f"is outside its search space {dim.expr}"
                )


_ABSENT = object()


def check_keys(space: SearchSpace, config: DictConfig) -> None:
    """Searched and fixed keys must exist in the config (``+key`` adds one).

    A typo would otherwise fail every trial. Keys under a searched group, and conditional
    ones, exist only for some choices and are left to each trial's composition.

    Args:
        space: The parsed search space (its dimensions and fixed overrides).
        config: The run's composed config.

    Raises:
        UserError: A key is not in the config (with the nearest one that is, if any).
    """
    import difflib

    choices = config.hydra.runtime.choices
    groups = {d.name for d in space.dims if d.name in choices}
    names = [d.name for d in space.dims if d.when is None]
    names += [f.split("=", 1)[0] for f in space.fixed]
    known: list[str] | None = None
    for name in names:
        key = name.lstrip("~")
        if name.startswith(("+", "~")) or key in choices or key.split(".", 1)[0] in groups:
            continue  # (Hydra applied a ~deletion to this config already: the key is gone)
        if (
            key.startswith("hydra.")
            or OmegaConf.select(config, key, default=_ABSENT) is not _ABSENT
        ):
            continue
        if known is None:
            known = _config_keys(config)
        near = difflib.get_close_matches(key, [k for k in known if not k.startswith("hydra.")], 1)
        hint = f"; did you mean {near[0]}?" if near else f"; to add it, write +{key}"
        raise UserError(f"{key} is not in the config{hint}")


def _config_keys(config: DictConfig) -> list[str]:
    from hpt.rundir import flatten

    tree = OmegaConf.to_container(config, resolve=False) or {}
    return list(flatten(tree))  # type: ignore[arg-type]


def check_creatable(path: Path, what: str, *, create: bool) -> None:
    """Create the folder now (the sweep writes there next), or say in one line why not.

    A dry run writes nothing, so it only checks that the nearest existing folder is writable.

    Args:
        path: The folder.
        what: What the folder is, as the message names it.
        create: Create it (False: only check that it could be created).

    Raises:
        UserError: The folder cannot be created.
    """
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
            return
        probe = path
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir():
            raise NotADirectoryError(20, "not a folder", str(probe))
        import tempfile

        os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".hpt-probe-"))  # root ignores access bits
    except OSError as exc:
        raise UserError(f"{what} {path} cannot be created: {exc.strerror or exc}") from None
