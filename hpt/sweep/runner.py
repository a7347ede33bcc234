"""Orchestrates one ``hpt sweep``: parse the space, create or resume the study, run the
workers (in this process for ``n_jobs=1``, spawned processes otherwise), keep the record."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from hpt.errors import SweepAbortedError, Terminated, UserError, sigterm_as_interrupt
from hpt.storage import check_journal, is_url, mask_config, mask_url, open_storage, resolve_spec
from hpt.sweep import accounting
from hpt.sweep.monitor import Monitor, format_best
from hpt.sweep.objective import is_hpt_task, user_directions
from hpt.sweep.process import TaskRef, spawned_worker
from hpt.sweep.samplers import build_pruner, build_sampler, custom_space
from hpt.sweep.space import SearchSpace, grid_values, legacy_notice, legacy_params, parse
from hpt.sweep.spec import WorkerSpec
from hpt.sweep.worker import A_STOP, STOP_RULE, run_worker, should_stop

A_SPACE, A_ENQUEUED = "hpt:search_space", "hpt:enqueued"


def _plain(x: Any) -> Any:
    return OmegaConf.to_container(x, resolve=True) if OmegaConf.is_config(x) else x


def directions_for(conf: Mapping[str, Any], config: DictConfig) -> tuple[list[str], list[str]]:
    """The study's directions and objective names, from the run's objective config."""
    from hpt.build import data_problem, resolve_objectives

    objectives = resolve_objectives(
        config.objective.metric, config.objective.direction, data_problem(config)
    )
    names, dirs = [o.name for o in objectives], [o.direction for o in objectives]
    wanted = _plain(conf.get("direction"))
    if wanted is not None:
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if len(wanted) != len(dirs) or wanted != dirs:
            raise UserError(
                f"hydra.sweeper.direction={wanted} does not match the objective {names} ({dirs}); "
                "set objective.metric / objective.direction to what the sweep should optimize"
            )
    return names, dirs


def validate_settings(conf: Mapping[str, Any]) -> None:
    """Every numeric sweeper setting checked before anything runs: one line, exit 2."""

    def number(key: str) -> float | None:
        value = conf.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(f"hydra.sweeper.{key}={value!r} must be a number")
        return float(value)

    rules: dict[str, tuple[Any, str]] = {
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
    for key, (ok, wanted) in rules.items():
        value = number(key)
        if value is not None and (not math.isfinite(value) or not ok(value)):
            raise UserError(f"hydra.sweeper.{key}={value:g} must be {wanted}")
    stop = conf.get("stop") or {}
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


def check_enqueued(space: SearchSpace, enqueue: list[Any]) -> None:
    """Enqueued values must lie in their dimension's range (Optuna would run them anyway)."""
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
                    f"hydra.sweeper.enqueue: {name}={value!r} is outside its search space {dim.expr}"
                )


def check_keys(space: SearchSpace, config: DictConfig) -> None:
    """Searched and fixed keys must exist in the config (``+key`` adds one): a typo would
    otherwise fail every trial. Keys under a searched group, and conditional ones, exist only
    for some choices and are left to each trial's composition."""
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
            from hpt.rundir import flatten

            known = list(flatten(OmegaConf.to_container(config, resolve=False) or {}))  # type: ignore[arg-type]
        near = difflib.get_close_matches(key, [k for k in known if not k.startswith("hydra.")], 1)
        hint = f"; did you mean {near[0]}?" if near else f"; to add it, write +{key}"
        raise UserError(f"{key} is not in the config{hint}")


_ABSENT = object()


def _check_creatable(path: Path, what: str, *, create: bool) -> None:
    """Create the folder now (the sweep writes there next), or say in one line why not; a dry
    run writes nothing, so it only checks that the nearest existing folder is writable."""
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


def _who(user_app: bool) -> str:
    """The name messages start with: a user's app never hears of hpt's own CLI."""
    return "hpt sweeper" if user_app else "hpt sweep"


