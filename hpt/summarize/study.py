"""Open a sweep's Optuna study, only when importance or plots need it.

optuna (and, for fANOVA, scikit-learn) is imported inside these functions so that the
plain table path never pays for it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.masking import mask_url
from hpt.storage import is_url, resolve_spec
from hpt.summarize.analysis import Importance
from hpt.summarize.collect import SweepInfo

if TYPE_CHECKING:
    import optuna


class StudyUnavailable(Exception):
    """The sweep has no readable study (the message is one line, safe to print)."""


def has_storage(sweep: SweepInfo) -> bool:
    """Whether a study storage exists for ``sweep`` without touching optuna.

    A journal file must exist (opening a missing one would create it); a database URL
    is assumed reachable and checked when it is opened.

    Args:
        sweep: The sweep (its ``storage`` is resolved against its folder).

    Returns:
        True for a database URL or an existing journal file.
    """
    spec = resolve_spec(sweep.storage, sweep.path)
    return is_url(spec) or Path(spec).is_file()


def load_study(sweep: SweepInfo) -> optuna.Study:
    """Load the sweep's study read-only.

    Args:
        sweep: The sweep.

    Returns:
        The study named in ``sweep.json`` (the only one in the storage when unnamed).

    Raises:
        StudyUnavailable: No storage, or it could not be opened/read.
    """
    if not has_storage(sweep):
        raise StudyUnavailable(f"no study storage in {sweep.path}")
    spec = resolve_spec(sweep.storage, sweep.path)
    try:
        import optuna

        from hpt.storage import open_storage

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(spec)
        name = sweep.raw.get("study_name")
        return optuna.load_study(
            study_name=name if isinstance(name, str) else None, storage=storage
        )
    except Exception as exc:
        text = mask_url(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise StudyUnavailable(f"cannot load study from {mask_url(spec)}: {text}") from exc


def importance_evaluator() -> tuple[Any, str]:
    """fANOVA when scikit-learn is installed (Optuna's default), else PED-ANOVA."""
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator

    try:
        import sklearn  # noqa: F401

        return FanovaImportanceEvaluator(seed=0), "Optuna fANOVA (study)"
    except ImportError:
        return PedAnovaImportanceEvaluator(), "Optuna PED-ANOVA (study)"


def study_importance(study: optuna.Study, objective_index: int = 0) -> Importance:
    """``optuna.importance.get_param_importances`` for one objective of ``study``.

    Settings that kept one value in every finished trial (never really sampled) are left
    out rather than shown at 0.000.

    Args:
        study: The sweep's study.
        objective_index: Which objective of a multi-objective study.

    Returns:
        The importances, with the evaluator's name and the number of finished trials.

    Raises:
        StudyUnavailable: Too few finished trials or the evaluator failed.
    """
    import optuna

    evaluator, method = importance_evaluator()
    target = None
    if len(study.directions) > 1:
        target = lambda t: t.values[objective_index]  # noqa: E731
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(
                study, evaluator=evaluator, target=target
            )
    except Exception as exc:
        raise StudyUnavailable(f"study importance failed: {str(exc).strip()[:200]}") from exc
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    # A setting that kept one value in every finished trial (a one-option choice, a
    # conditional branch never taken) was never really sampled: leave it out, not at 0.000.
    sampled = {
        name for name in values if len({repr(t.params[name]) for t in done if name in t.params}) > 1
    }
    kept = {k: float(v) for k, v in values.items() if k in sampled}
    return Importance(method, kept, n=len(done))
