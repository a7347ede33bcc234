"""The sweep's plan: every setting checked and resolved (space, objectives, study name,
storage, budget, sampler and pruner) before anything is written, in named steps whose order
is the order in which mistakes are reported."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.types import TaskFunction
from omegaconf import DictConfig

from hpt.errors import UserError
from hpt.masking import mask_url
from hpt.storage import is_url, resolve_spec
from hpt.sweep.planning.legacy import legacy_notice, legacy_params
from hpt.sweep.planning.pruning import build_pruner
from hpt.sweep.planning.samplers import build_sampler, custom_space, motpe_as_tpe
from hpt.sweep.planning.space import SearchSpace, parse
from hpt.sweep.planning.validate import (
    check_creatable,
    check_enqueue_names,
    check_enqueued,
    check_keys,
    directions_for,
    validate_settings,
)
from hpt.sweep.running.objective import is_hpt_task, user_directions
from hpt.sweep.running.spec import WorkerSpec


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The sweeper's settings the plan does not resolve, typed once: the workers, their limits
    and stop rules, what the study starts with, and what the sweep hands over."""

    n_jobs: int  # 0: per_gpu workers on each visible GPU
    per_gpu: int
    detach: bool
    dry_run: bool
    rerun: str | None  # "extend": n_trials more than the study had finished
    warm_start: str | None
    enqueue: list[dict[str, Any]]
    baseline: bool
    params: dict[str, Any]  # the search space as written (search.yaml records it)
    conditional: dict[str, Any]
    refit: Any  # "auto", True or False
    select: str
    timeout: float | None
    trial_timeout: float | None
    max_failure_rate: float
    min_failures: int
    heartbeat_interval: float
    grace_period: float
    custom_search_space: str | None
    stop: dict[str, Any]
    constraints: dict[str, str]


@dataclass(kw_only=True)
class Plan:
    """What the settings say, checked before anything is written: the sweep to run. The
    settings dict stops here: every later step reads the plan (and the worker its spec)."""

    space: SearchSpace
    user_app: bool
    cluster: str | None  # "slurm" / "local" under hydra-submitit-launcher, else None
    names: list[str]
    dirs: list[str]
    study_name: str
    storage: str  # the storage spec (a URL or a journal path)
    n_trials: int  # the study's budget (``rerun=extend`` adds the trials it had finished)
    budget: int  # this invocation's n_trials, as planned: the most workers it starts
    sampler_conf: Any
    pruner_conf: Any
    meta: dict[str, Any]
    settings: Settings


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
    names, dirs = _objectives(conf.get("direction"), config, user_app)
    _apply_staged(conf, space, config)
    study_name = _study_name(conf.get("study_name"), config, user_app)
    spec = _storage(conf.get("storage"), sweep_dir, create=not conf.get("dry_run"))
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
        budget=n_trials,
        sampler_conf=sampler_conf,
        pruner_conf=pruner_conf,
        meta=meta,
        settings=_settings(conf),
    )


def _settings(conf: dict[str, Any]) -> Settings:
    """The settings as the plan left them (defaults filled, enqueue staged), typed."""
    timeout, trial_timeout = conf.get("timeout"), conf.get("trial_timeout")
    return Settings(
        n_jobs=int(conf.get("n_jobs") or 0),
        per_gpu=int(conf.get("per_gpu") or 1),
        detach=bool(conf.get("detach")),
        dry_run=bool(conf.get("dry_run")),
        rerun=conf.get("rerun"),
        warm_start=str(conf["warm_start"]) if conf.get("warm_start") else None,
        enqueue=list(conf.get("enqueue") or []),
        baseline=bool(conf.get("baseline")),
        params=conf.get("params") or {},
        conditional=conf.get("conditional") or {},
        refit=conf.get("refit", "auto"),
        select=str(conf.get("select") or "best"),
        timeout=float(timeout) if timeout else None,
        trial_timeout=trial_timeout,
        max_failure_rate=float(conf["max_failure_rate"]),
        min_failures=int(conf["min_failures"]),
        heartbeat_interval=float(conf["heartbeat_interval"]),
        grace_period=float(conf["grace_period"]),
        custom_search_space=conf.get("custom_search_space"),
        stop=dict(conf.get("stop") or {}),
        constraints=dict(conf.get("constraints") or {}),
    )


