"""Search-space grammar: Hydra override strings -> Optuna distributions, every form."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpt.errors import UserError
from hpt.sweep.planning.overrides import to_overrides
from hpt.sweep.planning.space import grid_values, parse

TABLE = [
    ("interval(0.1, 0.5)", FloatDistribution(0.1, 0.5)),
    ("interval(1, 10)", FloatDistribution(1.0, 10.0)),
    ("tag(log, interval(1e-4, 1e-1))", FloatDistribution(1e-4, 1e-1, log=True)),
    ("tag(int, interval(1, 100))", IntDistribution(1, 100)),
    ("tag(log, int, interval(16, 512))", IntDistribution(16, 512, log=True)),
    ("range(1, 5)", IntDistribution(1, 5)),  # both ends inclusive, for every sampler
    ("range(0, 10, 2)", IntDistribution(0, 10, step=2)),
    ("range(1, 10, step=4)", IntDistribution(1, 9, step=4)),  # stop pulled down onto the grid
    ("range(0.1, 0.5, 0.1)", FloatDistribution(0.1, 0.5, step=0.1)),
    ("choice(sgd, adamw)", CategoricalDistribution(["sgd", "adamw"])),
    ("choice(64, 128, 256)", CategoricalDistribution([64, 128, 256])),
    ("choice(true, false)", CategoricalDistribution([True, False])),
]


@pytest.mark.parametrize(("expr", "expected"), TABLE)
def test_override_grammar_maps_to_the_optuna_distribution(expr: str, expected: object) -> None:
    space = parse({"p": expr}, None, [])
    assert len(space.dims) == 1
    got = space.dims[0].dist
    assert type(got) is type(expected)
    if isinstance(expected, FloatDistribution | IntDistribution):
        assert got.low == pytest.approx(expected.low)
        assert got.high == pytest.approx(expected.high)
        assert got.log == expected.log
        assert (got.step is None) == (expected.step is None)
        if expected.step is not None:
            assert got.step == pytest.approx(expected.step)
    else:
        assert got.choices == expected.choices  # type: ignore[attr-defined]


def test_range_grid_includes_both_ends() -> None:
    space = parse({"a": "range(1, 5)", "b": "range(0.1, 0.3, 0.1)"}, None, [])
    grid = space.grid()
    assert grid["a"] == [1, 2, 3, 4, 5]
    assert grid["b"] == pytest.approx([0.1, 0.2, 0.3])


def test_command_line_sweeps_join_params_and_plain_overrides_stay_fixed() -> None:
    space = parse(
        {"optimizer.lr": "interval(0.001, 0.1)"},
        None,
        ["trainer.epochs=2", "model.width=choice(32,64)"],
    )
    assert [d.name for d in space.dims] == ["optimizer.lr", "model.width"]
    assert space.fixed == ["trainer.epochs=2"]


def test_conditional_params_are_bound_to_one_choice() -> None:
    space = parse(
        {"optimizer": "choice(sgd, adamw)"},
        {"optimizer=sgd": {"optimizer.momentum": "interval(0.5, 0.99)"}},
        [],
    )
    momentum = space.dims[1]
    assert momentum.when == ("optimizer", "sgd")
    assert [d.name for d in space.active({"optimizer": "adamw"})] == ["optimizer"]
    assert [d.name for d in space.active({"optimizer": "sgd"})] == [
        "optimizer",
        "optimizer.momentum",
    ]


@pytest.mark.parametrize(
    ("params", "conditional", "message"),
    [
        ({"p": "interval(5, 1)"}, None, "low < high"),
        ({"p": "tag(log, interval(0, 1))"}, None, "low > 0"),
        ({"p": "tag(loog, interval(1, 2))"}, None, "unknown tag"),
        ({"p": "interval(1,"}, None, "cannot parse"),
        ({"p": "range(5, 1)"}, None, "start <= stop"),
        (
            {"optimizer": "choice(sgd, adamw)"},
            {"optimizer=adam": {"x": "interval(0, 1)"}},
            "not one of",
        ),
        ({"p": "interval(0, 1)"}, {"optimizer=sgd": {"x": "interval(0, 1)"}}, "must be a choice"),
    ],
)
def test_bad_search_expressions_are_user_errors(
    params: dict, conditional: dict | None, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        parse(params, conditional, [])


def test_grid_refuses_intervals() -> None:
    space = parse({"p": "interval(0, 1)"}, None, [])
    with pytest.raises(UserError, match="grid sampler needs choice"):
        grid_values(space.dims[0])


def test_fingerprint_changes_with_space_or_fixed_overrides() -> None:
    a = parse({"p": "interval(0, 1)"}, None, ["trainer.epochs=2"])
    b = parse({"p": "interval(0, 2)"}, None, ["trainer.epochs=2"])
    c = parse({"p": "interval(0, 1)"}, None, ["trainer.epochs=3"])
    assert (
        a.fingerprint() == parse({"p": "interval(0, 1)"}, None, ["trainer.epochs=2"]).fingerprint()
    )
    assert len({a.fingerprint(), b.fingerprint(), c.fingerprint()}) == 3


def test_sampled_values_become_valid_overrides_with_group_choices_first() -> None:
    out = to_overrides(
        {"optimizer.momentum": 0.9, "optimizer": "sgd", "model.name": "a b", "flag": True}
    )
    assert out[0] == "optimizer=sgd"
    assert "optimizer.momentum=0.9" in out
    assert "model.name='a b'" in out
    assert "flag=true" in out
