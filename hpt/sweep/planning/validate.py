"""A sweep's settings checked before anything runs: each mistake is one line and exit code 2
(``UserError``), found in the order the checks run here (the first one is reported)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.config.ranges import field_problems
from hpt.errors import UserError
from hpt.sweep.planning.options import OPTIONS, HptSweeperConf, StopConf
from hpt.sweep.planning.space import SearchSpace, has_key


def plain(x: Any) -> Any:
    """A setting as plain Python data.

    Args:
        x: An OmegaConf node or any other value.

    Returns:
        The node as resolved dicts and lists; any other value unchanged.
    """
    return OmegaConf.to_container(x, resolve=True) if OmegaConf.is_config(x) else x


def directions_for(direction: Any, config: DictConfig) -> tuple[list[str], list[str]]:
    """The study's directions and objective names, from the run's objective config.

    Args:
        direction: ``hydra.sweeper.direction`` (None: the objective's own), as plain data.
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
    wanted = plain(direction)
    if wanted is not None:
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if len(wanted) != len(dirs) or wanted != dirs:
            raise UserError(
                f"hydra.sweeper.direction={wanted} does not match the objective {names} ({dirs}); "
                "set objective.metric / objective.direction to what the sweep should optimize"
            )
    return names, dirs


def validate_settings(conf: Mapping[str, Any]) -> None:
    """Every sweeper setting checked before anything runs: one line, exit 2.

    The ranges are the ones stated beside each field of ``hpt.sweep.planning.options`` (the
    sweeper's, the stop rules', and the chosen sampler's and pruner's), checked by
    ``hpt.config.ranges.field_problems``.

    Args:
        conf: The sweeper's settings (``hydra.sweeper``), as plain data.

    Raises:
        UserError: The first setting out of its range or of the wrong type.
    """
    stop = conf.get("stop") or {}
    rules = [f.name for f in dataclasses.fields(StopConf)]
    unknown = sorted(set(stop) - set(rules)) if isinstance(stop, Mapping) else ["(not a mapping)"]
    if unknown:  # `+hydra.sweeper.stop.X=...` gets past Hydra's own key check
        raise UserError(f"hydra.sweeper.stop.{unknown[0]} is not a stop rule: {', '.join(rules)}")
    found = field_problems(HptSweeperConf, conf, "hydra.sweeper")
    found += field_problems(StopConf, stop, "hydra.sweeper.stop")
    for group in ("sampler", "pruner"):
        node = conf.get(group) or {}
        schema = OPTIONS.get(str(node.get("_target_", "")))
        if schema is not None:
            found += field_problems(schema, node, f"hydra.sweeper.{group}")
    if found:
        raise UserError(found[0])
    from hpt.sweep.running.baseline import parse_constraints

    parse_constraints(conf.get("constraints"))
    for entry in conf.get("enqueue") or []:
        if not isinstance(entry, Mapping):
            raise UserError(
                f"hydra.sweeper.enqueue entries must be mappings of param: value, got {entry!r}"
            )


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
        if key.startswith("hydra.") or has_key(config, key):
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
