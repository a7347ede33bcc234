"""The default sweep dir of ``hpt sweep`` is named for the sweep: search, data, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpt.errors import UserError
from hpt.storage import check_journal
from hpt.sweep.command import with_sweep_dir
from hpt.sweep.planning.naming import default_sweep_dir, free_sibling

SPACE = ["search=tpe", "optimizer.lr=tag(log, interval(1e-4, 1e-1))"]


def test_the_dir_names_the_search_and_the_data_and_hashes_the_settings() -> None:
    name = default_sweep_dir([*SPACE, "data=mnist_tiny"], "mnist")
    assert name.startswith("outputs/sweeps/tpe-mnist_tiny-") and len(name.rsplit("-", 1)[1]) == 8
    assert default_sweep_dir(SPACE, "mnist").startswith("outputs/sweeps/tpe-mnist-")
    table = ["data=table", "data.path=data/house prices.csv", "data.target=price"]
    assert default_sweep_dir([*SPACE, *table], "mnist").startswith(
        "outputs/sweeps/tpe-house_prices-"
    )
    assert default_sweep_dir(["model.width=choice(8, 16)"], "mnist").startswith(
        "outputs/sweeps/sweep-mnist-"
    )


def test_the_same_sweep_keeps_its_dir_and_another_gets_its_own() -> None:
    base = default_sweep_dir([*SPACE, "data=mnist_tiny"], "mnist")
    # Order, the budget, the workers and timeouts do not make another sweep: rerun resumes.
    same = [
        "hydra.sweeper.n_trials=50",
        "data=mnist_tiny",
        "hydra.sweeper.n_jobs=4",
        *reversed(SPACE),
        "hydra.sweeper.timeout=60",
    ]
    assert default_sweep_dir(same, "mnist") == base
    for other in (
        [*SPACE, "data=binary"],  # other data
        [*SPACE, "data=mnist_tiny", "trainer.epochs=3"],  # another fixed setting
        [*SPACE, "data=mnist_tiny", "hydra.sweeper.params.model.width=choice(8, 16)"],
        ["search=tpe", "data=mnist_tiny", "optimizer.lr=tag(log, interval(1e-3, 1e-1))"],
    ):
        assert default_sweep_dir(other, "mnist") != base, other


def test_a_named_dir_or_study_is_left_as_given(tmp_path: Path) -> None:
    given = ["--cfg", "job", "search=tpe", "hydra.sweep.dir=here"]
    assert with_sweep_dir(given) == given
    named = ["search=tpe", "hydra.sweeper.study_name=mine"]  # conf/config.yaml: sweeps/mine
    assert with_sweep_dir(named) == named
    added = with_sweep_dir(["--cfg", "job", "search=tpe"])
    assert added[:3] == ["--cfg", "job", "search=tpe"]
    assert added[3].startswith("hydra.sweep.dir=outputs/sweeps/tpe-mnist-")  # the config's data
    (tmp_path / "s").mkdir()
    (tmp_path / "s-2").mkdir()
    assert free_sibling(tmp_path / "s") == tmp_path / "s-3"


def test_a_lost_study_record_names_a_free_dir_for_the_new_sweep(tmp_path: Path) -> None:
    sweep = tmp_path / "tpe-mnist-1a2b3c4d"
    (sweep / "trial_0000").mkdir(parents=True)
    (sweep / "study.journal").write_text("")
    with pytest.raises(UserError, match=f"hydra.sweep.dir={sweep}-2$"):
        check_journal(sweep / "study.journal", sweep)
