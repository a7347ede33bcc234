"""Who owns which trial: budget counting, stale-trial detection and retries.

The study's storage is the only shared state, so every worker and every host sees the same
accounting. System attributes on each trial record its worker (host, pid) and heartbeat.
A trial counts towards ``n_trials`` unless it was discarded (asked past the budget in a
race) or retried (its worker died or was interrupted, and a copy was queued).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

HOST, PID = socket.gethostname(), os.getpid()
A_HOST, A_PID, A_BEAT = "hpt:host", "hpt:pid", "hpt:heartbeat"
A_DISCARDED, A_RETRIED, A_RETRY_OF = "hpt:discarded", "hpt:retried", "hpt:retry_of"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def counts(trial: FrozenTrial) -> bool:
    """Whether a trial uses up one unit of the budget."""
    attrs = trial.system_attrs
    return not attrs.get(A_DISCARDED) and not attrs.get(A_RETRIED)


def budget_used(trials: list[FrozenTrial]) -> int:
    """Finished, running and queued trials that count: the budget already spoken for."""
    return sum(1 for t in trials if counts(t))


def finished(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state in FINISHED and counts(t)]


def claim(study: optuna.Study, trial: optuna.Trial, n_trials: int) -> bool:
    """After ``ask``: keep the trial only if fewer than ``n_trials`` counted trials precede it.

    Trial numbers are assigned atomically by the storage, so this is exact across workers
    and hosts; the rare loser of a race is told FAIL and marked discarded.
    """
    trials = study.get_trials(deepcopy=False)
    before = sum(1 for t in trials if t.number < trial.number and counts(t))
    if before < n_trials:
        return True
    study._storage.set_trial_system_attr(trial._trial_id, A_DISCARDED, True)
    study.tell(trial, state=TrialState.FAIL)
    return False


def mark_owner(study: optuna.Study, trial: optuna.Trial) -> None:
    storage = study._storage
    storage.set_trial_system_attr(trial._trial_id, A_HOST, HOST)
    storage.set_trial_system_attr(trial._trial_id, A_PID, PID)
    storage.set_trial_system_attr(trial._trial_id, A_BEAT, time.time())


def beat(study: optuna.Study, trial_id: int) -> None:
    study._storage.set_trial_system_attr(trial_id, A_BEAT, time.time())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(trial: FrozenTrial, grace_period: float, now: float | None = None) -> bool:
    """A RUNNING trial whose worker is gone: a dead pid on this host, or a silent heartbeat."""
    if trial.state != TrialState.RUNNING:
        return False
    attrs = trial.system_attrs
    host, pid = attrs.get(A_HOST), attrs.get(A_PID)
    if host == HOST and isinstance(pid, int) and pid != PID:
        return not _pid_alive(pid)
    last = attrs.get(A_BEAT)
    if last is None:
        start = trial.datetime_start
        last = start.timestamp() if start else None
    return last is not None and (now or time.time()) - float(last) > grace_period


def retry(study: optuna.Study, trial: FrozenTrial, reason: str) -> bool:
    """Mark a dead or interrupted trial FAIL and queue its params once more (only once)."""
    storage = study._storage
    storage.set_trial_user_attr(trial._trial_id, "error", reason)
    storage.set_trial_user_attr(trial._trial_id, "error_kind", "interrupted" if "interrupt" in reason else "stale")
    if trial.state == TrialState.RUNNING:
        try:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except RuntimeError:
            return False  # another worker finished it first
    if trial.system_attrs.get(A_RETRY_OF) is not None:
        return False  # a retry that died again counts as a failure, not another retry
    storage.set_trial_system_attr(trial._trial_id, A_RETRIED, True)
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
    # The queued copy carries the link as a system attribute too, for the check above.
    waiting = [t for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)) if t.user_attrs.get("retry_of") == trial.number]
    for t in waiting:
        storage.set_trial_system_attr(t._trial_id, A_RETRY_OF, trial.number)
    return True


def recover_stale(study: optuna.Study, grace_period: float) -> list[int]:
    """Fail and re-queue every stale RUNNING trial; returns their numbers."""
    recovered = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if is_stale(t, grace_period) and retry(study, t, "worker died while the trial was running (stale heartbeat)"):
            recovered.append(t.number)
    return recovered


def state_counts(trials: list[FrozenTrial]) -> dict[str, Any]:
    out = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "WAITING": 0}
    for t in trials:
        if counts(t) or t.state == TrialState.RUNNING:
            if t.state.name in out and not t.system_attrs.get(A_DISCARDED):
                out[t.state.name] += 1
    return out


def study_attr(study: optuna.Study, key: str) -> Any:
    """Optuna 5 dropped ``Study.system_attrs``; the storage API is stable across 4.x and 5.x."""
    return study._storage.get_study_system_attrs(study._study_id).get(key)


def set_study_attr(study: optuna.Study, key: str, value: Any) -> None:
    study._storage.set_study_system_attr(study._study_id, key, value)
