"""hydra-optuna-sweeper's own test file, run against hpt's sweeper.

Ported from ``plugins/hydra_optuna_sweeper/tests/test_optuna_sweeper_plugin.py`` of
facebookresearch/hydra (branch 1.3_branch, MIT licence, Copyright (c) Facebook, Inc. and its
affiliates). The example apps and configs it runs are copied unchanged under
``tests/apps/hos/`` except for the sweeper line (``override hydra/sweeper: optuna`` ->
``hpt``). Each upstream test keeps its name and its command line; what the old plugin's
internal functions did is asked of hpt's equivalent (``hpt.sweep.planning.space``), and Optuna 2's
distribution classes are written as the Optuna 5 classes that replaced them.

Deliberate differences (README, "Coming from hydra-optuna-sweeper"), each marked below:
1. ``range(a, b)`` includes ``b`` for every sampler, the grid too; the old plugin included
   it for TPE and excluded it for the grid sampler. ``shuffle(range(a, b))`` is Hydra's own
   expansion (``b`` excluded) in both, so upstream's expectation holds unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from hpt.sweep.planning.legacy import legacy_params
from hpt.sweep.planning.space import parse, to_distribution

REPO = Path(__file__).resolve().parents[2]
HOS = REPO / "tests" / "apps" / "hos"  # upstream's plugin root: example/ and tests/conf/


def run_python_script(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """hydra.test_utils.run_python_script: the app in a fresh interpreter, from the plugin root."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, *cmd], cwd=HOS, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_discovery() -> None:
    # The old plugin's class name is answered by hpt (configs pin it in hydra.sweeper._target_).
    assert "OptunaSweeper" in [x.__name__ for x in Plugins.instance().discover(Sweeper)]


def check_distribution(expected: BaseDistribution, actual: BaseDistribution) -> None:
    if not isinstance(expected, CategoricalDistribution):
        assert expected == actual
        return
    assert isinstance(actual, CategoricalDistribution)
    # shuffle() will randomize the order of items in choices.
    assert set(expected.choices) == set(actual.choices)


@pytest.mark.parametrize(
    ("input", "expected"),
    [
        ({"type": "categorical", "choices": [1, 2, 3]}, CategoricalDistribution([1, 2, 3])),
        ({"type": "int", "low": 0, "high": 10}, IntDistribution(0, 10)),
        ({"type": "int", "low": 0, "high": 10, "step": 2}, IntDistribution(0, 10, step=2)),
        ({"type": "int", "low": 0, "high": 5}, IntDistribution(0, 5)),
        ({"type": "int", "low": 1, "high": 100, "log": True}, IntDistribution(1, 100, log=True)),
        ({"type": "float", "low": 0, "high": 1}, FloatDistribution(0, 1)),
        ({"type": "float", "low": 0, "high": 10, "step": 2}, FloatDistribution(0, 10, step=2)),
        (
            {"type": "float", "low": 1, "high": 100, "log": True},
            FloatDistribution(1, 100, log=True),
        ),
    ],
)
def test_create_optuna_distribution_from_config(input: Any, expected: Any) -> None:
    expr = legacy_params({"key": input})["key"]  # the old search_space form, read by hpt
    actual = parse({"key": expr}, None, []).dims[0].dist
    check_distribution(expected, actual)


@pytest.mark.parametrize(
    ("input", "expected"),
    [
        ("key=choice(1,2)", CategoricalDistribution([1, 2])),
        ("key=choice(true, false)", CategoricalDistribution([True, False])),
        ("key=choice('hello', 'world')", CategoricalDistribution(["hello", "world"])),
        ("key=shuffle(range(1,3))", CategoricalDistribution([1, 2])),
        ("key=range(1,3)", IntDistribution(1, 3)),
        ("key=interval(1, 5)", FloatDistribution(1, 5)),
        ("key=int(interval(1, 5))", IntDistribution(1, 5)),
        ("key=tag(log, interval(1, 5))", FloatDistribution(1, 5, log=True)),
        ("key=tag(log, int(interval(1, 5)))", IntDistribution(1, 5, log=True)),
        ("key=range(0.5, 5.5, step=1)", FloatDistribution(0.5, 5.5, step=1)),
    ],
)
def test_create_optuna_distribution_from_override(input: Any, expected: Any) -> None:
    parser = OverridesParser.create()
    parsed = parser.parse_overrides([input])[0]
    actual = to_distribution(parsed.get_key_element(), parsed.value(), input.split("=", 1)[1])
    check_distribution(expected, actual)


@pytest.mark.parametrize(
    ("input", "expected"),
    [
        (["key=choice(1,2)"], ({"key": CategoricalDistribution([1, 2])}, {})),
        (["key=5"], ({}, {"key": "5"})),
        (
            ["key1=choice(1,2)", "key2=5"],
            ({"key1": CategoricalDistribution([1, 2])}, {"key2": "5"}),
        ),
        (
            ["key1=choice(1,2)", "key2=5", "key3=range(1,3)"],
            (
                {"key1": CategoricalDistribution([1, 2]), "key3": IntDistribution(1, 3)},
                {"key2": "5"},
            ),
        ),
    ],
)
def test_create_params_from_overrides(input: Any, expected: Any) -> None:
    space = parse(None, None, input)
    actual = (
        {d.name: d.dist for d in space.dims},
        dict(f.split("=", 1) for f in space.fixed),
    )
    assert actual == expected


