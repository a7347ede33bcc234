"""The sweep's plan: every setting checked and resolved (space, objectives, study name,
storage, budget, sampler and pruner) before anything is written, in named steps whose order
is the order in which mistakes are reported."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.types import TaskFunction
from omegaconf import DictConfig

from hpt.errors import UserError
from hpt.masking import mask_url
from hpt.storage import is_url, resolve_spec
from hpt.sweep.legacy import legacy_notice, legacy_params
from hpt.sweep.objective import is_hpt_task, user_directions
from hpt.sweep.samplers import build_pruner, build_sampler, custom_space, motpe_as_tpe
from hpt.sweep.space import SearchSpace, parse
from hpt.sweep.validate import (
    check_creatable,
    check_enqueue_names,
    check_enqueued,
    check_keys,
    directions_for,
    validate_settings,
)


@dataclass
class Plan:
    """What the settings say, checked before anything is written: the sweep to run."""

    space: SearchSpace
    user_app: bool
    cluster: str | None  # "slurm" / "local" under hydra-submitit-launcher, else None
    names: list[str]
    dirs: list[str]
    study_name: str
    storage: str  # the storage spec (a URL or a journal path)
    n_trials: int
    sampler_conf: Any
    pruner_conf: Any
    meta: dict[str, Any]


def who(user_app: bool) -> str:
    """The name messages start with: a user's app never hears of hpt's own CLI.

    Args:
        user_app: The sweep runs a user's own task function.

    Returns:
        ``hpt sweeper`` for a user's app, ``hpt sweep`` for hpt's own task.
    """
    return "hpt sweeper" if user_app else "hpt sweep"


def make_plan(
    conf: dict[str, Any],
    arguments: list[str],
    task_function: TaskFunction,
    config: DictConfig,
    sweep_dir: Path,
) -> Plan:
    """Validate every setting and resolve space, objectives, study name and storage.

    Args:
        conf: The sweeper's settings, as plain data; completed in place (defaults, caps).
        arguments: The command line's sweep overrides (``key=EXPR``).
        task_function: The task every trial runs.
        config: The run's composed config.
        sweep_dir: The sweep's folder.

    Returns:
        The sweep to run.

    Raises:
        UserError: The first mistake found (exit code 2).
    """
    user_app = not is_hpt_task(task_function)
    space = _space(conf, arguments, config, sweep_dir, who(user_app))
    _check_task(conf, space, config, user_app)
    names, dirs = _objectives(conf, config, user_app)
    _apply_staged(conf, space, config)
    study_name = _study_name(conf, config, user_app)
    spec = _storage(conf, sweep_dir)
    n_trials = int(conf["n_trials"])  # >= 1: checked with every other setting (validate)
    _fit_pruner(conf, space, config, user_app)
    sampler_conf, pruner_conf = conf.get("sampler"), conf.get("pruner")
    meta = {
        "study_name": study_name,
        "storage": _storage_label(spec, sweep_dir),
        "sampler": _class_name(sampler_conf, "TPESampler"),
        "pruner": _class_name(pruner_conf, "NopPruner"),
        "directions": dirs,
        "objectives": names,
        "search_space": space.describe(),
        "fixed": [mask_url(f) for f in space.fixed],  # meta goes into sweep.json
    }
    if meta["sampler"] == "GridSampler":
        n_trials = _cap_to_grid(conf, space, n_trials, user_app)
    _check_optimizers(conf, space, meta, len(dirs))
    return Plan(
        space=space,
        user_app=user_app,
        cluster=_cluster(config, spec),
        names=names,
        dirs=dirs,
        study_name=study_name,
        storage=spec,
        n_trials=n_trials,
        sampler_conf=sampler_conf,
        pruner_conf=pruner_conf,
        meta=meta,
    )


def _space(
    conf: dict[str, Any], arguments: list[str], config: DictConfig, sweep_dir: Path, name: str
) -> SearchSpace:
    """The settings' own checks, then the search space parsed and checked against the
    config and the enqueued points; the sweep dir made (or, for a dry run, checked). The
    old plugin's ``motpe`` runs as TPE, said (as ``name``) once the settings are good."""
    conf["sampler"], note = motpe_as_tpe(conf.get("sampler"))
    validate_settings(conf)
    if conf.get("search_space") is not None:  # the old plugin's form, read as it read it
        print(legacy_notice(conf["search_space"], conf.get("params")), file=sys.stderr)
        if conf.get("params") is None:
            conf["params"] = legacy_params(conf["search_space"])
    space = parse(conf.get("params"), conf.get("conditional"), arguments)
    if not conf.get("custom_search_space"):  # a custom space may add names only it knows
        check_enqueue_names(space, conf.get("enqueue") or [])
    check_enqueued(space, conf.get("enqueue") or [])
    check_keys(space, config)
    check_creatable(sweep_dir, "hydra.sweep.dir", create=not conf.get("dry_run"))
    if note:
        print(f"{name}: {note}", file=sys.stderr)
    return space