def _storage_label(spec: str, sweep_dir: Path) -> str:
    if is_url(spec):
        return mask_url(spec)
    with contextlib.suppress(ValueError):
        return str(Path(spec).resolve().relative_to(sweep_dir.resolve()))
    return spec


def _class_name(conf: Any, default: str) -> str:
    return str(conf["_target_"]).rsplit(".", 1)[-1] if conf else default


def dry_run(space: SearchSpace, conf: Mapping[str, Any], meta: dict[str, Any]) -> None:
    out = sys.stdout
    print(f"study:   {meta['study_name']}  (storage: {meta['storage']})", file=out)
    print(f"sampler: {meta['sampler']}   pruner: {meta['pruner']}", file=out)
    pruner_args = {k: v for k, v in (conf.get("pruner") or {}).items() if k != "_target_"}
    if pruner_args:  # `auto` settings shown resolved (hpt.sweep.pruning)
        print(f"pruner settings: {', '.join(f'{k}={v}' for k, v in pruner_args.items())}", file=out)
    print(
        f"objective: {', '.join(f'{n} ({d})' for n, d in zip(meta['objectives'], meta['directions']))}",
        file=out,
    )
    print(f"n_trials: {conf['n_trials']}   n_jobs: {conf['n_jobs']}", file=out)
    print("search space:", file=out)
    width = max((len(k) for k in space.describe()), default=0)
    for name, expr in space.describe().items():
        print(f"  {name:<{width}}  {expr}", file=out)
    for fixed in space.fixed:
        print(f"  (fixed) {fixed}", file=out)
    if meta["sampler"] == "GridSampler":
        n = 1
        for d in space.dims:
            n *= len(grid_values(d))
        print(f"grid points: {n}", file=out)
    note = budget_note(conf.get("sampler"), int(conf["n_trials"]))
    if note:
        print(f"note: {note}", file=out)


def budget_note(sampler: Any, n_trials: int) -> str | None:
    """Whether ``n_trials`` leaves the sampler room to work, by its own settings: a model-based
    sampler samples at random for its first ``n_startup_trials``; NSGA-II needs generations."""
    import inspect

    from hydra.utils import get_class

    if not sampler or not sampler.get("_target_"):
        return None
    try:
        cls = get_class(str(sampler["_target_"]))
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
    except Exception:
        return None
    name = cls.__name__
    startup = sampler.get("n_startup_trials", defaults.get("n_startup_trials"))
    if isinstance(startup, int) and n_trials <= startup:
        return (
            f"{name} samples at random for its first n_startup_trials={startup} trials: with "
            f"n_trials={n_trials} it never models the space (lower n_startup_trials, or raise n_trials)"
        )
    population = sampler.get("population_size", defaults.get("population_size"))
    if isinstance(population, int) and n_trials < 2 * population:
        return (
            f"{name} evolves generations of population_size={population}: n_trials={n_trials} is "
            "less than two generations (lower population_size, or raise n_trials)"
        )
    return None


@dataclass
class _Plan:
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


