"""Using a tuned run: its run dir holds everything (preprocessing.json, checkpoints/best.json),
``hpt predict``, ``hpt eval``, ``hpt export`` and ``hpt.api.load``.

Real data: scikit-learn's wine table with a string target (the cultivar's name), trained once
per module on all but 28 held-back rows, which are then predicted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hpt.api import train
from hpt.use.preprocessing import Trained

CULTIVARS = np.array(["barolo", "grignolino", "barbera"])
HELD_BACK = 28
WINE_TRAIN = [
    "data=table",
    "data.target=cultivar",
    "trainer.device=cpu",
    "trainer.epochs=30",
    "trainer.batch_size=32",
]


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """wine.csv (150 rows to train on), new.csv (28 held-back rows, with their labels) and
    the trained run dir."""
    from sklearn.datasets import load_wine

    folder = tmp_path_factory.mktemp("wine")
    frame = load_wine(as_frame=True).frame
    frame["strength"] = np.select(
        [frame["alcohol"] < 12.5, frame["alcohol"] < 13.5], ["light", "medium"], "strong"
    )
    frame["cultivar"] = CULTIVARS[frame.pop("target").to_numpy()]
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame.iloc[HELD_BACK:].to_csv(folder / "wine.csv", index=False)
    frame.iloc[:HELD_BACK].to_csv(folder / "new.csv", index=False)
    run = folder / "run"
    result = train([*WINE_TRAIN, f"data.path={folder / 'wine.csv'}"], run_dir=run)
    assert result["status"] == "COMPLETE"
    return {"dir": folder, "run": run, "new": folder / "new.csv"}


def test_the_run_dir_holds_the_fitted_preprocessing_and_the_model_config(
    wine: dict[str, Path],
) -> None:
    prep = json.loads((wine["run"] / "preprocessing.json").read_text())
    assert prep["problem"] == "classification"
    assert prep["classes"] == ["barbera", "barolo", "grignolino"]
    features = {f["name"]: f for f in prep["input"]["features"]}
    assert features["strength"] == {
        "name": "strength",
        "kind": "categorical",
        "levels": ["light", "medium", "strong"],
    }
    assert features["alcohol"]["kind"] == "numeric" and "fill" in features["alcohol"]
    assert prep["input"]["columns"][-3:] == ["strength=light", "strength=medium", "strength=strong"]
    assert len(prep["normalise"]["mean"]) == len(prep["input"]["columns"]) == 16
    spec = json.loads((wine["run"] / "checkpoints" / "best.json").read_text())
    assert spec["model"]["_target_"] == "hpt.models.MLP"
    assert (spec["in_shape"], spec["out_features"]) == ([16], 3)


def test_the_model_rebuilt_from_the_run_dir_alone_scores_the_held_back_rows(
    wine: dict[str, Path],
) -> None:
    trained = Trained(wine["run"])
    new = pd.read_csv(wine["new"])
    with torch.no_grad():
        out = trained.model()(trained.table_inputs(new, "new.csv"))
    predicted = trained.predictions(out)["prediction"]
    accuracy = float(np.mean(np.array(predicted) == new["cultivar"].to_numpy()))
    assert accuracy >= 0.85, accuracy


def hpt(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """``hpt ARGS`` in this process: exit code, stdout, stderr."""
    from hpt.cli.commands import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_writes_labels_and_probabilities_for_new_rows(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = pd.read_csv(wine["new"]).drop(columns=["cultivar"])  # no target: it is optional
    new["note"] = "extra"  # extra columns are passed through
    new.to_csv(tmp_path / "rows.csv", index=False)
    code, out, err = hpt(
        capsys, "predict", wine["run"], tmp_path / "rows.csv", "-o", tmp_path / "p.csv"
    )
    assert (code, err) == (0, "") and "28 predictions" in out
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred["row"]) == list(range(HELD_BACK)) and set(pred["note"]) == {"extra"}
    probs = pred[["p_barbera", "p_barolo", "p_grignolino"]]
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert list(pred["prediction"]) == list(probs.idxmax(axis=1).str[2:])
    truth = pd.read_csv(wine["new"])["cultivar"]
    assert (pred["prediction"] == truth).mean() >= 0.85


def test_predict_refuses_bad_input_with_one_line(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    new = pd.read_csv(wine["new"])
    new.assign(strength="sparkling").to_csv(tmp_path / "unknown.csv", index=False)
    new.drop(columns=["alcohol", "hue"]).to_csv(tmp_path / "missing.csv", index=False)
    bare = tmp_path / "bare"
    shutil.copytree(wine["run"], bare)
    (bare / "preprocessing.json").unlink()
    failed = tmp_path / "failed"
    shutil.copytree(wine["run"], failed)
    result = json.loads((failed / "result.json").read_text())
    result.update(status="FAIL", error="CUDA out of memory", error_kind="oom")
    (failed / "result.json").write_text(json.dumps(result))
    cases = {
        "unknown.csv": (
            wine["run"],
            "column strength has categories not seen in training: sparkling",
        ),
        "missing.csv": (wine["run"], "lacks the column(s) the model needs: alcohol, hue"),
        "nope.csv": (wine["run"], "no such file"),
        "bare": (bare, "has no preprocessing.json"),
        "failed": (failed, "the run failed (oom): CUDA out of memory"),
    }
    for name, (run, message) in cases.items():
        source = wine["new"] if name in ("bare", "failed") else tmp_path / name
        code, _, err = hpt(capsys, "predict", run, source, "-o", tmp_path / "p.csv")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (name, err)
    assert not (tmp_path / "p.csv").exists()


def test_regression_predictions_are_in_the_targets_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Diabetes with the defaults: R² >= 0.3 on rows the run never saw, predicted by hpt predict."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.sample(frac=1.0, random_state=1)
    frame.iloc[60:].to_csv(tmp_path / "train.csv", index=False)
    held = frame.iloc[:60]
    held.to_csv(tmp_path / "held.csv", index=False)
    overrides = ["data=table", f"data.path={tmp_path / 'train.csv'}", "data.target=target"]
    assert (
        train([*overrides, "trainer.device=cpu"], run_dir=tmp_path / "run")["status"] == "COMPLETE"
    )
    code, _, err = hpt(
        capsys, "predict", tmp_path / "run", tmp_path / "held.csv", "-o", tmp_path / "p.parquet"
    )
    assert code == 0, err
    code, _, err = hpt(capsys, "eval", tmp_path / "run", "--json", tmp_path / "m.json")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert json.loads((tmp_path / "m.json").read_text())["metrics"] == result["test"]
    pred = pd.read_parquet(tmp_path / "p.parquet")["prediction"].to_numpy()
    y = held["target"].to_numpy()
    r2 = 1 - ((pred - y) ** 2).mean() / ((y - y.mean()) ** 2).mean()
    assert r2 >= 0.3, r2


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_predict_on_a_folder_of_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import sk_data

    root = sk_data.write_digits(tmp_path / "digits", limit=400)
    overrides = [
        "data=image_folder",
        f"data.root={root}",
        "data.size=8",
        "trainer.device=cpu",
        "trainer.epochs=8",
        "trainer.batch_size=32",
    ]
    assert train(overrides, run_dir=tmp_path / "run")["status"] == "COMPLETE"
    code, _, err = hpt(capsys, "predict", tmp_path / "run", root / "test", "-o", tmp_path / "p.csv")
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "p.csv")
    assert len(pred) == 80 and [f"p_{d}" for d in range(10)] == list(pred.columns[2:])
    truth = pred["path"].map(lambda p: int(Path(p).parent.name))
    accuracy = (pred["prediction"] == truth).mean()
    assert accuracy >= 0.7
    code, out, err = hpt(capsys, "eval", tmp_path / "run", f"data.root={root}")
    assert code == 0 and f"eval/acc = {accuracy:.6g}" in out, err
    # exported: a uint8 batch of the PNGs' pixels in, the same probabilities out
    from PIL import Image

    assert hpt(capsys, "export", tmp_path / "run", "-o", tmp_path / "digits.pt")[0] == 0
    pixels = np.stack([np.asarray(Image.open(p)) for p in pred["path"]])[:, None]
    exported = torch.jit.load(tmp_path / "digits.pt")
    probs = exported(torch.from_numpy(pixels)).detach().numpy()
    np.testing.assert_allclose(probs, pred[[f"p_{d}" for d in range(10)]].to_numpy(), atol=1e-6)
    # hpt.api takes the same uint8 batch; one of another size is refused in one line
    from hpt.api import load
    from hpt.errors import UserError

    model = load(tmp_path / "run")
    from_api = model.predict(torch.from_numpy(pixels))
    assert list(from_api["prediction"]) == list(pred["prediction"].astype(str))
    with pytest.raises(
        UserError, match=r"shape \[1, 16, 16\] per row, but the model takes \[1, 8, 8\]"
    ):
        model.predict(torch.zeros(3, 1, 16, 16, dtype=torch.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    code, _, err = hpt(
        capsys, "predict", tmp_path / "run", tmp_path / "broken.png", "-o", tmp_path / "q.csv"
    )
    assert code == 2 and "cannot read image" in err and "broken.png" in err


def test_eval_reproduces_the_test_metrics_of_result_json_exactly(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = hpt(capsys, "eval", wine["run"], "--json", tmp_path / "m.json")
    assert (code, err) == (0, "")
    report = json.loads((tmp_path / "m.json").read_text())
    result = json.loads((wine["run"] / "result.json").read_text())
    assert report["metrics"] == result["test"] and report["n"] == round(150 * 0.2)
    assert f"test/acc = {result['test']['test/acc']:.6g}" in out


def test_eval_on_another_labelled_table(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = hpt(
        capsys, "eval", wine["run"], f"data.path={wine['new']}", "trainer.device=cpu"
    )
    assert (code, err) == (0, "") and "28 inputs" in out
    trained, new = Trained(wine["run"]), pd.read_csv(wine["new"])
    with torch.no_grad():
        predicted = trained.predictions(trained.model()(trained.table_inputs(new, "new.csv")))
    accuracy = float(np.mean(np.array(predicted["prediction"]) == new["cultivar"].to_numpy()))
    assert f"eval/acc = {accuracy:.6g}" in out
    code, _, err = hpt(capsys, "eval", wine["run"], "trainer.nope=1")
    assert code == 2 and "trainer.nope is not a setting" in err
    pd.read_csv(wine["new"]).drop(columns=["cultivar"]).to_csv(tmp_path / "unlabelled.csv")
    code, _, err = hpt(capsys, "eval", wine["run"], f"data.path={tmp_path / 'unlabelled.csv'}")
    assert code == 2 and "no target column cultivar" in err


# Runs where hpt cannot be imported: only torch and the exported file and its sidecar.
PLAIN_TORCH = """
import csv, json, sys
sys.modules["hpt"] = None  # `import hpt` now raises ImportError
import torch

