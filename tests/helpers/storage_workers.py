"""Processes that hammer one Optuna storage at once (``multiprocessing``'s spawn context).

They live here, not in the test modules, because a spawned child imports its target by module
name: ``helpers`` is on every child's ``sys.path``; a test module imported by path is not.
"""

from __future__ import annotations

from typing import Any

import optuna

from hpt.storage import open_storage
from hpt.sweep.running import accounting


def claim_trials(spec: str, study_name: str, n_trials: int) -> list[int]:
    """Ask, claim (hpt's budget accounting) and tell trivial trials until ``n_trials`` count."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(
        study_name=study_name, storage=open_storage(spec), sampler=optuna.samplers.RandomSampler()
    )
    mine: list[int] = []
    while accounting.budget_used(study.get_trials(deepcopy=False)) < n_trials:
        trial = study.ask()
        if not accounting.claim(study, trial, n_trials):
            continue
        accounting.mark_owner(study, trial)
        study.tell(trial, trial.suggest_float("x", 0, 1) ** 2)
        mine.append(trial.number)
    return mine


def journal_worker(spec: str, n_trials: int, out: Any) -> None:
    """``claim_trials`` on study ``hammer``; puts ``(trial numbers, errors)``."""
    try:
        out.put((claim_trials(spec, "hammer", n_trials), []))
    except BaseException as exc:
        out.put(([], [f"{type(exc).__name__}: {exc}"]))


def ask_tell_worker(url: str, n_trials: int, out: Any) -> None:
    """``claim_trials`` on study ``race``; puts ``("ok", trial numbers)`` or ``("error", why)``."""
    try:
        out.put(("ok", claim_trials(url, "race", n_trials)))
    except BaseException as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def join_at_once(url: str, barrier: Any, out: Any) -> None:
    """Wait for the others, then create-or-load study ``joined``; puts ``"ok"`` or why not."""
    try:
        barrier.wait(timeout=60)
        optuna.create_study(study_name="joined", storage=open_storage(url), load_if_exists=True)
        out.put("ok")
    except BaseException as exc:
        out.put(f"{type(exc).__name__}: {exc}"[:300])