def worker_spec(plan: Plan, sweep_dir: Path) -> WorkerSpec:
    """What every worker needs, derived from the plan in one picklable object (it crosses
    into spawned processes); ``timeout`` becomes a deadline from now.

    Args:
        plan: The sweep to run.
        sweep_dir: The sweep's folder.

    Returns:
        The workers' spec.
    """
    s = plan.settings
    return WorkerSpec(
        storage=plan.storage,
        study_name=plan.study_name,
        space=plan.space,
        n_trials=plan.n_trials,
        sweep_dir=str(sweep_dir),
        sampler=plan.sampler_conf,
        pruner=plan.pruner_conf,
        deadline=time.time() + s.timeout if s.timeout else None,
        trial_timeout=s.trial_timeout,
        max_failure_rate=s.max_failure_rate,
        min_failures=s.min_failures,
        heartbeat_interval=s.heartbeat_interval,
        grace_period=s.grace_period,
        custom_search_space=s.custom_search_space,
        extra_overrides=[] if plan.user_app else ["trainer.quiet=true", *_test_in_trials(s)],
        user_app=plan.user_app,
        objective_names=plan.names,
        directions=plan.dirs,
        stagnation=s.stop.get("stagnation"),
        target=s.stop.get("target"),
        constraints=s.constraints,
    )


def _test_in_trials(s: Settings) -> list[str]:
    """A constraint on a test metric needs every trial tested (else trials skip the test)."""
    return ["trainer.test=true"] if any(k.startswith("test/") for k in s.constraints) else []


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
    required; ``min_failures`` defaulted (3; 1 with ``max_failure_rate=0``) and ``baseline``
    (on for hpt's task, opt-in for a user's app)."""
    if not user_app:  # hpt's own settings that only reach the run through another group
        from hpt.sweep.planning.reach import prune_unreached

        for line in prune_unreached(space, config):
            print(f"hpt sweep: {line}", file=sys.stderr)
    if not space.dims and not conf.get("custom_search_space") and not user_app:
        raise UserError(
            "nothing to search: pass search=NAME (see conf/search/) "
            "or hydra.sweeper.params.KEY=EXPR"
        )  # a user app with no params runs n_trials jobs of its base config, as the old plugin
    if conf.get("min_failures") is None:
        # A rate over one or two trials means nothing: with no floor, a user app's first
        # trial that timed out or crashed (1 of 1 failed) ended its sweep. An explicit
        # max_failure_rate=0 asks to stop at the first failure (the old plugin's default).
        conf["min_failures"] = 1 if conf.get("max_failure_rate") == 0 else 3
    if conf.get("baseline") is None:  # opt-in for user apps: n_trials sampled points, as before
        conf["baseline"] = not user_app


def _objectives(direction: Any, config: DictConfig, user_app: bool) -> tuple[list[str], list[str]]:
    """The objectives' names and directions: a user app's from ``direction``, hpt's task's
    from its ``objective`` config."""
    if user_app:
        return user_directions(direction)
    return directions_for(direction, config)


def _apply_staged(conf: dict[str, Any], space: SearchSpace, config: DictConfig) -> None:
    """``from_sweep=DIR``: fix the earlier sweep's best params and queue its best point
    first (before the fingerprint is taken: fixed params are part of it)."""
    from_sweep = config.get("from_sweep")
    if from_sweep:
        from hpt.sweep.planning import staged

        first = staged.apply(space, str(from_sweep))
        conf["enqueue"] = [first, *(conf.get("enqueue") or [])] if first else conf.get("enqueue")


def _study_name(given: Any, config: DictConfig, user_app: bool) -> str:
    """``study_name``, else the app's job name (a user's app) or the search config's name."""
    if given:
        return given  # type: ignore[no-any-return]  # (as given: a name is not converted)
    if user_app:
        return str(config.hydra.job.name)
    search = config.hydra.runtime.choices.get("search")
    return (search if search not in (None, "null") else None) or "hpt"


def _storage(given: Any, sweep_dir: Path, *, create: bool) -> str:
    """The storage spec (a URL, or a journal file whose folder is made (``create``), or
    checked)."""
    spec = resolve_spec(given, sweep_dir)
    if not is_url(spec):
        check_creatable(Path(spec).parent, "the storage file's folder", create=create)
    return spec


def _fit_pruner(
    conf: dict[str, Any], space: SearchSpace, config: DictConfig, user_app: bool
) -> None:
    """The pruner's ``auto`` settings from the trials' length (hpt's task only: a user app's
    is unknown)."""
    from hpt.sweep.planning.pruning import fit_to_epochs, trial_epochs

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
    from hpt.sweep.running.cluster import check_storage, cluster_kind

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
