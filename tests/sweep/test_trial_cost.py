"""What issue 33 cut from a trial changes no result: hpt's own trials run without Hydra's
``run_job`` (``hpt.sweep.job``) and without a test pass (``trainer.test=auto``), and the sweep
tests the model it hands over once (``hpt.sweep.testing``)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import CliResult, run_cli, trial_results

from hpt.use.evaluate import evaluate_run

TINY = ["data=mnist_tiny", "data.subset=600", "trainer.epochs=1", "trainer.eval_batch_size=512"]

SEEDED = [
    "hydra/sweeper/sampler=random",
    "hydra.sweeper.sampler.seed=3",
    "trainer.deterministic=true",
]
SPACE = ["optimizer.lr=tag(log, interval(1e-3, 1e-1))", "hydra.sweeper.n_trials=4"]


def sweep(tmp_path: Path, *args: str, sweep_dir: Path | None = None) -> CliResult:
    where = sweep_dir or tmp_path / "sweep"
    return run_cli(["sweep", *TINY, f"hydra.sweep.dir={where}", *args], tmp_path)


results = trial_results


def _trials(sweep_dir: Path) -> dict[int, tuple[dict, float, int]]:
    return {
        n: (
            {k: v for k, v in r["params"].items() if k.startswith("optimizer.")},
            r["best"]["val/loss"],
            r["best"]["epoch"],
        )
        for n, r in results(sweep_dir).items()
    }


def test_the_lean_trial_gives_hydras_run_job_trials_and_one_test_for_the_handed_over_model(
    tmp_path: Path,
) -> None:
    lean, full = tmp_path / "lean", tmp_path / "full"
    r = sweep(tmp_path, *SEEDED, *SPACE, "trainer.epochs=2", sweep_dir=lean)
    assert r.rc == 0, r.stderr[-2000:]
    # hydra.job.chdir=true runs every trial through Hydra's own run_job; trainer.test=true
    # tests every trial as hpt did before
    r2 = sweep(
        tmp_path,
        *SEEDED,
        *SPACE,
        "trainer.epochs=2",
        "hydra.job.chdir=true",
        "trainer.test=true",
        sweep_dir=full,
    )
    assert r2.rc == 0, r2.stderr[-2000:]
    # the same seeds give the same trials, the same values and the same best
    assert _trials(lean) == _trials(full)
    info, info_full = (json.loads((d / "sweep.json").read_text()) for d in (lean, full))
    assert info["best"][0]["number"] == info_full["best"][0]["number"]
    # lean trials: no test pass, no last.pt after their last epoch, the files readers use
    chosen = info["best"][0]["dir"]
    for d in sorted(lean.glob("trial_*")):
        assert "test" not in json.loads((d / "result.json").read_text())
        assert (d / ".hydra" / "config.yaml").is_file() and (
            d / ".hydra" / "overrides.yaml"
        ).is_file()
        assert not (d / ".hydra" / "hydra.yaml").exists()
        assert (d / "test.json").exists() == (d.name == chosen)
    assert (lean / "multirun.yaml").is_file()  # Hydra's settings, once per sweep
    assert (lean / chosen / ".hydra" / "config.yaml").read_text() == (
        full / chosen / ".hydra" / "config.yaml"
    ).read_text().replace("test: true", "test: auto")
    # the handed-over model's one test: what `hpt eval` and an always-testing trial measure
    tested = info["test"]
    assert tested["trial"] == info["best"][0]["number"] and tested["dir"] == chosen
    assert tested["metrics"] == json.loads((lean / chosen / "test.json").read_text())["metrics"]
    assert tested["metrics"] == evaluate_run(lean / chosen)["metrics"]
    full_chosen = json.loads((full / chosen / "result.json").read_text())
    assert tested["metrics"] == full_chosen["test"]
    assert f"test of the chosen model (trial #{tested['trial']})" in r.stdout
    assert info_full["test"]["metrics"] == full_chosen["test"]  # read back, not tested again


def test_a_constraint_on_a_test_metric_makes_every_trial_test(tmp_path: Path) -> None:
    r = sweep(
        tmp_path,
        "search=random",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.constraints={test/acc: '>=0.0'}",
    )
    assert r.rc == 0, r.stderr[-2000:]
    for res in results(tmp_path / "sweep").values():
        assert "test/acc" in res["test"] and res["feasible"] is True