def run_sweep(
    conf: Mapping[str, Any],
    arguments: list[str],
    *,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
) -> None:
    """Run the sweep to its end; returns nothing, as hydra-optuna-sweeper's ``sweep`` (the
    results are in the study, ``sweep.json`` and ``optimization_results.yaml``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    conf = {k: _plain(v) for k, v in conf.items()}
    sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
    plan = _plan(conf, arguments, task_function, config, sweep_dir)
    if conf.get("dry_run"):
        dry_run(plan.space, conf, plan.meta)
        return
    study = _open_study(plan, conf, sweep_dir, config)
    wspec = _worker_spec(plan, conf, study, sweep_dir)
    mask_config(config)  # trials are composed from it: no password reaches their .hydra/*.yaml
    state = "KILLED"  # MLflow's word for a sweep interrupted, or ended by an error
    try:
        snap = _run_workers(
            study, wspec, conf, plan, hydra_context, task_function, config, sweep_dir
        )
        state = "FAIL"
        _report(
            study,
            snap,
            plan.names,
            sweep_dir,
            local=plan.cluster is None,
            grace_period=float(conf["grace_period"]),
        )
        state = "COMPLETE"
    finally:
        _end_tracker_runs(sweep_dir, state)


def _end_tracker_runs(sweep_dir: Path, state: str) -> None:
    """A sweep logged to MLflow has a parent run: end it with the sweep's final state (a
    tracker failure here is one warning, never the sweep's exit status)."""
    if not (sweep_dir / "mlflow_parent.json").exists():
        return
    try:
        from hpt.loggers.mlflow_logger import end_parent

        end_parent(sweep_dir, state)
    except Exception as exc:
        print(f"hpt sweep: warning: could not end the MLflow parent run: {exc}", file=sys.stderr)


def _plan(
    conf: dict[str, Any],
    arguments: list[str],
    task_function: TaskFunction,
    config: DictConfig,
    sweep_dir: Path,
) -> _Plan:
    """Validate every setting and resolve space, objectives, study name and storage; exit 2
    (``UserError``) on the first mistake. May adjust ``conf`` (grid cap, staged enqueue)."""
    validate_settings(conf)
    if conf.get("search_space") is not None:  # the old plugin's form, read as it read it
        print(legacy_notice(conf["search_space"], conf.get("params")), file=sys.stderr)
        if conf.get("params") is None:
            conf["params"] = legacy_params(conf["search_space"])
    space = parse(conf.get("params"), conf.get("conditional"), arguments)
    if not conf.get("custom_search_space"):  # a custom space may add names only it knows
        searched = {d.name for d in space.dims}
        for entry in conf.get("enqueue") or []:
            unknown = sorted(set(entry) - searched)
            if unknown:
                raise UserError(
                    f"hydra.sweeper.enqueue names {unknown}, not in the search space {sorted(searched)}"
                )
    check_enqueued(space, conf.get("enqueue") or [])
    check_keys(space, config)
    _check_creatable(sweep_dir, "hydra.sweep.dir", create=not conf.get("dry_run"))
    user_app = not is_hpt_task(task_function)
    if not user_app:  # hpt's own settings that only reach the run through another group
        from hpt.sweep.reach import prune_unreached

        for line in prune_unreached(space, config):
            print(f"hpt sweep: {line}", file=sys.stderr)
    if not space.dims and not conf.get("custom_search_space") and not user_app:
        raise UserError(
            "nothing to search: pass search=NAME (see conf/search/) or hydra.sweeper.params.KEY=EXPR"
        )  # a user app with no params runs n_trials jobs of its base config, as the old plugin
    if conf.get("min_failures") is None:  # opt-in for user apps (the old plugin had none)
        conf["min_failures"] = 0 if user_app else 3
    names, dirs = (
        user_directions(conf.get("direction")) if user_app else directions_for(conf, config)
    )
    from_sweep = config.get("from_sweep")
    if from_sweep:
        from hpt.sweep import staged

        first = staged.apply(
            space, str(from_sweep)
        )  # before the fingerprint: fixed params are part of it
        conf["enqueue"] = [first, *(conf.get("enqueue") or [])] if first else conf.get("enqueue")
    choices = config.hydra.runtime.choices
    study_name = conf.get("study_name") or (
        str(config.hydra.job.name) if user_app else
        (choices.get("search") if choices.get("search") not in (None, "null") else None) or "hpt"
    )  # fmt: skip
    spec = resolve_spec(conf.get("storage"), sweep_dir)
    if not is_url(spec):
        _check_creatable(
            Path(spec).parent, "the storage file's folder", create=not conf.get("dry_run")
        )
    n_trials = int(conf["n_trials"])
    if n_trials < 1:
        raise UserError("hydra.sweeper.n_trials must be >= 1")
    from hpt.sweep.pruning import fit_to_epochs, trial_epochs

    # The pruner's `auto` settings from the trials' length (hpt's task only: a user app's is unknown).
    conf["pruner"] = fit_to_epochs(
        conf.get("pruner"), None if user_app else trial_epochs(config, space)
    )
    sampler_conf, pruner_conf = conf.get("sampler"), conf.get("pruner")
    meta = {
        "study_name": study_name,
        "storage": _storage_label(spec, sweep_dir),
        "sampler": _class_name(sampler_conf, "TPESampler"),
        "pruner": _class_name(pruner_conf, "NopPruner"),
        "directions": dirs,
        "objectives": names,
        "search_space": space.describe(),
        "fixed": space.fixed,
    }
    if meta["sampler"] == "GridSampler":
        points = 1
        for values in space.grid().values():  # fails now, clearly, if the space cannot be gridded
            points *= len(values)
        if n_trials > points:
            print(
                f"{_who(user_app)}: the grid has {points} points; n_trials={n_trials} capped to {points}",
                file=sys.stderr,
            )
            n_trials = conf["n_trials"] = points
    if len(dirs) > 1 and meta["pruner"] != "NopPruner":
        raise UserError(
            "pruning needs a single objective: use hydra/sweeper/pruner=none for multi-objective sweeps"
        )
    build_pruner(pruner_conf)  # a bad pruner or sampler setting fails before anything runs
    build_sampler(sampler_conf, space)
    if conf.get("custom_search_space"):
        custom_space(str(conf["custom_search_space"]))
    from hpt.sweep.cluster import check_storage, cluster_kind

    cluster = cluster_kind(config)
    if cluster is not None:
        check_storage(spec)
    return _Plan(
        space,
        user_app,
        cluster,
        names,
        dirs,
        study_name,
        spec,
        n_trials,
        sampler_conf,
        pruner_conf,
        meta,
    )


