"""Every use of Optuna's private API, in one place, each with the reason it is needed.

Optuna's public API covers ``ask``/``tell`` and user attributes on a live trial, but the
sweeper must also write to trials it did not ask for (a stale trial of a dead worker, a queued
retry), write system attributes the dashboard does not show as user data, and read study-level
system attributes (``Study.system_attrs`` was removed in Optuna 5). All of that goes through
``study._storage`` and ``trial._trial_id``, which have stayed stable across Optuna 4.x and 5.x.
If a new Optuna release breaks one, this is the only file to fix.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's key for a trial: the number is per study, the storage needs its own id.

    Args:
        trial: The trial (live or frozen).

    Returns:
        Its storage id.
    """
    return trial._trial_id


def set_trial_system_attr(study: optuna.Study, tid: int, key: str, value: Any) -> None:
    """Bookkeeping (owner, heartbeat, retry links) kept out of the user attributes, and written
    also on trials this worker holds no ``optuna.Trial`` for (another worker's stale trial).

    Args:
        study: The Optuna study.
        tid: The trial's storage id.
        key: The attribute's name.
        value: Its value (JSON-serializable).
    """
    study._storage.set_trial_system_attr(tid, key, value)


def set_trial_user_attr(study: optuna.Study, tid: int, key: str, value: Any) -> None:
    """Like ``Trial.set_user_attr``, but also for a ``FrozenTrial`` read back from the storage
    (recovering another worker's trial), which has no setter of its own.

    Args:
        study: The Optuna study.
        tid: The trial's storage id.
        key: The attribute's name.
        value: Its value (JSON-serializable).
    """
    study._storage.set_trial_user_attr(tid, key, value)


def fail_trial(study: optuna.Study, tid: int) -> None:
    """Mark a trial FAIL without ``study.tell``.

    ``tell`` accepts only trials this process asked for, and a stale trial belongs to a
    worker that died.

    Args:
        study: The Optuna study.
        tid: The trial's storage id.

    Raises:
        RuntimeError: UpdateFinishedTrialError: another worker finished it first.
    """
    study._storage.set_trial_state_values(tid, TrialState.FAIL)


def frozen(study: optuna.Study, trial: optuna.Trial) -> FrozenTrial:
    """A running trial's current record (params, intermediate values, state) from the storage;
    ``optuna.Trial`` exposes params but neither its state nor its intermediate values.

    Args:
        study: The Optuna study.
        trial: The running trial.

    Returns:
        Its record, as stored now.
    """
    return study._storage.get_trial(trial._trial_id)


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """Suggest from a ready-made distribution: the search grammar is parsed once into
    distributions, and ``Trial._suggest`` is what every public ``suggest_*`` calls with one.

    Args:
        trial: The trial.
        name: The param's name.
        dist: Its distribution.

    Returns:
        The value sampled (or the enqueued one).
    """
    return trial._suggest(name, dist)


def study_system_attr(study: optuna.Study, key: str) -> Any:
    """Optuna 5 dropped ``Study.system_attrs``; the storage API is stable across 4.x and 5.x.

    Args:
        study: The Optuna study.
        key: The attribute's name.

    Returns:
        Its value, or None when not set.
    """
    return study._storage.get_study_system_attrs(study._study_id).get(key)


def set_study_system_attr(study: optuna.Study, key: str, value: Any) -> None:
    """``Study.set_system_attr`` is deprecated (gone in Optuna 5); study-wide flags such as a stop
    or "enqueued already" are not user data, so they stay out of the user attributes.

    Args:
        study: The Optuna study.
        key: The attribute's name.
        value: Its value (JSON-serializable).
    """
    study._storage.set_study_system_attr(study._study_id, key, value)


def enqueue_marked(
    study: optuna.Study,
    params: dict[str, Any],
    user_attrs: dict[str, Any],
    mark: dict[str, Any],
    skip_if_exists: bool = False,
) -> None:
    """``Study.enqueue_trial`` with system attributes of hpt's own on the queued trial.

    ``enqueue_trial`` takes only user attributes, and its "queue once" check is not atomic
    (its docstring: hosts enqueueing at once may both add the point). The mark lets
    ``hpt.sweep.running.accounting.claim`` drop the second copy. The body is ``enqueue_trial``'s
    own: a WAITING trial whose ``fixed_params`` the sampler hands back when it is asked.

    Args:
        study: The Optuna study.
        params: The point's parameter values.
        user_attrs: The user attributes the trial shows.
        mark: The system attributes to add.
        skip_if_exists: Queue nothing when a trial has these params already (as
            ``enqueue_trial``'s own flag).
    """
    from optuna.trial import create_trial

    if skip_if_exists and study._should_skip_enqueue(params):
        return
    study.add_trial(
        create_trial(
            state=TrialState.WAITING,
            system_attrs={"fixed_params": params, **mark},
            user_attrs=user_attrs,
        )
    )
