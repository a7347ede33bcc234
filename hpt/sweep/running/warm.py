"""Warm start: ``hydra.sweeper.warm_start=<earlier sweep dir | storage URL>`` adds the earlier
study's finished trials whose params fit the current space to the new study before anything
is sampled, so TPE and GP start informed (optuna #1930, #3573). They are marked and never
count towards ``n_trials``; they are added once per study.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from hpt.errors import UserError, one_line
from hpt.storage import JOURNAL_NAME, is_url, open_storage
from hpt.sweep import optuna_internals as internals
from hpt.sweep.planning.space import SearchSpace
from hpt.sweep.running import accounting

A_WARM = accounting.A_WARM  # on each added trial (not counted) and on the study (done once)


def _source(spec: str) -> Any:
    if is_url(spec):
        return open_storage(spec)
    path = Path(spec).expanduser()
    journal = path / JOURNAL_NAME if path.is_dir() else path
    if not journal.is_file():
        raise UserError(
            f"hydra.sweeper.warm_start={spec}: no {JOURNAL_NAME} there "
            "(give an earlier sweep dir or a storage URL)"
        )
    return open_storage(str(journal))


def earlier_trials(spec: str, directions: list[str]) -> list[optuna.trial.FrozenTrial]:
    """The COMPLETE trials of the one study (with the same directions) in ``spec``.

    Args:
        spec: An earlier sweep's folder or a storage URL.
        directions: The new study's directions.

    Returns:
        The trials.

    Raises:
        UserError: The storage cannot be read, or holds no single study with these directions.
    """
    try:
        storage = _source(spec)
        summaries = optuna.get_all_study_summaries(storage)
        studies = [s for s in summaries if [d.name.lower() for d in s.directions] == directions]
        if len(studies) != 1:
            raise UserError(
                f"hydra.sweeper.warm_start={spec}: "
                f"{len(studies)} studies there optimize {directions} (need exactly one)"
            )
        study = optuna.load_study(study_name=studies[0].study_name, storage=storage)
        return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    except UserError:
        raise
    except Exception as exc:
        raise UserError(
            f"hydra.sweeper.warm_start={spec} cannot be read: {one_line(exc)}"
        ) from None


def warm_start(study: optuna.Study, space: SearchSpace, spec: str, directions: list[str]) -> int:
    """Add the earlier trials that fit ``space`` to the study, once.

    Args:
        study: The new study.
        space: Its search space.
        spec: An earlier sweep's folder or a storage URL.
        directions: The new study's directions.

    Returns:
        How many trials were added (0 on a resumed study).
    """
    if internals.study_system_attr(study, A_WARM) is not None:
        return 0
    dists = {d.name: d.dist for d in space.dims if d.when is None}
    added = 0
    for t in earlier_trials(spec, directions):
        params = {k: v for k, v in t.params.items() if k in dists}
        if set(params) != set(dists) or not all(
            dists[k]._contains(dists[k].to_internal_repr(v)) for k, v in params.items()
        ):
            continue  # another space: its value says nothing about this one
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions={k: dists[k] for k in params},
                values=t.values,
                system_attrs={A_WARM: spec},
                user_attrs={"warm_start_of": t.number},
            )
        )
        added += 1
    internals.set_study_system_attr(study, A_WARM, added)
    return added