def _open_study(plan: _Plan, conf: dict[str, Any], sweep_dir: Path, config: DictConfig) -> Any:
    """Create the study or resume it (same space and directions), queue the ``enqueue`` points,
    record ``search.yaml`` and re-queue trials a dead worker left running."""
    import optuna

    sweep_dir.mkdir(parents=True, exist_ok=True)
    if not is_url(plan.storage):
        warning = check_journal(
            Path(plan.storage), sweep_dir
        )  # torn tail cut; a foreign file refused
        if warning:
            print(warning, file=sys.stderr)
    storage = open_storage(plan.storage)
    study = optuna.create_study(
        study_name=plan.study_name,
        storage=storage,
        directions=plan.dirs,  # type: ignore[arg-type]  # validated: "maximize" | "minimize"
        load_if_exists=True,
    )
    _check_resume(study, plan.space, plan.dirs)
    if study.metric_names is None:
        with warnings.catch_warnings():  # "experimental" since Optuna 3.2, still there in 5
            warnings.simplefilter("ignore")
            study.set_metric_names(plan.names)  # optuna-dashboard labels the objectives with these
    if conf.get("warm_start"):
        from hpt.sweep.warm import warm_start

        added = warm_start(study, plan.space, str(conf["warm_start"]), plan.dirs)
        if added:
            print(f"{_who(plan.user_app)}: warm start: added {added} finished trial(s) of "
                  f"{conf['warm_start']} (not counted in n_trials)", file=sys.stderr)  # fmt: skip
    _enqueue(study, conf.get("enqueue") or [])
    if conf.get("baseline", True):
        _enqueue_baseline(study, plan, config)
    accounting.set_study_attr(
        study, A_STOP, None
    )  # a new invocation may finish what a stopped one left
    OmegaConf.save(
        OmegaConf.create({"params": conf.get("params") or {}, "conditional": conf.get("conditional") or {}, "fixed": plan.space.fixed,
                          "sampler": plan.sampler_conf, "pruner": plan.pruner_conf, "direction": plan.dirs, "study_name": plan.study_name, "storage": plan.meta["storage"]}),
        sweep_dir / "search.yaml",
    )  # fmt: skip
    recovered = accounting.recover_stale(study, float(conf["grace_period"]), sweep_dir)
    accounting.reconcile(study, sweep_dir)  # files a full disk or a kill left saying RUNNING
    if recovered:
        print(
            f"{_who(plan.user_app)}: re-queued trial(s) {recovered} left running by a worker that died",
            file=sys.stderr,
        )
    return study


