"""The user's data: data=table, data=image_folder, data=torchvision and data._target_.

On scikit-learn's bundled real datasets written to disk (tests/helpers/sk_data.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import cli_env, compose_config, find_mnist_root, run_cli_many, sk_data
from torch import nn

from hpt.build import build, data_problem
from hpt.errors import UserError

FAST = ["trainer.epochs=1", "trainer.quiet=true", "trainer.device=cpu"]


def built(*overrides: str):  # type: ignore[no-untyped-def]
    return build(compose_config([*overrides, *FAST]))


def table(name: str) -> str:
    return f"data.path={sk_data.shared_dir() / name}"


def digits() -> str:
    return f"data.root={sk_data.shared_dir() / 'digits'}"


def test_a_csv_with_a_text_target_is_binary_standardised_on_the_training_split() -> None:
    run = built("data=table", table("breast_cancer.csv"), "data.target=target")
    data = run.data
    assert data.problem == "binary" and type(run.loss_fn) is nn.BCEWithLogitsLoss
    assert data.in_shape == [30] and data.out_features == 1
    n = len(data.train) + len(data.val)
    assert len(data.test) == round(569 * 0.2) and n == 569 - len(data.test)
    assert set(data.train.y.flatten().tolist()) == {0.0, 1.0}
    # statistics from the training split only: exactly standard there, not on val/test
    assert data.train.x.mean(0).abs().max() < 1e-4
    assert (data.train.x.std(0) - 1).abs().max() < 1e-3
    assert data.val.x.mean(0).abs().max() > 1e-3
    assert (run.objectives[0].name, run.objectives[0].direction) == ("val/acc", "maximize")


def test_parquet_with_a_text_column_one_hot_encodes_it_and_finds_three_classes() -> None:
    run = built("data=table", table("wine.parquet"), "data.target=target")
    data = run.data
    assert data.problem == "classification" and data.out_features == 3
    assert data.in_shape == [13 + 3]  # 13 numeric columns + strength in {light, medium, strong}
    onehot = torch.cat([data.train.x, data.val.x])[:, -3:]  # text columns come in column order
    assert set(onehot.unique().tolist()) == {0.0, 1.0} and bool((onehot.sum(1) == 1).all())
    assert run.model(data.train.x[:5]).shape == (5, 3)


def test_a_numeric_target_with_many_values_is_regression_and_problem_overrides() -> None:
    data = built("data=table", table("diabetes.csv"), "data.target=target").data
    assert data.problem == "regression" and data.train.y.shape[1] == 1
    forced = built("data=table", table("wine.csv"), "data.target=target", "data.problem=regression")
    assert forced.data.problem == "regression" and forced.data.train.y.dtype == torch.float32
    assert data_problem(
        compose_config(["data=table", table("wine.csv"), "data.target=target"])
    ) == ("classification")


def test_features_and_a_separate_test_file() -> None:
    run = built(
        "data=table",
        table("bc_train.csv"),
        "data.target=target",
        f"data.test_path={sk_data.shared_dir() / 'bc_test.csv'}",
        "data.features=[mean radius,mean texture,worst area]",
    )
    assert run.data.in_shape == [3]
    assert len(run.data.test) == 569 - 450 and len(run.data.train) + len(run.data.val) == 450


def test_an_image_folder_is_decoded_resized_and_normalised_per_channel() -> None:
    run = built("data=image_folder", digits(), "data.size=16", "model=cnn")
    data = run.data
    assert data.in_shape == [1, 16, 16]  # greyscale PNGs stay one channel
    assert data.out_features == 10 and data.problem == "classification"
    assert len(data.test) == len(range(0, 1797, 5))  # test/ is used as it is
    assert abs(float(data.train.x.mean())) < 1e-3 and abs(float(data.train.x.std()) - 1) < 1e-2
    out = run.model(data.train.x[:4])
    assert out.shape == (4, 10)


def test_an_image_folder_uses_val_when_present_and_carves_test_when_absent(tmp_path: Path) -> None:
    root = sk_data.write_digits(tmp_path / "d", val=True, test=False, limit=400)
    data = built("data=image_folder", f"data.root={root}", "data.size=8", "data.channels=3").data
    n_val = len([i for i in range(400) if i % 7 == 0])
    assert len(data.val) == n_val
    assert len(data.test) == round((400 - n_val) * 0.2)
    assert data.in_shape == [3, 8, 8]


def test_a_user_function_returning_tensors_or_datasets() -> None:
    for target in ("helpers.sk_data.digits_tensors", "helpers.sk_data.digits_datasets"):
        run = built("data=custom", f"data._target_={target}", "+data.n_test=200")
        assert run.data.problem == "classification" and run.data.out_features == 10
        assert run.data.in_shape == [1, 8, 8] and len(run.data.test) == 200
    reg = built("data=custom", "data._target_=helpers.sk_data.diabetes_rows").data
    assert reg.problem == "regression" and reg.in_shape == [10]


@pytest.mark.skipif(find_mnist_root() is None, reason="real MNIST not found: set HPT_DATA_DIR")
def test_torchvision_by_class_name_reads_real_mnist() -> None:
    root = find_mnist_root()
    data = built(
        "data=torchvision",
        "data.name=MNIST",
        f"data.root={root}",
        "data.download=false",
        "data.subset=1000",
    ).data
    assert data.in_shape == [1, 28, 28] and data.out_features == 10 and len(data.test) == 10000


def test_a_torchvision_dataset_that_cannot_be_had_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"KMNIST not found under .*download is off"):
        built(
            "data=torchvision", "data.name=KMNIST", f"data.root={tmp_path}", "data.download=false"
        )


def test_every_bad_data_input_is_exit_2_and_one_line_naming_the_key(tmp_path: Path) -> None:
    d = sk_data.shared_dir()
    one = sk_data.write_digits(tmp_path / "one", limit=40)
    for extra in (one / "train").iterdir():
        if extra.name != "0":
            for f in extra.iterdir():
                f.unlink()
    empty = tmp_path / "empty"
    (empty / "train" / "a").mkdir(parents=True)
    mixed = sk_data.write_digits(tmp_path / "mixed", limit=60)
    (mixed / "test" / "3").rename(mixed / "test" / "x3")
    cases = {
        "missing file": (
            ["data=table", "data.path=nope.csv", "data.target=y"],
            "data.path=nope.csv",
        ),
        "missing target": (
            ["data=table", f"data.path={d / 'wine.csv'}", "data.target=nope"],
            "data.target=nope",
        ),
        "no target": (["data=table", f"data.path={d / 'wine.csv'}"], "data.target"),
        "no folder": (["data=image_folder", "data.root=nowhere"], "data.root=nowhere"),
        "empty folder": (["data=image_folder", f"data.root={empty}"], "no images"),
        "one class": (["data=image_folder", f"data.root={one}"], "only one class"),
        "other classes": (["data=image_folder", f"data.root={mixed}"], "test/ has classes"),
        "not importable": (["data=custom", "data._target_=nopkg.load"], "data._target_=nopkg.load"),
        "wrong type": (
            ["data=custom", "data._target_=helpers.sk_data.not_a_dataset"],
            "must return",
        ),
        "not a class": (["data=torchvision", "data.name=Nope"], "data.name=Nope"),
    }
    env = cli_env(PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    jobs = {name: (["train", *args, "trainer.epochs=1"], env) for name, (args, _) in cases.items()}
    results = run_cli_many(jobs, tmp_path / "cli")
    for name, (_, needle) in cases.items():
        res = results[name]
        lines = res.stderr.strip().splitlines()
        assert res.rc == 2, (name, res.stderr)
        assert len(lines) == 1 and needle in lines[0], (name, res.stderr)


def test_a_root_of_class_folders_is_the_training_set(tmp_path: Path) -> None:
    root = sk_data.write_digits(tmp_path / "d", test=False, limit=300) / "train"  # <class>/ only
    data = built("data=image_folder", f"data.root={root}", "data.size=8").data
    assert data.out_features == 10 and len(data.test) == round(300 * 0.2)
    assert len(data.train) + len(data.val) + len(data.test) == 300