def test_launch_jobs(hydra_sweep_runner: Any, tmp_path: Path) -> None:
    # No params: the sweep runs n_trials jobs of the base config, here on 3 workers.
    # temp_dir is given: Hydra's fixture otherwise sweeps into a folder named "None".
    sweep = hydra_sweep_runner(
        calling_file=None,
        calling_module="hydra.test_utils.a_module",
        config_path="configs",
        config_name="compose.yaml",
        task_function=None,
        overrides=[
            "hydra/sweeper=hpt",
            "hydra/launcher=basic",
            "hydra.sweeper.n_trials=8",
            "hydra.sweeper.n_jobs=3",
        ],
        temp_dir=tmp_path,
    )
    with sweep:
        assert sweep.returns is None
        assert len(list(tmp_path.glob("*/result.json"))) == 8  # removed on exit


@pytest.mark.parametrize("with_commandline", [True, False])
def test_optuna_example(with_commandline: bool, tmp_path: Path) -> None:
    storage = "sqlite:///" + os.path.join(str(tmp_path), "test.db")
    study_name = "test-optuna-example"
    cmd = [
        "example/sphere.py",
        "--multirun",
        "hydra.sweep.dir=" + str(tmp_path),
        "hydra.job.chdir=True",
        "hydra.sweeper.n_trials=20",
        "hydra.sweeper.n_jobs=1",
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study_name}",
        "hydra/sweeper/sampler=tpe",
        "hydra.sweeper.sampler.seed=123",
        "~z",
    ]
    if with_commandline:
        cmd += [
            "x=choice(0, 1, 2)",
            "y=0",  # Fixed parameter
        ]
    run_python_script(cmd)
    returns = OmegaConf.load(f"{tmp_path}/optimization_results.yaml")
    study = optuna.load_study(storage=storage, study_name=study_name)
    best_trial = study.best_trial
    assert isinstance(returns, DictConfig)
    assert returns.name == "optuna"
    assert returns["best_params"]["x"] == best_trial.params["x"]
    if with_commandline:
        assert "y" not in returns["best_params"]
        assert "y" not in best_trial.params
    else:
        assert returns["best_params"]["y"] == best_trial.params["y"]
    assert returns["best_value"] == best_trial.value
    # Check the search performance of the TPE sampler.
    # The threshold is the 95th percentile calculated with 1000 different seed values
    # to make the test robust against the detailed implementation of the sampler.
    # See https://github.com/facebookresearch/hydra/pull/1746#discussion_r681549830.
    assert returns["best_value"] <= 2.27


@pytest.mark.parametrize("num_trials", [10, 1])
def test_example_with_grid_sampler(tmp_path: Path, num_trials: int) -> None:
    storage = "sqlite:///" + os.path.join(str(tmp_path), "test.db")
    study_name = "test-grid-sampler"
    cmd = [
        "example/sphere.py",
        "--multirun",
        "--config-dir=tests/conf",
        "--config-name=test_grid",
        "hydra.sweep.dir=" + str(tmp_path),
        "hydra.job.chdir=False",
        f"hydra.sweeper.n_trials={num_trials}",
        "hydra.sweeper.n_jobs=1",
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study_name}",
    ]
    run_python_script(cmd)
    returns = OmegaConf.load(f"{tmp_path}/optimization_results.yaml")
    assert isinstance(returns, DictConfig)
    bv, bx, by, bz = (
        returns["best_value"],
        returns["best_params"]["x"],
        returns["best_params"]["y"],
        returns["best_params"]["z"],
    )
    if num_trials >= 12:
        assert bv == 1 and abs(bx) == 1 and by == 0
    else:
        # Difference 1: y: range(-1.0, 1.0, step=1) is the grid [-1, 0, 1] (upstream: [-1, 0]).
        assert bx in [-1, 1] and by in [-1, 0, 1]
    assert bz in ["foo", "bar"]
    n_grid = 2 * 3 * 2
    assert len(optuna.load_study(storage=storage, study_name=study_name).trials) == min(
        num_trials, n_grid
    )