def _worker_spec(plan: _Plan, conf: dict[str, Any], study: Any, sweep_dir: Path) -> WorkerSpec:
    """What every worker needs, in one picklable object (it crosses into spawned processes)."""
    timeout = conf.get("timeout")
    return WorkerSpec(
        storage=plan.storage, study_name=plan.study_name, space=plan.space, n_trials=plan.n_trials, sweep_dir=str(sweep_dir),
        sampler=plan.sampler_conf, pruner=plan.pruner_conf,
        deadline=time.time() + float(timeout) if timeout else None, trial_timeout=conf.get("trial_timeout"),
        max_failure_rate=float(conf["max_failure_rate"]), min_failures=int(conf["min_failures"]),
        heartbeat_interval=float(conf["heartbeat_interval"]), grace_period=float(conf["grace_period"]),
        custom_search_space=conf.get("custom_search_space"),
        extra_overrides=[] if plan.user_app else ["trainer.quiet=true"],
        user_app=plan.user_app, objective_names=plan.names, directions=plan.dirs,
        stagnation=(conf.get("stop") or {}).get("stagnation"), target=(conf.get("stop") or {}).get("target"),
        constraints=dict(conf.get("constraints") or {}),
    )  # fmt: skip


def _run_workers(
    study: Any,
    wspec: WorkerSpec,
    conf: dict[str, Any],
    plan: _Plan,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    sweep_dir: Path,
) -> dict[str, Any]:
    """Run the workers under the live monitor until they stop; Ctrl-C and SIGTERM end the
    sweep with the study consistent. Returns the monitor's last snapshot."""
    monitor = Monitor(study, sweep_dir, plan.meta, plan.n_trials)
    monitor.start()
    interrupted: KeyboardInterrupt | None = None
    previous = sigterm_as_interrupt()
    try:
        n_jobs = _n_jobs(conf)
        if plan.cluster is not None:  # hydra/launcher=submitit_slurm|submitit_local
            from hpt.sweep.cluster import run_cluster

            run_cluster(study, wspec, hydra_context, task_function, config, n_jobs, plan.cluster,
                        detach=bool(conf.get("detach")), who=_who(plan.user_app))  # fmt: skip
        elif n_jobs == 1:
            run_worker(wspec, hydra_context, task_function, config, 0)
        else:
            _run_processes(
                study,
                wspec,
                hydra_context,
                task_function,
                config,
                n_jobs,
                int(conf.get("per_gpu") or 1),
            )
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (hpt.errors.Terminated)
        interrupted = exc
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(Exception):  # the record must not hide the sweep's own ending
            accounting.recover_stale(study, float(conf["grace_period"]), sweep_dir)
            accounting.reconcile(study, sweep_dir)
        snap = monitor.stop()
    if interrupted is not None:
        print(
            f"{_who(plan.user_app)}: {'terminated' if isinstance(interrupted, Terminated) else 'interrupted'}; "
            f"the study is consistent, rerun the same command to resume ({sweep_dir})",
            file=sys.stderr,
        )
        raise interrupted
    return snap


