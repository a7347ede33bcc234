"""hpt's one run flow: every kind of run (``task._target_``: supervised, GAN, VAE) is built,
fitted and recorded here, writing the run directory of ``hpt.rundir``.

What differs between kinds lives behind the ``hpt.task.Task`` protocol (``hpt.supervised``,
``hpt.generative.run``); what they share is here once: the loggers, the run record, a build
error recorded before it is raised, the progress display, the guard that records a failure
instead of losing it, and the final result.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from hpt.config.check import validate
from hpt.loggers import Loggers, run_info, selection_of, track
from hpt.record import Outcome, RunRecord, outcome_of
from hpt.task import Built, Hooks, Task, safe_objectives, task_of
from hpt.training import reporter as reporting
from hpt.training import resume
from hpt.training.loop_types import FitResult, Metrics


def task(cfg: DictConfig, *, checked: bool = False) -> Outcome:
    """Hydra's task function for ``hpt train`` and for every sweep trial; returns the outcome.

    Args:
        cfg: The job's composed config.
        checked: The launch validated this config already (``hpt train``: before its run dir
            existed); a sweep trial's sampled config is validated by the run.
    """
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    choices = dict(hc.runtime.choices)
    return run(cfg, run_dir, choices=choices, cwd=hc.runtime.cwd, checked=checked)


def run(
    cfg: DictConfig,
    run_dir: Path,
    *,
    choices: dict[str, Any] | None = None,
    cwd: str | None = None,
    checked: bool = False,
) -> Outcome:
    """Build, fit and test one run of the config's task; a failure is recorded, never lost.

    Args:
        cfg: The composed config.
        run_dir: The run's directory.
        choices: Hydra's group choices (recorded as ``<group>.name`` params).
        cwd: The directory the command ran in.
        checked: Whether ``cfg`` was validated already; if not, the run validates it once
            before building (a bad setting is then this run's recorded config error).

    Returns:
        The run's outcome.
    """
    kind = task_of(cfg)
    resume_from = resume_state(cfg, run_dir) if kind.resumable else None
    start = int(resume_from["epoch"]) if resume_from else 0
    params = kind.params(cfg, choices)
    info = run_info(run_dir, params, cwd, start)
    with track(selection_of(cfg.get("logger")), info) as loggers:
        record = RunRecord(run_dir, params)
        return _run(kind, cfg, record, loggers, resume_from, cwd, checked)


def resume_state(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """With ``resume=RUN_DIR``: that run's ``last.pt``, its metrics.jsonl rows carried over.

    Args:
        cfg: The composed config.
        run_dir: The new run's directory, which receives the carried rows.

    Returns:
        The saved state, or None without ``resume``.
    """
    if not cfg.get("resume"):
        return None
    source = Path(str(cfg.resume))
    state = resume.load(source / resume.LAST)
    resume.carry_metrics(source, run_dir, int(state["epoch"]))
    return state


def _run(
    kind: Task,
    cfg: DictConfig,
    record: RunRecord,
    loggers: Loggers,
    resume_from: dict[str, Any] | None,
    cwd: str | None,
    checked: bool,
) -> Outcome:
    try:
        if not checked:
            validate(cfg)
        built: Built = kind.build(cfg)
    except Exception as exc:
        record.build_failed(exc, safe_objectives(kind, cfg))
        raise
    s = built.settings
    record.manifest(seed=s.seed, device=s.device, precision=s.precision, cwd=cwd)
    extra: dict[str, Any] = {"model": {"n_params": built.n_params}, **kind.info(cfg, built)}
    steps = max(1, len(built.data.train) // s.batch_size)
    quiet = bool(cfg.trainer.get("quiet", False))

    def fit_run() -> FitResult:
        nonlocal built
        with kind.progress(s.epochs, steps, quiet=quiet) as progress:

            def on_epoch(metrics: Metrics) -> None:
                record.epoch(metrics)
                epoch = int(metrics["epoch"])
                loggers.log_metrics(metrics, epoch)
                for tag, png in kind.images(record.run_dir, epoch):
                    loggers.log_image(tag, png, epoch)
                progress.epoch(metrics)

            hooks = Hooks(
                record.run_dir, reporting.current(), on_epoch, progress.step, resume_from, quiet
            )
            fitted, built = kind.fit(cfg, built, hooks, extra)
            return fitted

    fitted = record.guard(fit_run, built.objectives, extra)
    if isinstance(fitted, Outcome):
        return fitted
    failed = kind.keep_best(cfg, built, fitted, record, extra, cwd)
    if failed is not None:
        return failed
    derived = kind.derived(fitted, built, extra)
    outcome = outcome_of(fitted, built.objectives, derived, record.run_dir)
    return record.finish(outcome, fitted, extra)


__all__ = ["run", "task"]
