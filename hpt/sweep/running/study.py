"""The sweep's Optuna study, opened: created or resumed (same space and directions), the
warm start, enqueued and baseline points queued once, ``search.yaml`` recorded, and the
trials a dead worker left running re-queued."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.errors import UserError
from hpt.masking import mask_url
from hpt.storage import check_journal, is_url, open_storage
from hpt.sweep import optuna_internals as internals
from hpt.sweep.planning.naming import free_sibling
from hpt.sweep.planning.plan import Plan, who
from hpt.sweep.planning.space import SearchSpace
from hpt.sweep.running import accounting
from hpt.sweep.running.worker import A_STOP

A_SPACE, A_ENQUEUED, A_BASELINE = "hpt:search_space", "hpt:enqueued", "hpt:baseline"


def open_study(plan: Plan, sweep_dir: Path, config: DictConfig) -> Any:
    """Create the study or resume it, ready for the workers.

    Queues the ``enqueue`` points (and the baseline), records ``search.yaml`` and re-queues
    trials a dead worker left running.

    Args:
        plan: The sweep to run.
        sweep_dir: The sweep's folder.
        config: The run's composed config (the baseline trial's params come from it).

    Returns:
        The Optuna study.

    Raises:
        UserError: The study exists with another search space or other directions, or the
            storage file belongs to something else.
    """
    sweep_dir.mkdir(parents=True, exist_ok=True)
    study = _create(plan, sweep_dir)
    s = plan.settings
    if s.rerun == "extend":  # n_trials more than this study had finished
        plan.n_trials += len(accounting.finished(study.get_trials(deepcopy=False)))
    announce(study, plan, sweep_dir)
    if s.warm_start:
        _warm_start(study, plan, s.warm_start)
    enqueue(study, s.enqueue)
    if s.baseline:
        enqueue_baseline(study, plan, config)
    # A new invocation may finish what a stopped one left.
    accounting.set_study_attr(study, A_STOP, None)
    save_search(plan, sweep_dir / "search.yaml")
    recovered = accounting.recover_stale(study, s.grace_period, sweep_dir)
    accounting.reconcile(study, sweep_dir)  # files a full disk or a kill left saying RUNNING
    if recovered:
        print(
            f"{who(plan.user_app)}: re-queued trial(s) {recovered} "
            "left running by a worker that died",
            file=sys.stderr,
        )
    return study


def _create(plan: Plan, sweep_dir: Path) -> Any:
    """The study created, or loaded and checked against the plan; its metric names set."""
    import optuna

    if not is_url(plan.storage):
        # A torn tail is cut; a foreign file refused.
        warning = check_journal(Path(plan.storage), sweep_dir)
        if warning:
            print(warning, file=sys.stderr)
    storage = open_storage(plan.storage)
    study = optuna.create_study(
        study_name=plan.study_name,
        storage=storage,
        directions=plan.dirs,  # type: ignore[arg-type]  # validated: "maximize" | "minimize"
        load_if_exists=True,
    )
    check_resume(study, plan.space, plan.dirs, sweep_dir)
    if study.metric_names is None:
        with warnings.catch_warnings():  # "experimental" since Optuna 3.2, still there in 5
            warnings.simplefilter("ignore")
            study.set_metric_names(plan.names)  # optuna-dashboard labels the objectives with these
    return study


def announce(study: Any, plan: Plan, sweep_dir: Path) -> None:
    """Say, before any worker starts, whether the sweep is new, resumed or already done.

    Args:
        study: The opened study.
        plan: The sweep to run.
        sweep_dir: The sweep's folder.
    """
    trials = study.get_trials(deepcopy=False)
    done, name = len(accounting.finished(trials)), who(plan.user_app)
    if not trials:
        line = f"{name}: new sweep in {sweep_dir} (the same command again resumes it)"
    elif done >= plan.n_trials:
        line = (
            f"{name}: {sweep_dir} is done ({done} of {plan.n_trials} trials); raise "
            "hydra.sweeper.n_trials to run more, or start another sweep with "
            f"hydra.sweep.dir={free_sibling(sweep_dir)}"
        )
    else:
        line = f"{name}: resuming {sweep_dir}: {done} of {plan.n_trials} trials done"
    print(line, file=sys.stderr, flush=True)


def _warm_start(study: Any, plan: Plan, source: str) -> None:
    from hpt.sweep.running.warm import warm_start

    added = warm_start(study, plan.space, source, plan.dirs)
    if added:
        print(
            f"{who(plan.user_app)}: warm start: added {added} finished trial(s) of "
            f"{source} (not counted in n_trials)",
            file=sys.stderr,
        )


def save_search(plan: Plan, path: Path) -> None:
    """Record what the sweep searches, and how, in ``search.yaml``.

    Args:
        plan: The sweep to run.
        path: The file to write.
    """
    record = {
        "params": plan.settings.params,
        "conditional": plan.settings.conditional,
        "fixed": [mask_url(f) for f in plan.space.fixed],
        "sampler": plan.sampler_conf,
        "pruner": plan.pruner_conf,
        "direction": plan.dirs,
        "study_name": plan.study_name,
        "storage": plan.meta["storage"],
    }
    OmegaConf.save(OmegaConf.create(record), path)


def check_resume(
    study: Any, space: SearchSpace, dirs: list[str], sweep_dir: Path | None = None
) -> None:
    """A resumed study must search the same space; otherwise results would not be comparable.

    A new study records the space's fingerprint instead.

    Args:
        study: The Optuna study.
        space: The parsed search space.
        dirs: The objectives' directions.
        sweep_dir: The sweep's folder, named in the refusal with a free one to use instead.

    Raises:
        UserError: The study was created with another space, fixed overrides or directions.
    """
    previous = study.user_attrs.get(A_SPACE)
    fixed = [mask_url(f) for f in space.fixed]  # the study is shared: no password in it
    current = {"fingerprint": space.fingerprint(), "space": space.describe(), "fixed": fixed}
    if previous is None:
        study.set_user_attr(A_SPACE, current)
        return
    where = f"in {sweep_dir} " if sweep_dir else ""
    new_sweep = (
        f"hydra.sweep.dir={free_sibling(sweep_dir)}" if sweep_dir else "another hydra.sweep.dir"
    )
    if previous.get("fingerprint") != current["fingerprint"]:
        searched = len(previous.get("space") or {})
        raise UserError(
            f"study {study.study_name!r} {where}was created with a different "
            f"search space or fixed overrides (then: fixed {previous.get('fixed')}, "
            f"{searched} searched params); resume with the same ones, or start a new "
            f"sweep with {new_sweep}"
        )
    if [d.name.lower() for d in study.directions] != dirs:
        raise UserError(
            f"study {study.study_name!r} {where}optimizes "
            f"{[d.name.lower() for d in study.directions]}, not {dirs}; start a new sweep "
            f"with {new_sweep}"
        )


def enqueue(study: Any, known: list[Any]) -> None:
    """Queue ``hydra.sweeper.enqueue``'s points, once per study.

    Args:
        study: The Optuna study.
        known: Mappings of param -> value.
    """
    if not known or accounting.study_attr(study, A_ENQUEUED):
        return
    for i, params in enumerate(known):  # mappings: hpt.sweep.planning.validate checked them already
        mark = {accounting.A_ONCE: f"enqueue:{i}"}  # a second host's copy is dropped (claim)
        internals.enqueue_marked(study, dict(params), {"enqueued": True}, mark)
    accounting.set_study_attr(study, A_ENQUEUED, True)


def enqueue_baseline(study: Any, plan: Plan, config: DictConfig) -> None:
    """Queue the base config as a trial, once per study (``hpt.sweep.running.baseline``).

    Args:
        study: The Optuna study.
        plan: The sweep to run.
        config: The run's composed config.
    """
    from hpt.sweep.running.baseline import base_params

    if accounting.study_attr(study, A_BASELINE) is not None or not plan.space.dims:
        return
    params, notes = base_params(plan.space, config)
    for note in notes:
        print(f"{who(plan.user_app)}: {note}", file=sys.stderr)
    if params is not None:
        mark = {accounting.A_ONCE: "baseline"}  # a second host's copy is dropped (claim)
        internals.enqueue_marked(study, params, {"baseline": True}, mark, skip_if_exists=True)
    accounting.set_study_attr(study, A_BASELINE, params is not None)