def _report(
    study: Any,
    snap: dict[str, Any],
    names: list[str],
    sweep_dir: Path,
    *,
    local: bool = True,
    grace_period: float = 60.0,
) -> None:
    """Print the best trial(s) and the sweep dir; a sweep stopped by its failure rate ends in
    ``SweepAbortedError`` carrying the failed trials' own errors."""
    for line in format_best(snap, names):
        print(line)
    print(f"sweep dir: {sweep_dir}")
    stopped = accounting.study_attr(study, A_STOP)
    lost = [  # a dead worker's trial that could not be re-queued (cluster workers and other
        # processes sharing a database study may still be running theirs: not lost)
        t.number
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if local and accounting.counts(t) and accounting.is_stale(t, grace_period)
    ]
    if lost:  # every worker of this host has ended: nothing here runs these any more
        raise SweepAbortedError(
            f"trial(s) {lost} could not be finished (their worker died); "
            "rerun the same command to run them again"
        )
    if stopped and str(stopped).startswith(STOP_RULE):  # done early, as asked: not a failure
        print(f"sweep stopped early: {str(stopped)[len(STOP_RULE) + 2 :]}")
    elif stopped:
        errors = failure_lines(study.get_trials(deepcopy=False))
        raise SweepAbortedError("\n".join([f"sweep {stopped}", *errors]))


def failure_lines(trials: list[Any], most: int = 3) -> list[str]:
    """One line per distinct error of the failed trials (at most ``most``), with the trials
    that raised it: what the user needs to fix, without a traceback through hpt."""
    by_error: dict[str, list[int]] = {}
    for t in trials:
        error = t.user_attrs.get("error")
        if t.state.name == "FAIL" and error and accounting.counts(t):
            by_error.setdefault(str(error), []).append(t.number)
    lines = []
    for error, numbers in list(by_error.items())[:most]:
        shown = ", ".join(f"#{n}" for n in numbers[:5]) + (", ..." if len(numbers) > 5 else "")
        lines.append(f"  trial {shown}: {error}")
    if len(by_error) > most:
        lines.append(
            f"  ... and {len(by_error) - most} other error(s); see each trial's result.json"
        )
    return lines


def _check_resume(study: Any, space: SearchSpace, dirs: list[str]) -> None:
    """A resumed study must search the same space; otherwise results would not be comparable."""
    previous = study.user_attrs.get(A_SPACE)
    current = {"fingerprint": space.fingerprint(), "space": space.describe(), "fixed": space.fixed}
    if previous is None:
        study.set_user_attr(A_SPACE, current)
        return
    if previous.get("fingerprint") != current["fingerprint"]:
        raise UserError(
            f"study {study.study_name!r} in this sweep dir was created with a different search space or fixed "
            f"overrides (then: fixed {previous.get('fixed')}, {len(previous.get('space') or {})} searched params); resume with the same ones, or start a new "
            "sweep with another hydra.sweep.dir or hydra.sweeper.study_name"
        )
    if [d.name.lower() for d in study.directions] != dirs:
        raise UserError(
            f"study {study.study_name!r} optimizes {[d.name.lower() for d in study.directions]}, not {dirs}"
        )


def _enqueue(study: Any, known: list[Any]) -> None:
    if not known or accounting.study_attr(study, A_ENQUEUED):
        return
    for params in known:
        if not isinstance(params, dict):
            raise UserError(
                f"hydra.sweeper.enqueue entries must be mappings of param: value, got {params!r}"
            )
        study.enqueue_trial(params, user_attrs={"enqueued": True})
    accounting.set_study_attr(study, A_ENQUEUED, True)


A_BASELINE = "hpt:baseline"


def _enqueue_baseline(study: Any, plan: _Plan, config: DictConfig) -> None:
    """Queue the base config as a trial, once per study (``hpt.sweep.baseline``)."""
    from hpt.sweep.baseline import base_params

    if accounting.study_attr(study, A_BASELINE) is not None or not plan.space.dims:
        return
    params, notes = base_params(plan.space, config)
    for note in notes:
        print(f"{_who(plan.user_app)}: {note}", file=sys.stderr)
    if params is not None:
        study.enqueue_trial(params, user_attrs={"baseline": True}, skip_if_exists=True)
    accounting.set_study_attr(study, A_BASELINE, params is not None)