def _check_task(
    conf: dict[str, Any], space: SearchSpace, config: DictConfig, user_app: bool
) -> None:
    """hpt's own task: searched settings it would never read dropped, and a search space
    required; ``min_failures`` and ``baseline`` defaulted (on for hpt's task, opt-in for a
    user's app)."""
    if not user_app:  # hpt's own settings that only reach the run through another group
        from hpt.sweep.reach import prune_unreached

        for line in prune_unreached(space, config):
            print(f"hpt sweep: {line}", file=sys.stderr)
    if not space.dims and not conf.get("custom_search_space") and not user_app:
        raise UserError(
            "nothing to search: pass search=NAME (see conf/search/) "
            "or hydra.sweeper.params.KEY=EXPR"
        )  # a user app with no params runs n_trials jobs of its base config, as the old plugin
    if conf.get("min_failures") is None:  # opt-in for user apps (the old plugin had none)
        conf["min_failures"] = 0 if user_app else 3
    if conf.get("baseline") is None:  # opt-in for user apps: n_trials sampled points, as before
        conf["baseline"] = not user_app


def _objectives(
    conf: dict[str, Any], config: DictConfig, user_app: bool
) -> tuple[list[str], list[str]]:
    """The objectives' names and directions: a user app's from ``direction``, hpt's task's
    from its ``objective`` config."""
    if user_app:
        return user_directions(conf.get("direction"))
    return directions_for(conf, config)


def _apply_staged(conf: dict[str, Any], space: SearchSpace, config: DictConfig) -> None:
    """``from_sweep=DIR``: fix the earlier sweep's best params and queue its best point
    first (before the fingerprint is taken: fixed params are part of it)."""
    from_sweep = config.get("from_sweep")
    if from_sweep:
        from hpt.sweep import staged

        first = staged.apply(space, str(from_sweep))
        conf["enqueue"] = [first, *(conf.get("enqueue") or [])] if first else conf.get("enqueue")


def _study_name(conf: dict[str, Any], config: DictConfig, user_app: bool) -> str:
    """``study_name``, else the app's job name (a user's app) or the search config's name."""
    if conf.get("study_name"):
        return conf["study_name"]  # (as given: a name is not converted)
    if user_app:
        return str(config.hydra.job.name)
    search = config.hydra.runtime.choices.get("search")
    return (search if search not in (None, "null") else None) or "hpt"


def _storage(conf: dict[str, Any], sweep_dir: Path) -> str:
    """The storage spec (a URL, or a journal file whose folder is made, or checked)."""
    spec = resolve_spec(conf.get("storage"), sweep_dir)
    if not is_url(spec):
        create = not conf.get("dry_run")
        check_creatable(Path(spec).parent, "the storage file's folder", create=create)
    return spec


def _fit_pruner(
    conf: dict[str, Any], space: SearchSpace, config: DictConfig, user_app: bool
) -> None:
    """The pruner's ``auto`` settings from the trials' length (hpt's task only: a user app's
    is unknown)."""
    from hpt.sweep.pruning import fit_to_epochs, trial_epochs

    conf["pruner"] = fit_to_epochs(
        conf.get("pruner"), None if user_app else trial_epochs(config, space)
    )


def _cap_to_grid(conf: dict[str, Any], space: SearchSpace, n_trials: int, user_app: bool) -> int:
    """A grid's size caps ``n_trials``; a space that cannot be gridded fails now, clearly."""
    points = 1
    for values in space.grid().values():
        points *= len(values)
    if n_trials > points:
        print(
            f"{who(user_app)}: the grid has {points} points; "
            f"n_trials={n_trials} capped to {points}",
            file=sys.stderr,
        )
        n_trials = conf["n_trials"] = points
    return n_trials


def _check_optimizers(
    conf: dict[str, Any], space: SearchSpace, meta: dict[str, Any], n_objectives: int
) -> None:
    """A bad pruner, sampler or custom space setting fails before anything runs."""
    if n_objectives > 1 and meta["pruner"] != "NopPruner":
        raise UserError(
            "pruning needs a single objective: "
            "use hydra/sweeper/pruner=none for multi-objective sweeps"
        )
    stop = {k: v for k, v in (conf.get("stop") or {}).items() if v is not None}
    if n_objectives > 1 and stop:  # "the objective reached" and "a new best" need one objective
        raise UserError(
            f"hydra.sweeper.stop.{sorted(stop)[0]} needs a single objective; this sweep has "
            f"{n_objectives}: drop the stop rule or optimize one objective"
        )
    build_pruner(conf.get("pruner"))
    build_sampler(conf.get("sampler"), space)
    if conf.get("custom_search_space"):
        custom_space(str(conf["custom_search_space"]))


def _cluster(config: DictConfig, spec: str) -> str | None:
    """``slurm`` / ``local`` under hydra-submitit-launcher (whose workers need a storage
    every node reaches), else None."""
    from hpt.sweep.cluster import check_storage, cluster_kind

    cluster = cluster_kind(config)
    if cluster is not None:
        check_storage(spec)
    return cluster


def _storage_label(spec: str, sweep_dir: Path) -> str:
    if is_url(spec):
        return mask_url(spec)
    with contextlib.suppress(ValueError):
        return str(Path(spec).resolve().relative_to(sweep_dir.resolve()))
    return spec


def _class_name(conf: Any, default: str) -> str:
    return str(conf["_target_"]).rsplit(".", 1)[-1] if conf else default
