"""task=gan / task=vae (hpt/generative): run directories, sample grids, the scorer cache, a sweep.

Tiny settings throughout (a few hundred mnist_tiny images, narrow MLPs, a scorer trained for a
few dozen steps) so the file runs in well under a minute on a CPU.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import RESULT_KEYS, cli_env, compose_config
from helpers.in_process import hpt

from hpt.data import Split
from hpt.errors import UserError
from hpt.generative import scorer as scoring
from hpt.generative.build import build, params
from hpt.generative.models import ScoreNet
from hpt.generative.scorer import inception_score, load_scorer
from hpt.record import load_checkpoint
from hpt.rundir import read_json, read_jsonl
from hpt.train import run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = [
    "data=mnist_tiny",
    "data.subset=400",
    "trainer.quiet=true",
    "trainer.batch_size=32",
    "trainer.eval_batch_size=256",
]
VAE = ["task=vae", "task.model.width=64", "task.model.latent_dim=8", "task.grid=16", *TINY]
GAN = [
    "task=gan",
    "task.model.arch=mlp",
    "task.model.width=8",
    "task.model.latent_dim=16",
    "task.grid=16",
    "task.score_samples=200",
    *TINY,
]


@pytest.fixture(autouse=True)
def quick_scorer(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A scorer trained for 40 steps, cached in a temporary folder (its key carries the step count)."""
    cache = tmp_path_factory.getbasetemp() / "hpt-cache"
    monkeypatch.setenv("HPT_CACHE_DIR", str(cache))
    monkeypatch.setattr(scoring, "TRAIN_STEPS", 40)
    yield cache / "classifiers"


def train(tmp_path: Path, *overrides: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    outcome = run(compose_config(list(overrides)), tmp_path / "run")
    result = read_json(tmp_path / "run" / "result.json")
    assert result is not None and result["status"] == outcome.status
    return result, read_jsonl(tmp_path / "run" / "metrics.jsonl")


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000, path


def test_vae_run_learns_and_writes_its_run_dir(tmp_path: Path) -> None:
    result, rows = train(tmp_path, *VAE, "trainer.epochs=3")
    assert set(result) >= RESULT_KEYS and result["status"] == "COMPLETE" and result["error"] is None
    assert result["objective"] == {
        "name": "val/loss",
        "value": result["best"]["val/loss"],
        "direction": "minimize",
    }
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert {
            "train/loss",
            "val/loss",
            "val/recon",
            "val/kl",
            "lr",
            "time/epoch_s",
            "throughput/samples_per_s",
        } <= set(r)
        assert r["val/loss"] == pytest.approx(r["val/recon"] + r["val/kl"])
    assert (
        rows[-1]["train/loss"] < rows[0]["train/loss"]
        and rows[-1]["val/loss"] < rows[0]["val/loss"]
    )
    assert set(result["test"]) == {"test/loss", "test/recon", "test/kl"}
    assert result["params"]["task.model.latent_dim"] == 8 and "optimizer.lr" not in result["params"]
    for name in ("epoch_001.png", "epoch_003.png", "epoch_003_recon.png"):
        assert_png(tmp_path / "run" / "samples" / name)
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert any(k.startswith("encoder.") for k in state)
    # predict/eval/export take supervised runs: a generative run says so in one line
    for command in (["export", "-o", str(tmp_path / "m.onnx")], ["eval"]):
        ran = hpt(command[0], str(tmp_path / "run"), *command[1:], cwd=tmp_path)
        lines = ran.stderr.strip().splitlines()
        assert ran.rc == 2 and len(lines) == 1 and "is a task=vae run" in lines[0], ran.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_gan_run_scores_samples_in_range(tmp_path: Path, quick_scorer: Path) -> None:
    result, rows = train(tmp_path, *GAN, "trainer.epochs=2")
    assert result["status"] == "COMPLETE" and result["error_kind"] is None
    assert (
        result["objective"]["name"] == "val/score"
        and result["objective"]["direction"] == "maximize"
    )
    for r in rows:
        assert all(math.isfinite(r[k]) for k in ("train/d_loss", "train/g_loss", "val/d_loss"))
        assert r["train/loss"] == r["train/g_loss"]
        assert (
            1.0 - 1e-6 <= r["val/score"] <= 10.0 + 1e-6
            and 1.0 - 1e-6 <= r["val/diversity"] <= 10.0 + 1e-6
        )
        assert 0.1 <= r["val/confidence"] <= 1.0
    assert result["objective"]["value"] == max(r["val/score"] for r in rows)
    assert 1.0 <= result["test"]["test/score"] <= 10.0
    assert (
        result["scorer"]["real_val_score"] > 2.0
    )  # even a 40-step classifier tells real digits apart
    assert_png(tmp_path / "run" / "samples" / "epoch_002.png")
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert any(k.startswith("generator.") for k in state) and any(
        k.startswith("discriminator.") for k in state
    )
    assert (quick_scorer / f"{result['scorer']['key']}.pt").is_file()


def test_scorer_cache_is_a_weights_only_state_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 1, 28, 28, generator=g), torch.randint(0, 10, (64,), generator=g)
    first = load_scorer(
        "unit",
        ScoreNet((1, 28, 28), 10),
        Split(x, y),
        Split(x, y),
        torch.device("cpu"),
        32,
        tmp_path,
    )
    saved = torch.load(tmp_path / "unit.pt", map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in saved.values())

    scoring._memory.clear()  # a new process: only the disk cache is left, and nothing retrains

    def no_training(*args: Any) -> None:
        raise AssertionError("the cached classifier was retrained")

    monkeypatch.setattr(scoring, "_train", no_training)
    again = load_scorer(
        "unit",
        ScoreNet((1, 28, 28), 10),
        Split(x, y),
        Split(x, y),
        torch.device("cpu"),
        32,
        tmp_path,
    )
    for a, b in zip(first.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)
    assert not any(p.requires_grad for p in again.net.parameters())


