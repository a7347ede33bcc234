"""Bad input ends with exit code 2 and one line on stderr; a diverging run is recorded as FAIL.

The CLI calls run in parallel once per module (most of each is interpreter and torch start-up).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO, CliResult, cli_env, has_cuda, run_cli_many

from hpt.rundir import read_json

TINY = ["data=mnist_tiny", "trainer.epochs=1", "trainer.quiet=true"]

# name -> (hpt arguments, words the one error line must contain)
BAD_INPUTS: dict[str, tuple[list[str], list[str]]] = {
    "unknown_option": (["train", "model=mlpp", *TINY], ["model/mlpp", "mlp", "cnn", "resnet18"]),
    "misspelled_key": (["train", "trainer.epoks=3", *TINY], ["trainer.epoks"]),
    "wrong_type": (["train", "trainer.epochs=abc", *TINY], ["trainer.epochs", "abc"]),
    "invalid_enum": (["train", "trainer.precision=fp8", *TINY], ["fp8", "bf16"]),
    "missing_dataset": (
        [
            "train",
            "data=mnist",
            "data.root=/nonexistent",
            "data.download=false",
            "trainer.quiet=true",
        ],
        ["/nonexistent/MNIST/raw", "HPT_DATA_DIR"],
    ),
    "fp16_on_cpu": (
        ["train", "trainer.precision=fp16", "trainer.device=cpu", *TINY],
        ["fp16", "CUDA"],
    ),
    "negative_lr": (["train", "optimizer.lr=-1", *TINY], ["optimizer.lr=-1", "> 0"]),
    "loss_for_another_task": (["train", "loss=mse", *TINY], ["loss=mse", "classification"]),
    "unknown_command": (["nope"], ["nope", "train", "sweep"]),
    "misspelled_option": (
        ["train", "data=tabel", "trainer.epochs=1", "trainer.quiet=true"],
        ["data=tabel", "did you mean data=table?", "image_folder", "mnist_tiny"],
    ),
    "wrong_column": (
        [
            "train",
            "data=table",
            f"data.path={REPO / 'benchmarks' / 'curves' / 'mnist_mlp.csv'}",
            "data.target=val_accuracy",
            "trainer.quiet=true",
        ],
        ["data.target=val_accuracy", "val_acc"],
    ),
}
if not has_cuda():
    BAD_INPUTS["cuda_without_cuda"] = (
        ["train", "trainer.device=cuda", *TINY],
        ["trainer.device=cuda", "CUDA"],
    )

NAN_RUN = [
    "train",
    "data=regression",
    "optimizer=sgd",
    "optimizer.lr=1e6",
    "trainer.epochs=3",
    "trainer.quiet=true",
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliResult]:
    jobs: dict[str, tuple[list[str], dict[str, str] | None]] = {
        name: (args, None) for name, (args, _) in BAD_INPUTS.items()
    }
    jobs["full_error"] = (["train", "model=mlpp", *TINY], cli_env(HYDRA_FULL_ERROR="1"))
    jobs["nan"] = (NAN_RUN, None)
    return run_cli_many(jobs, tmp_path_factory.mktemp("cli"))


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    results: dict[str, CliResult], name: str
) -> None:
    res = results[name]
    assert res.rc == 2, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr and "error" in lines[0]
    for word in BAD_INPUTS[name][1]:
        assert word in lines[0]


def test_an_unknown_option_lists_only_what_a_user_can_type(
    results: dict[str, CliResult],
) -> None:
    line = results["misspelled_option"].stderr
    assert "base_" not in line  # hpt's internal schemas (base_table, ...) are no options
    assert "search path" not in line and "provider=" not in line


def test_a_refused_train_leaves_no_run_dir(results: dict[str, CliResult]) -> None:
    # Found before the run dir exists (a value out of range) or after, while building the
    # data or the loss (a wrong column, a loss for another task): either way none is left.
    for name, (args, _) in BAD_INPUTS.items():
        if args[0] == "train":
            assert not results[name].run_dir.exists(), name


def test_a_value_out_of_range_is_refused_before_the_run_dir_exists(
    results: dict[str, CliResult],
) -> None:
    assert not results["negative_lr"].run_dir.exists()


def test_hydra_full_error_shows_the_traceback(results: dict[str, CliResult]) -> None:
    res = results["full_error"]
    assert res.rc != 0
    assert "Traceback (most recent call last)" in res.stderr
    assert "model/mlpp" in res.stderr


def test_non_finite_loss_fails_the_run_with_error_kind_nan(results: dict[str, CliResult]) -> None:
    res = results["nan"]
    assert res.rc not in (0, 2), res.stderr
    assert "nan" in res.stderr and "Traceback" not in res.stderr
    result = read_json(res.run_dir / "result.json")
    assert result is not None
    assert result["status"] == "FAIL" and result["error_kind"] == "nan"
    assert "non-finite" in result["error"]
    assert result["objective"]["value"] is None
    assert result["epochs"] == 1  # stopped at the first bad epoch, not after all 3


def test_failed_run_dir_still_holds_config_and_manifest(results: dict[str, CliResult]) -> None:
    run_dir: Path = results["nan"].run_dir
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / "manifest.json").is_file()
    assert (run_dir / "metrics.jsonl").is_file()