@pytest.mark.parametrize("with_commandline", [True, False])
def test_optuna_multi_objective_example(with_commandline: bool, tmp_path: Path) -> None:
    cmd = [
        "example/multi-objective.py",
        "--multirun",
        "hydra.sweep.dir=" + str(tmp_path),
        "hydra.job.chdir=True",
        "hydra.sweeper.n_trials=20",
        "hydra.sweeper.n_jobs=1",
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=123",
    ]
    if with_commandline:
        cmd += [
            "x=range(0, 5)",
            "y=range(0, 3)",
        ]
    run_python_script(cmd)
    returns = OmegaConf.load(f"{tmp_path}/optimization_results.yaml")
    assert isinstance(returns, DictConfig)
    assert returns.name == "optuna"
    assert returns["solutions"]
    if with_commandline:
        for trial_x in returns["solutions"]:
            assert trial_x["params"]["x"] % 1 == 0
            assert trial_x["params"]["y"] % 1 == 0
            # The trials must not dominate each other.
            for trial_y in returns["solutions"]:
                assert not _dominates(trial_x["values"], trial_y["values"])
    else:
        for trial_x in returns["solutions"]:
            assert trial_x["params"]["x"] % 1 in {0, 0.5}
            assert trial_x["params"]["y"] % 1 in {0, 0.5}
            # The trials must not dominate each other.
            for trial_y in returns["solutions"]:
                assert not _dominates(trial_x["values"], trial_y["values"])


def _dominates(values_x: list[float], values_y: list[float]) -> bool:
    # Upstream passes the solution dicts here, which makes its check vacuous; hpt's port
    # compares the objective values, which is what the comment above it means.
    return all(x <= y for x, y in zip(values_x, values_y)) and any(
        x < y for x, y in zip(values_x, values_y)
    )


def test_optuna_custom_search_space_example(tmp_path: Path) -> None:
    max_z_difference_from_x = 0.3
    cmd = [
        "example/custom-search-space-objective.py",
        "--multirun",
        "hydra.sweep.dir=" + str(tmp_path),
        "hydra.job.chdir=True",
        "hydra.sweeper.n_trials=20",
        "hydra.sweeper.n_jobs=1",
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=123",
        f"max_z_difference_from_x={max_z_difference_from_x}",
    ]
    run_python_script(cmd)
    returns = OmegaConf.load(f"{tmp_path}/optimization_results.yaml")
    assert isinstance(returns, DictConfig)
    assert returns.name == "optuna"
    assert abs(returns["best_params"]["x"] - returns["best_params"]["z"]) <= max_z_difference_from_x
    w = returns["best_params"]["+w"]
    assert 0 <= w <= 1


@pytest.mark.parametrize(
    ("search_space", "params", "raise_warning", "msg"),
    [
        (None, None, False, None),
        ({}, {}, True, "both hydra.sweeper.params and hydra.sweeper.search_space are set"),
        ({}, None, True, "hydra.sweeper.search_space is deprecated"),
        (None, {}, False, None),
    ],
)
def test_warnings(
    tmp_path: Path,
    search_space: dict[str, Any] | None,
    params: dict[str, Any] | None,
    raise_warning: bool,
    msg: str | None,
) -> None:
    # Upstream builds its sweeper class with each combination and calls its private
    # _process_searchspace_config; here each combination runs the example app, and the
    # warning is the line hpt prints on stderr.
    cmd = [
        "example/sphere.py",
        "--multirun",
        f"hydra.sweep.dir={tmp_path}",
        "hydra.sweeper.n_trials=1",
    ]
    cmd.append("hydra.sweeper.params=null" if params is None else f"hydra.sweeper.params={params}")
    if search_space is not None:
        cmd.append(f"hydra.sweeper.search_space={search_space}")
    r = run_python_script(cmd)
    if raise_warning:
        assert msg is not None and msg in r.stderr
    else:
        assert "search_space" not in r.stderr


@pytest.mark.parametrize("max_failure_rate", [0.5, 1.0])
def test_failure_rate(max_failure_rate: float, tmp_path: Path) -> None:
    cmd = [
        "example/sphere.py",
        "--multirun",
        "hydra.sweep.dir=" + str(tmp_path),
        "hydra.job.chdir=True",
        "hydra.sweeper.n_trials=20",
        "hydra.sweeper.n_jobs=2",
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=123",
        f"hydra.sweeper.max_failure_rate={max_failure_rate}",
        "error=true",
    ]
    r = run_python_script(cmd, check=False)
    error_string = "RuntimeError: cfg.error is True"
    if max_failure_rate < 1.0:
        assert error_string in r.stderr
        assert r.returncode == 1 and "Traceback" not in r.stderr
    else:
        assert error_string not in r.stderr


def test_example_with_deprecated_search_space(tmp_path: Path) -> None:
    cmd = [
        "-W ignore::UserWarning",
        "example/sphere.py",
        "--multirun",
        "--config-dir=tests/conf",
        "--config-name=test_deprecated_search_space",
        "hydra.sweep.dir=" + str(tmp_path),
        "hydra.job.chdir=True",
        "hydra.sweeper.n_trials=20",
        "hydra.sweeper.n_jobs=1",
    ]
    run_python_script(cmd)
    returns = OmegaConf.load(f"{tmp_path}/optimization_results.yaml")
    assert isinstance(returns, DictConfig)
    assert returns.name == "optuna"
    assert abs(returns["best_params"]["x"]) <= 5.5