def test_inception_score_bounds() -> None:
    one_hot = torch.eye(10).repeat(5, 1)  # confident and covering every class
    assert inception_score(one_hot)["score"] == pytest.approx(10.0, rel=1e-4)
    same = torch.zeros(50, 10)
    same[:, 3] = 1.0  # confident, one class only
    assert inception_score(same)["score"] == pytest.approx(1.0, rel=1e-4)
    uniform = torch.full((50, 10), 0.1)  # no confidence at all
    scores = inception_score(uniform)
    assert scores["score"] == pytest.approx(1.0) and scores["diversity"] == pytest.approx(10.0)


def test_nan_loss_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hpt.generative.vae as vae

    real = vae.elbo_terms

    def poisoned(*args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        recon, kl = real(*args, **kwargs)
        return recon * float("nan"), kl

    monkeypatch.setattr(vae, "elbo_terms", poisoned)
    result, rows = train(tmp_path, *VAE, "trainer.epochs=2")
    assert result["status"] == "FAIL" and result["error_kind"] == "nan" and len(rows) == 1
    assert result["objective"]["value"] is None


def test_config_selects_task_objective_and_checks_it() -> None:
    cfg = compose_config(GAN)
    assert cfg.objective.metric == "val/score" and cfg.objective.direction == "maximize"
    assert compose_config(["task=vae"]).objective.metric == "val/loss"
    assert compose_config([]).task.name == "supervised"
    assert "task.g_lr" in params(cfg) and not any(k.startswith("model.") for k in params(cfg))
    with pytest.raises(UserError, match="not a metric of task=vae"):
        build(compose_config([*VAE, "objective.metric=val/acc"]))
    with pytest.raises(UserError, match="needs image data"):
        build(compose_config(["task=vae", "data=regression"]))
    with pytest.raises(UserError, match=r"bad task\.g_lr"):
        build(compose_config([*GAN, "task.g_lr=-1"]))


def test_vae_sweep_completes(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    args = [
        "search=vae",
        "hydra.sweeper.n_trials=2",
        "data=mnist_tiny",
        "data.subset=200",
        "trainer.epochs=1",
        "trainer.quiet=true",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "hpt", "sweep", *args],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [read_json(d / "result.json") for d in sorted(sweep_dir.glob("trial_*"))]
    assert len(results) == 2
    for r in results:
        assert r is not None and r["status"] == "COMPLETE", r
        assert r["objective"]["name"] == "val/loss" and r["objective"]["direction"] == "minimize"
        assert math.isfinite(r["objective"]["value"]) and "task.lr" in r["params"]