model = torch.jit.load(sys.argv[1])
side = json.load(open(sys.argv[2]))
rows = list(csv.DictReader(open(sys.argv[3])))
x = []
for row in rows:
    values = []
    for name in side["inputs"]["columns"]:
        column, _, level = name.partition("=")
        values.append(float(row[column] == level) if level else float(row[column] or "nan"))
    x.append(values)
probs = model(torch.tensor(x))
classes = side["outputs"]["classes"]
json.dump({"prediction": [classes[i] for i in probs.argmax(1).tolist()],
           "probs": probs.tolist()}, sys.stdout)
"""


def test_export_runs_in_plain_torch_with_the_same_predictions_as_hpt_predict(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    new = pd.read_csv(wine["new"])
    new.loc[0, "alcohol"] = np.nan  # a missing number: filled with the training median
    new.to_csv(tmp_path / "rows.csv", index=False)
    code, out, err = hpt(capsys, "export", wine["run"], "-o", tmp_path / "wine.pt")
    assert (code, err) == (0, "") and "wine.json" in out
    side = json.loads((tmp_path / "wine.json").read_text())
    assert side["outputs"]["classes"] == ["barbera", "barolo", "grignolino"]
    assert side["inputs"]["shape"] == ["batch", 16] and side["inputs"]["dtype"] == "float32"
    (tmp_path / "plain.py").write_text(PLAIN_TORCH)
    ran = subprocess.run(
        [sys.executable, "plain.py", "wine.pt", "wine.json", "rows.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    plain = json.loads(ran.stdout)
    code, _, err = hpt(
        capsys, "predict", wine["run"], tmp_path / "rows.csv", "-o", tmp_path / "p.csv"
    )
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "p.csv")
    assert plain["prediction"] == list(pred["prediction"])
    probs = pred[[f"p_{c}" for c in side["outputs"]["classes"]]].to_numpy()
    np.testing.assert_allclose(np.array(plain["probs"]), probs, atol=1e-6)
    code, _, err = hpt(capsys, "export", wine["run"], "-o", tmp_path / "wine.json")
    assert code == 2 and "the sidecar is wine.json" in err


def test_api_load_predicts_like_hpt_predict(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hpt.api import load
    from hpt.errors import UserError

    model = load(wine["run"])
    assert model.problem == "classification" and model.classes[0] == "barbera"
    new = pd.read_csv(wine["new"])
    from_frame = model.predict(new)
    assert hpt(capsys, "predict", wine["run"], wine["new"], "-o", tmp_path / "p.csv")[0] == 0
    from_cli = pd.read_csv(tmp_path / "p.csv")
    assert list(from_frame["prediction"]) == list(from_cli["prediction"])
    pd.testing.assert_frame_equal(model.predict(wine["new"]), from_frame)
    with pytest.raises(UserError, match="no such run directory"):
        load(tmp_path / "nope")


def test_api_train_returns_the_run_dir_with_the_result(tmp_path: Path) -> None:
    from helpers import sk_data

    path = sk_data.shared_dir() / "breast_cancer.csv"
    result = train(
        [
            "data=table",
            f"data.path={path}",
            "data.target=target",
            "trainer.epochs=1",
            "trainer.device=cpu",
        ],
        run_dir=tmp_path / "run",
    )
    assert result.run_dir == tmp_path / "run"
    assert result == json.loads((result.run_dir / "result.json").read_text())
    from hpt.api import load

    assert load(result.run_dir).classes == ["benign", "malignant"]


def test_the_readme_example_runs_as_written(
    wine: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """README "Use your tuned model": every line of its example, on the wine table."""
    import re
    import shlex
    import shutil
    import subprocess
    import sys

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Use your tuned model", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None and len(section.strip().splitlines()) < 15
    shutil.copy(wine["dir"] / "wine.csv", tmp_path / "wine.csv")
    shutil.copy(wine["new"], tmp_path / "new.csv")
    monkeypatch.chdir(tmp_path)
    for line in block.group(1).strip().replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words[0] == "hpt":
            extra = ["trainer.device=cpu"] if words[1] == "train" else []
            code, out, err = hpt(capsys, *words[1:], *extra)
        else:
            assert words[0] == "python"  # this interpreter, where hpt is installed
            ran = subprocess.run(
                [sys.executable, *words[1:]], capture_output=True, text=True, timeout=120
            )
            code, out, err = ran.returncode, ran.stdout, ran.stderr
        assert code == 0, (line, err)
    assert "Name: prediction" in out and "\n27 " in out  # the API line printed 28 predictions
    result = json.loads((tmp_path / "outputs" / "wine" / "result.json").read_text())
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"] == result["test"]
    pred = pd.read_csv(tmp_path / "predictions.csv")
    assert (pred["prediction"] == pred["cultivar"]).mean() >= 0.85
    assert (tmp_path / "wine.pt").is_file() and (tmp_path / "wine.json").is_file()


def test_export_onnx_runs_in_onnx_runtime_like_hpt_predict(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    code, _, err = hpt(
        capsys, "export", wine["run"], "-o", tmp_path / "wine.onnx", "--format", "onnx"
    )
    assert code == 0, err
    side = json.loads((tmp_path / "wine.json").read_text())
    new = pd.read_csv(wine["new"])
    raw = np.array(
        [
            [
                float(row[c.partition("=")[0]] == c.partition("=")[2])
                if "=" in c
                else float(row[c])
                for c in side["inputs"]["columns"]
            ]
            for _, row in new.iterrows()
        ],
        dtype=np.float32,
    )
    probs = ort.InferenceSession(str(tmp_path / "wine.onnx")).run(None, {"x": raw})[0]
    from hpt.api import load

    expected = load(wine["run"]).predict(new)
    np.testing.assert_allclose(
        probs, expected[[f"p_{c}" for c in side["outputs"]["classes"]]], atol=1e-5
    )