def _n_jobs(conf: Mapping[str, Any]) -> int:
    n = int(conf.get("n_jobs") or 0)
    if n > 0:
        return n
    gpus = _gpu_count()
    return max(1, gpus * int(conf.get("per_gpu") or 1))  # n_jobs=0: fill the visible GPUs


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_processes(
    study: Any,
    spec: WorkerSpec,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    n_jobs: int,
    per_gpu: int,
) -> None:
    """Spawned workers, in rounds: when workers die (a signal, the OOM killer), their trials
    are re-queued and a new round runs until the budget is done; every counted trial ends
    with a final state. A trial whose retry dies too counts as failed, so rounds end."""
    gpus = _gpu_count()
    if gpus and n_jobs > gpus * per_gpu:
        print(
            f"{_who(spec.user_app)}: {n_jobs} workers on {gpus} GPU(s) exceeds per_gpu={per_gpu}; "
            "they will share",
            file=sys.stderr,
        )
    print(f"{_who(spec.user_app)}: starting {n_jobs} worker processes", file=sys.stderr, flush=True)
    for round_ in range(spec.n_trials + 1):
        codes = _spawn_round(spec, hydra_context, task_function, config, n_jobs, gpus, round_)
        died = sorted({c for c in codes if c not in (0, None)})
        if not died:
            return
        recovered = accounting.recover_stale(study, spec.grace_period, Path(spec.sweep_dir))
        reason = should_stop(study, spec)
        print(
            f"{_who(spec.user_app)}: {len(codes) - codes.count(0)} worker(s) died (exit code "
            f"{', '.join(map(str, died))})"
            + (f"; re-queued trial(s) {recovered}" if recovered else "")
            + ("" if reason else "; starting workers again"),
            file=sys.stderr,
        )
        if reason:
            return


def _spawn_round(
    spec: WorkerSpec,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    n_jobs: int,
    gpus: int,
    round_: int,
) -> list[int | None]:
    """One round of ``n_jobs`` spawned workers, joined; returns their exit codes."""
    threads = max(1, (os.cpu_count() or 1) // n_jobs)  # no oversubscription of CPU cores
    ctx = multiprocessing.get_context("spawn")
    procs = []
    started = [ctx.Value("b", 0) for _ in range(n_jobs)]
    for i in range(n_jobs):
        env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        if gpus:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            ids = visible.split(",") if visible else [str(g) for g in range(gpus)]
            env["CUDA_VISIBLE_DEVICES"] = ids[i % len(ids)]
        with _env(env):
            p = ctx.Process(
                target=spawned_worker,
                args=(spec, hydra_context, TaskRef.of(task_function), config, i, started[i]),
                name=f"hpt-worker-{i}",
            )
            p.start()
        procs.append(p)
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to them too; a `kill -INT` of this process did not.
        for p in procs:
            if p.is_alive() and p.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGINT)
        deadline = time.time() + 30
        for p in procs:
            p.join(timeout=max(0.1, deadline - time.time()))
            if p.is_alive():
                p.terminate()
        raise
    codes = [p.exitcode for p in procs]
    failed = [c for c in codes if c not in (0, None)]
    if failed and all(code == 130 for code in failed):
        raise KeyboardInterrupt
    if round_ == 0 and not any(flag.value for flag in started):
        raise UserError(
            f"every worker process died on start (exit code {', '.join(map(str, sorted(set(failed))))}) "
            "before running a trial: with n_jobs > 1 the workers re-import the script, so it must "
            'call its @hydra.main function under `if __name__ == "__main__":`; run with '
            "hydra.sweeper.n_jobs=1 to see the error"
        )
    return codes
