"""The sweeper's settings speak hpt's one validation language (``hpt.config.rules``): each range is
stated once, beside its field in ``hpt.sweep.planning.options``, and checked before anything runs."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from hpt.config.ranges import Num
from hpt.errors import UserError
from hpt.sweep.planning import options
from hpt.sweep.planning.validate import validate_settings

HYPERBAND = "optuna.pruners.HyperbandPruner"
HALVING = "optuna.pruners.SuccessiveHalvingPruner"


@pytest.mark.parametrize(
    ("conf", "says"),
    [
        ({"n_trials": 0}, "hydra.sweeper.n_trials=0 must be >= 1"),
        ({"n_trials": None}, "hydra.sweeper.n_trials=None must be >= 1"),
        ({"timeout": -1.5}, "hydra.sweeper.timeout=-1.5 must be > 0 seconds (or null)"),
        ({"stop": {"stagnation": 0}}, "hydra.sweeper.stop.stagnation=0 must be an integer >= 1"),
        ({"stop": {"target": float("nan")}}, "hydra.sweeper.stop.target=nan must be a finite"),
        (
            {"sampler": {"_target_": "optuna.samplers.GPSampler", "seed": -1}},
            "hydra.sweeper.sampler.seed=-1 must be an integer >= 0 (or null)",
        ),
        (
            {"pruner": {"_target_": HYPERBAND, "reduction_factor": 1}},
            "hydra.sweeper.pruner.reduction_factor=1 must be >= 2",
        ),
        # the same field rule on every pruner that has the field (Optuna refuses it too)
        (
            {"pruner": {"_target_": HALVING, "reduction_factor": 1}},
            "hydra.sweeper.pruner.reduction_factor=1 must be >= 2",
        ),
    ],
)
def test_a_setting_out_of_its_fields_range_is_one_line(
    conf: dict[str, typing.Any], says: str
) -> None:
    with pytest.raises(UserError) as caught:
        validate_settings({"n_trials": 5, **conf})
    assert str(caught.value) == says or str(caught.value).startswith(says)


def test_settings_inside_their_ranges_pass() -> None:
    validate_settings(
        {
            "n_trials": 5,
            "n_jobs": 0,
            "timeout": None,
            "max_failure_rate": 1,
            "stop": {"stagnation": 3, "target": 0.99},
            "sampler": {"_target_": "optuna.samplers.TPESampler", "seed": 0},
            "pruner": {"_target_": HYPERBAND, "reduction_factor": 2},
        }
    )


def _numeric(hint: typing.Any) -> bool:
    return bool({int, float} & set(typing.get_args(hint) or (hint,)))


def test_every_numeric_sweeper_setting_states_its_range_beside_its_field() -> None:
    """A new numeric setting without a rule would go unchecked: this fails first."""
    for schema in (options.HptSweeperConf, options.StopConf):
        hints = typing.get_type_hints(schema)
        for f in dataclasses.fields(schema):
            if _numeric(hints[f.name]):
                assert isinstance(f.metadata.get("rule"), Num), f"{schema.__name__}.{f.name}"
    for schema in options.OPTIONS.values():  # Optuna's own arguments: the ones hpt checks
        for f in dataclasses.fields(schema):
            if f.name in ("seed", "reduction_factor"):
                assert isinstance(f.metadata.get("rule"), Num), f"{schema.__name__}.{f.name}"
