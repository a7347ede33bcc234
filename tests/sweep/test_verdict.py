"""One verdict path for every trial: ``verdict_of`` judges hpt's own run and a user app alike,
``conclude`` records it in result.json and tells the study (no subprocess, no training)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus
from optuna.trial import TrialState

from hpt.objectives import Objective
from hpt.record import Outcome
from hpt.rundir import RESULT, read_json
from hpt.sweep.planning.space import SearchSpace
from hpt.sweep.running.objective import verdict_of
from hpt.sweep.running.spec import WorkerSpec
from hpt.sweep.running.verdict import Verdict, conclude

OBJ = [Objective("val/loss", "minimize")]


def _ret(value: object, status: JobStatus = JobStatus.COMPLETED) -> JobReturn:
    ret = JobReturn()
    ret.status = status
    ret.return_value = value
    return ret


def _outcome(status: str, values: list[float] | None, error: str | None = None) -> Outcome:
    return Outcome(status, values, "run", OBJ, error, "oom" if error else None)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (_outcome("COMPLETE", [0.5]), Verdict("COMPLETE", [0.5], run_status="COMPLETE")),
        (_outcome("PRUNED", None), Verdict("PRUNED", run_status="PRUNED")),
        (
            _outcome("FAIL", None, "CUDA out of memory"),
            Verdict("FAIL", None, "CUDA out of memory", "oom", run_status="FAIL"),
        ),
        (
            _outcome("COMPLETE", [float("nan")]),
            Verdict("FAIL", None, "no finite objective value", "exception", "COMPLETE"),
        ),
        (
            _outcome("COMPLETE", [0.5, 0.1]),
            Verdict(
                "FAIL",
                None,
                "the run reported 2 objective(s) but the study has 1",
                "config",
                "COMPLETE",
            ),
        ),
    ],
)
def test_hpt_runs_outcome_becomes_its_verdict(outcome: Outcome, expected: Verdict) -> None:
    assert verdict_of(_ret(outcome), 1, user_app=False) == expected


@pytest.mark.parametrize("user_app", [False, True])
def test_a_raised_job_is_judged_the_same_for_both_kinds(user_app: bool) -> None:
    pruned = verdict_of(_ret(optuna.TrialPruned(), JobStatus.FAILED), 1, user_app)
    assert pruned == Verdict("PRUNED")
    failed = verdict_of(_ret(ValueError("bad x."), JobStatus.FAILED), 1, user_app)
    assert failed == Verdict("FAIL", error="ValueError: bad x.", error_kind="exception")


def test_a_user_apps_return_value_is_its_verdict() -> None:
    assert verdict_of(_ret(0.25), 1, user_app=True) == Verdict("COMPLETE", [0.25])
    assert verdict_of(_ret(None), 1, user_app=True).error_kind == "config"


def _study_trial(directions: int = 1) -> tuple[optuna.Study, optuna.Trial]:
    study = optuna.create_study(directions=["minimize"] * directions, study_name="s")
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    return study, trial


def _spec(user_app: bool) -> WorkerSpec:
    return WorkerSpec(
        "",
        "s",
        SearchSpace([], []),
        1,
        "",
        None,
        None,
        user_app=user_app,
        objective_names=["objective"],
        directions=["minimize"],
    )


def test_conclude_writes_a_user_apps_record_and_tells_the_study(tmp_path: Path) -> None:
    study, trial = _study_trial()
    trial.report(0.4, 1)
    conclude(study, trial, _spec(True), Verdict("COMPLETE", [0.3]), tmp_path, 1.23456)
    t = study.trials[0]
    assert (t.state, t.values) == (TrialState.COMPLETE, [0.3])
    result = read_json(tmp_path / RESULT)
    assert result is not None
    assert result["status"] == "COMPLETE" and result["objective"]["value"] == 0.3
    assert result["final"] == {"step": 1, "objective": 0.4} and result["duration_s"] == 1.235
    assert result["params"] == {"x": t.params["x"]} and result["trial"]["number"] == 0


def test_a_trial_that_never_ran_gets_a_record_saying_why(tmp_path: Path) -> None:
    study, trial = _study_trial()
    conclude(
        study, trial, _spec(False), Verdict("FAIL", error="bad", error_kind="config"), tmp_path
    )
    t = study.trials[0]
    assert t.state == TrialState.FAIL and t.user_attrs == {"error": "bad", "error_kind": "config"}
    assert read_json(tmp_path / RESULT) == {
        "status": "FAIL",
        "error": "bad",
        "error_kind": "config",
        "params": t.params,
        "trial": {"number": 0, "study_name": "s"},
    }


def test_hpt_runs_own_record_is_kept_and_the_study_told(tmp_path: Path) -> None:
    (tmp_path / RESULT).write_text('{"status": "FAIL", "error": "its own"}')
    study, trial = _study_trial()
    verdict = Verdict("FAIL", error="its own", error_kind="oom", run_status="FAIL")
    conclude(study, trial, _spec(False), verdict, tmp_path, 2.0)
    assert read_json(tmp_path / RESULT) == {"status": "FAIL", "error": "its own"}
    assert study.trials[0].user_attrs["error_kind"] == "oom"
