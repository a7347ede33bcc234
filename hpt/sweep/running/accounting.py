"""Who owns which trial: budget counting, stale-trial detection and retries.

The study's storage is the only shared state, so every worker and every host sees the same
accounting. System attributes on each trial record its worker (host, pid) and heartbeat.
A trial counts towards ``n_trials`` unless it was discarded (asked past the budget in a
race) or retried (its worker died or was interrupted, and a copy was queued).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpt.result import close_running, read_result
from hpt.rundir import SWEEP, read_json
from hpt.sweep import optuna_internals as internals

HOST, PID = socket.gethostname(), os.getpid()
A_OWNER, A_BEAT = "hpt:owner", "hpt:heartbeat"
A_DISCARDED, A_RETRIED, A_RETRY_OF = "hpt:discarded", "hpt:retried", "hpt:retry_of"
A_WARM = "hpt:warm_start"  # a trial copied from an earlier study (hpt.sweep.running.warm)
A_ONCE = "hpt:once"  # a point queued once per study (baseline, enqueue): which one
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def counts(trial: FrozenTrial) -> bool:
    """Whether a trial uses up one unit of the budget.

    Args:
        trial: A trial of the study, in any state.

    Returns:
        False for a trial discarded, retried, or copied by a warm start.
    """
    attrs = trial.system_attrs
    # (warm-start trials, copied from an earlier study, are the sampler's prior, not this budget)
    return not attrs.get(A_DISCARDED) and not attrs.get(A_RETRIED) and A_WARM not in attrs


def budget_used(trials: list[FrozenTrial]) -> int:
    """Finished, running and queued trials that count: the budget already spoken for.

    Args:
        trials: The study's trials.

    Returns:
        How many of them count.
    """
    return sum(1 for t in trials if counts(t))


def finished(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """The finished trials that count.

    Args:
        trials: The study's trials.

    Returns:
        Those COMPLETE, PRUNED or FAIL that count towards the budget.
    """
    return [t for t in trials if t.state in FINISHED and counts(t)]


def claim(study: optuna.Study, trial: optuna.Trial, n_trials: int) -> bool:
    """After ``ask``: keep the trial only if fewer than ``n_trials`` counted trials precede it,
    and it is not a second copy of a point queued once per study.

    Trial numbers are assigned atomically by the storage, so this is exact across workers
    and hosts; the rare loser of a race is told FAIL and marked discarded. Hosts that open
    one study at once may each queue the baseline (or an ``enqueue`` point) before either
    records it as queued; the copy with the higher number is the loser then.

    Args:
        study: The study the budget is counted in (its trials, read once).
        trial: The trial just asked for.
        n_trials: The budget.

    Returns:
        Whether this worker runs the trial.
    """
    trials = study.get_trials(deepcopy=False)
    before = [t for t in trials if t.number < trial.number]
    once = next((t.system_attrs.get(A_ONCE) for t in trials if t.number == trial.number), None)
    copy = once is not None and any(t.system_attrs.get(A_ONCE) == once for t in before)
    if not copy and sum(1 for t in before if counts(t)) < n_trials:
        return True
    internals.set_trial_system_attr(study, internals.trial_id(trial), A_DISCARDED, True)
    study.tell(trial, state=TrialState.FAIL)
    return False


def mark_owner(study: optuna.Study, trial: optuna.Trial) -> None:
    """Record this worker (host, pid, and its SLURM job if any) as the trial's owner.

    Args:
        study: The study that holds the trial (it keeps the owner as system attributes).
        trial: The trial this worker runs.
    """
    # One write, not three: each storage write is an fsync'd journal append.
    who: dict[str, Any] = {"host": HOST, "pid": PID}
    for key, env in (
        ("slurm_job_id", "SLURM_JOB_ID"),
        ("slurm_array_job_id", "SLURM_ARRAY_JOB_ID"),
        ("slurm_array_task_id", "SLURM_ARRAY_TASK_ID"),
    ):
        # a worker running as a SLURM array task (hpt.sweep.running.cluster)
        if os.environ.get(env):
            who[key] = os.environ[env]
    internals.set_trial_system_attr(study, internals.trial_id(trial), A_OWNER, who)


def owner(trial: FrozenTrial) -> tuple[Any, Any]:
    """The worker that runs (or ran) a trial.

    Args:
        trial: A trial of the study, as stored (its system attributes name the owner).

    Returns:
        Its host and pid (None, None when not recorded).
    """
    o = trial.system_attrs.get(A_OWNER) or {}
    return o.get("host"), o.get("pid")


def beat(study: optuna.Study, trial_id: int) -> None:
    """Record a heartbeat: the trial's worker is alive now.

    Args:
        study: The study that holds the trial (the heartbeat is one of its storage's rows).
        trial_id: The trial's storage id.
    """
    internals.set_trial_system_attr(study, trial_id, A_BEAT, time.time())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed worker can linger as a zombie until it is reaped: that is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_stale(trial: FrozenTrial, grace_period: float, now: float | None = None) -> bool:
    """A RUNNING trial whose worker is gone: a dead pid on this host, or a silent heartbeat.

    Args:
        trial: A trial of the study, as stored (its owner and last heartbeat).
        grace_period: Seconds without a heartbeat after which a worker counts as gone.
        now: The time to judge at (default: now).

    Returns:
        Whether the trial is stale.
    """
    if trial.state != TrialState.RUNNING:
        return False
    attrs = trial.system_attrs
    host, pid = owner(trial)
    if host == HOST and isinstance(pid, int) and pid != PID:
        return not _pid_alive(pid)
    last = attrs.get(A_BEAT)
    if last is None:
        start = trial.datetime_start
        last = start.timestamp() if start else None
    return last is not None and (now or time.time()) - float(last) > grace_period


def retry(
    study: optuna.Study, trial: FrozenTrial, reason: str, sweep_dir: Path | None = None
) -> bool:
    """Mark a dead or interrupted trial FAIL and queue its params once more (only once).

    Every attribute is written *before* the trial is failed: a finished trial is read-only.
    Of several workers recovering the same trial, only the one whose FAIL lands re-queues it.

    Args:
        study: The study to fail the trial in and to queue its params in.
        trial: The dead or interrupted trial.
        reason: Why it stopped (its error; ``interrupt`` in it makes the kind ``interrupted``).
        sweep_dir: The sweep's folder: the trial's result.json is marked failed there.

    Returns:
        Whether a copy was queued (False when it finished first, or was a retry itself).
    """
    if trial.state != TrialState.RUNNING:
        return False  # it finished (or was discarded) before the interrupt: nothing to retry
    tid = internals.trial_id(trial)
    kind = "interrupted" if "interrupt" in reason else "worker_died"
    is_retry = (
        trial.system_attrs.get(A_RETRY_OF) is not None
        or trial.user_attrs.get("retry_of") is not None
    )
    try:
        internals.set_trial_user_attr(study, tid, "error", reason)
        internals.set_trial_user_attr(study, tid, "error_kind", kind)
        if not is_retry:
            internals.set_trial_system_attr(study, tid, A_RETRIED, True)
        internals.fail_trial(study, tid)
    except RuntimeError:  # UpdateFinishedTrialError: another worker finished it first
        return False
    _mark_run_dir(trial, sweep_dir, reason, kind)
    if is_retry:
        return False  # a retry that died again counts as a failure, not another retry
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
    # The queued copy carries the link as a system attribute too, for the check above.
    waiting = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if t.user_attrs.get("retry_of") == trial.number
    ]
    for t in waiting:
        with contextlib.suppress(RuntimeError):  # already picked up and finished by a fast worker
            internals.set_trial_system_attr(study, internals.trial_id(t), A_RETRY_OF, trial.number)
    return True


def _mark_run_dir(trial: FrozenTrial, sweep_dir: Path | None, reason: str, kind: str) -> None:
    """A run killed with its worker left ``result.json`` saying RUNNING: record the failure."""
    name = trial.user_attrs.get("dir")
    if sweep_dir is None or not isinstance(name, str):
        return
    # Left as it is when not ours (another host's dir) or the run wrote its own ending.
    fields = {"status": "FAIL", "error": reason, "error_kind": kind}
    close_running(Path(sweep_dir) / name, fields, trial=trial.number)


def recover_stale(
    study: optuna.Study, grace_period: float, sweep_dir: Path | None = None
) -> list[int]:
    """Fail and re-queue every stale RUNNING trial.

    Args:
        study: The study whose RUNNING trials are checked.
        grace_period: Seconds without a heartbeat after which a worker counts as gone.
        sweep_dir: The sweep's folder (the trials' result.json are marked failed there).

    Returns:
        The numbers of the trials re-queued.
    """
    recovered = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if is_stale(t, grace_period) and retry(
            study, t, "its worker died while the trial was running (killed, or silent)", sweep_dir
        ):
            recovered.append(t.number)
    return recovered


def state_counts(trials: list[FrozenTrial]) -> dict[str, Any]:
    """The trials per state, as ``sweep.json`` counts them.

    Args:
        trials: The study's trials.

    Returns:
        COMPLETE, PRUNED, FAIL, RUNNING and WAITING -> how many trials that count (every
        RUNNING one does) are in that state.
    """
    out = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "WAITING": 0}
    for t in trials:
        counted = counts(t) or t.state == TrialState.RUNNING
        if counted and t.state.name in out and not t.system_attrs.get(A_DISCARDED):
            out[t.state.name] += 1
    return out


def study_attr(study: optuna.Study, key: str) -> Any:
    """One of hpt's study attributes (system attributes, which Optuna keeps for libraries).

    Args:
        study: The study the attribute is kept in.
        key: The attribute's name.

    Returns:
        Its value, or None when not set.
    """
    return internals.study_system_attr(study, key)


def set_study_attr(study: optuna.Study, key: str, value: Any) -> None:
    """Set one of hpt's study attributes.

    Args:
        study: The study to keep the attribute in.
        key: The attribute's name.
        value: Its value (JSON-serializable).
    """
    internals.set_study_system_attr(study, key, value)


def reconcile(study: optuna.Study, sweep_dir: Path) -> list[int]:
    """Make every trial directory's ``result.json`` agree with the study.

    Where the run could not say its own ending (killed, disk full), a final trial whose file
    is missing or still says RUNNING gets the study's state and reason.

    Args:
        study: The study, the record that wins where a trial's result.json disagrees.
        sweep_dir: The sweep's folder.

    Returns:
        The numbers of the trials whose file was rewritten.
    """
    fixed = []
    for t in study.get_trials(deepcopy=False, states=FINISHED):
        name = t.user_attrs.get("dir")
        if not isinstance(name, str) or t.system_attrs.get(A_DISCARDED):
            continue
        run_dir = Path(sweep_dir) / name
        if not run_dir.is_dir():
            continue  # run under another host's sweep dir (a shared database study)
        failed = t.state == TrialState.FAIL
        fields = {
            "status": t.state.name,
            "error": t.user_attrs.get("error") if failed else None,
            "error_kind": t.user_attrs.get("error_kind") if failed else None,
        }
        missing = {
            "params": dict(t.params),
            "trial": {"number": t.number, "study_name": study.study_name},
        }
        # Not written when the disk is still full: the next run retries.
        if close_running(run_dir, fields, trial=t.number, missing=missing):
            fixed.append(t.number)
    return fixed


def disagreements(study: optuna.Study, sweep_dir: Path) -> list[str]:
    """Where the study, the trial directories' ``result.json`` and ``sweep.json`` disagree.

    The check every fault test ends with.

    Args:
        study: The study to compare the sweep's files with.
        sweep_dir: The sweep's folder.

    Returns:
        One line per disagreement (empty when they agree).
    """
    problems = []
    trials = study.get_trials(deepcopy=False)
    for t in trials:
        name = t.user_attrs.get("dir")
        if not isinstance(name, str) or t.system_attrs.get(A_DISCARDED):
            continue
        result = read_result(Path(sweep_dir) / name)
        status = result.get("status") if result else None
        if status != t.state.name:
            problems.append(f"trial {t.number}: study {t.state.name}, {name}/result.json {status}")
    summary = read_json(Path(sweep_dir) / SWEEP)
    counts = summary.get("counts") if summary else None
    if not isinstance(counts, dict):
        problems.append("sweep.json: missing or without counts")
    else:
        for state, n in state_counts(trials).items():
            if counts.get(state) != n:
                problems.append(f"sweep.json: {state} {counts.get(state)}, study {n}")
    return problems


def feasible(trial: FrozenTrial) -> bool:
    """Whether a trial met every ``hydra.sweeper.constraints`` bound.

    Args:
        trial: A finished trial, with the constraint values its run recorded.

    Returns:
        Whether all its constraint values are <= 0 (Optuna's convention); True for a trial
        without constraints.
    """
    return all(v <= 0 for v in trial.constraints.values())
