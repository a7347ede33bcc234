"""The sweep's budget accounting (``hpt.sweep.running.accounting``) on a real in-memory Optuna study."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from hpt.sweep import optuna_internals as internals
from hpt.sweep.running import accounting
from hpt.sweep.running.study import A_ENQUEUED, enqueue


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))


def test_claim_keeps_trials_up_to_the_budget_and_discards_the_rest() -> None:
    study = _study()
    kept = []
    for _ in range(5):
        trial = study.ask()
        if accounting.claim(study, trial, n_trials=3):
            kept.append(trial.number)
            study.tell(trial, 1.0)
    trials = study.get_trials(deepcopy=False)
    assert kept == [0, 1, 2]
    discarded = [t for t in trials if t.system_attrs.get(accounting.A_DISCARDED)]
    assert [t.number for t in discarded] == [3, 4]
    assert all(t.state == TrialState.FAIL for t in discarded)
    assert accounting.budget_used(trials) == 3
    assert [t.number for t in accounting.finished(trials)] == [0, 1, 2]
    assert accounting.state_counts(trials)["FAIL"] == 0  # a discarded ask is no failure


def test_a_point_two_hosts_queue_at_once_runs_once_and_the_budget_stays_exact() -> None:
    """Hosts opening one study together may both queue the ``enqueue`` points (and the
    baseline) before either records them as queued; the later copy is discarded, not run."""
    study = _study()
    known = [{"x": 0.25}, {"x": 0.75}]
    enqueue(study, known)  # host A
    internals.set_study_system_attr(study, A_ENQUEUED, None)  # host B read the flag before A set it
    enqueue(study, known)  # host B
    ran = []
    for _ in range(6):  # 4 queued (2 of them copies), then 2 sampled
        trial = study.ask()
        if accounting.claim(study, trial, n_trials=4):
            ran.append(trial.suggest_float("x", 0, 1))
            study.tell(trial, 1.0)
    trials = study.get_trials(deepcopy=False)
    assert ran[:2] == [0.25, 0.75] and len(set(ran)) == 4, ran
    copies = [t for t in trials if t.system_attrs.get(accounting.A_DISCARDED)]
    assert [t.number for t in copies] == [2, 3]
    assert [t.user_attrs for t in copies] == [{"enqueued": True}] * 2
    assert len(accounting.finished(trials)) == 4 and accounting.budget_used(trials) == 4


def test_a_retried_trial_gives_its_budget_unit_to_its_queued_copy() -> None:
    study = _study()
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    accounting.mark_owner(study, trial)
    frozen = study.get_trials(deepcopy=False)[0]
    assert accounting.retry(study, frozen, "worker died while the trial was running")
    trials = study.get_trials(deepcopy=False)
    dead, copy = trials
    assert dead.state == TrialState.FAIL and not accounting.counts(dead)
    assert copy.state == TrialState.WAITING
    assert copy.system_attrs["fixed_params"] == dead.params  # the same point, asked again
    assert copy.system_attrs[accounting.A_RETRY_OF] == dead.number
    assert accounting.budget_used(trials) == 1  # the copy, not the dead original


def test_a_retry_that_dies_again_is_a_failure_not_another_retry() -> None:
    study = _study()
    study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    accounting.retry(study, study.get_trials(deepcopy=False)[0], "interrupted")
    copy = study.ask()  # the queued copy runs
    assert copy.number == 1
    frozen = study.get_trials(deepcopy=False)[1]
    assert not accounting.retry(study, frozen, "interrupted")
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 2 and trials[1].state == TrialState.FAIL
    assert accounting.budget_used(trials) == 1 and accounting.counts(trials[1])


def test_a_running_trial_is_stale_once_its_heartbeat_is_older_than_the_grace_period() -> None:
    study = _study()
    trial = study.ask()
    accounting.beat(study, trial._trial_id)
    frozen = study.get_trials(deepcopy=False)[0]
    beat = float(frozen.system_attrs[accounting.A_BEAT])
    assert not accounting.is_stale(frozen, grace_period=60, now=beat + 30)
    assert accounting.is_stale(frozen, grace_period=60, now=beat + 61)
    study.tell(trial, 1.0)
    finished = study.get_trials(deepcopy=False)[0]
    assert not accounting.is_stale(finished, grace_period=60, now=beat + 1e6)  # finished: never
