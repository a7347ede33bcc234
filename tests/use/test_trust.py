"""A run directory is data, not code (``hpt.use.trust``): loading one (``hpt predict``, ``eval``,
``export``, ``hpt.api.load``) imports nothing from it or from the project folder it recorded,
and calls no ``_target_`` but a ``torch.nn.Module`` class or hpt's own options' targets,
checked before the call; ``--trust-code`` / ``trust_code=True`` lifts both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.tiny_run import edit_best_json, hpt_in_process, train_tiny_run

from hpt.api import load
from hpt.errors import UserError

# A module that, once imported, leaves a marker: the proof it ran.
EVIL = """
from pathlib import Path
Path({marker!r}).write_text("imported")
from hpt.models import MLP as Net
"""


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's folders leave ``sys.path`` (where hpt adds the current folder) as it was."""
    import sys

    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return train_tiny_run(tmp_path_factory.mktemp("tiny"))


def _copy(tiny: dict[str, Path], where: Path) -> Path:
    shutil.copytree(tiny["run"], where)
    return where


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_module_shipped_inside_the_run_dir_is_never_imported(
    tiny: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _copy(tiny, tmp_path / "shared" / "run")
    marker = tmp_path / "marker"
    (run / "evilmod.py").write_text(EVIL.format(marker=str(marker)))
    model = {"_target_": "evilmod.Net", "width": 8}
    edit_best_json(run, model=model, cwd=str(run))  # "trained" in the run dir itself
    out = tmp_path / "p.csv"
    monkeypatch.chdir(tmp_path)
    commands = (["predict", run, tiny["new"], "-o", out], ["eval", run], ["export", run, "-o", out])
    for command in commands:
        code, _, err = hpt_in_process(capsys, *command)
        assert code == 2 and "--trust-code" in _one_line(err), err
    with pytest.raises(UserError, match="trust"):
        load(run)
    # from inside the run dir, where the current folder holds the module
    monkeypatch.chdir(run)
    code, _, err = hpt_in_process(capsys, "predict", ".", tiny["new"], "-o", out)
    assert code == 2 and "imports no code from a run directory" in _one_line(err)
    # a sweep's trial: from the sweep dir, a module beside its sweep.json
    (run.parent / "sweep.json").write_text("{}")
    (run.parent / "sweepmod.py").write_text(EVIL.format(marker=str(marker)))
    edit_best_json(run, model={**model, "_target_": "sweepmod.Net"}, cwd=str(run.parent))
    monkeypatch.chdir(run.parent)
    code, _, err = hpt_in_process(capsys, "predict", run, tiny["new"], "-o", out)
    assert code == 2 and "sweepmod.py: hpt imports no code" in _one_line(err)
    # from above it, the run dir as a namespace package: shared.run.evilmod
    monkeypatch.chdir(tmp_path)
    edit_best_json(run, model={**model, "_target_": "shared.run.evilmod.Net"})
    code, _, err = hpt_in_process(capsys, "predict", run, tiny["new"], "-o", out)
    assert code == 2 and "imports no code from a run directory" in _one_line(err)
    assert not marker.exists() and not out.exists()


def test_a_target_that_is_not_a_model_class_is_refused_before_it_is_called(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(tiny, tmp_path / "run")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    opener = {"_target_": "builtins.open", "file": str(victim), "mode": "w"}
    nested = {"_target_": "hpt.models.MLP", "width": 8, "dropout": opener}
    for model in (opener, nested):
        edit_best_json(run, model=model)
        code, _, err = hpt_in_process(capsys, "predict", run, tiny["new"], "-o", tmp_path / "p.csv")
        line = _one_line(err)
        assert code == 2 and "builtins.open" in line and "not a torch.nn.Module class" in line
        assert "--trust-code" in line
        with pytest.raises(UserError, match=r"not a torch\.nn\.Module class"):
            load(run)
    assert victim.read_text() == "precious"


def test_eval_calls_no_data_source_or_loss_but_hpt_s_and_model_classes(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(tiny, tmp_path / "run")
    marker = tmp_path / "marker"
    spec = json.loads((run / "checkpoints" / "best.json").read_text())
    shell = {"_target_": "os.system", "command": f"touch {marker}"}
    for key in ("data", "loss"):
        config = {**spec["config"], key: shell}
        edit_best_json(run, config=config)
        code, _, err = hpt_in_process(capsys, "eval", run)
        line = _one_line(err)
        assert code == 2 and f"{key}._target_=os.system" in line and "--trust-code" in line
    assert not marker.exists()
    edit_best_json(run, config=spec["config"])
    code, out, err = hpt_in_process(capsys, "eval", run)  # hpt's own source and loss: as ever
    assert code == 0 and "test/acc" in out, err


def test_a_model_in_the_recorded_project_folder_needs_trust_code_unless_run_from_there(
    tiny: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _copy(tiny, tmp_path / "run")
    project = tmp_path / "project"
    project.mkdir()
    (project / "trustmodels.py").write_text(
        "from hpt.models import MLP\n\nclass Net(MLP):\n    pass\n"
    )
    edit_best_json(run, model={"_target_": "trustmodels.Net", "width": 8}, cwd=str(project))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "p.csv"
    code, _, err = hpt_in_process(capsys, "predict", run, tiny["new"], "-o", out)
    line = _one_line(err)
    assert code == 2 and str(project) in line and "--trust-code" in line and not out.exists()
    code, _, err = hpt_in_process(capsys, "predict", run, tiny["new"], "-o", out, "--trust-code")
    assert code == 0 and out.is_file(), err
    assert load(run, trust_code=True).module.__class__.__name__ == "Net"


def test_the_users_own_model_class_loads_from_the_users_own_folder(
    tiny: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _copy(tiny, tmp_path / "run")
    project = tmp_path / "project"
    project.mkdir()
    (project / "ownmodels.py").write_text(
        "from hpt.models import MLP\n\nclass Net(MLP):\n    pass\n"
    )
    edit_best_json(run, model={"_target_": "ownmodels.Net", "width": 8}, cwd=str(project))
    monkeypatch.chdir(project)  # the user in their own project: its modules are theirs
    out = tmp_path / "p.csv"
    code, _, err = hpt_in_process(capsys, "predict", run, tiny["new"], "-o", out)
    assert code == 0 and out.is_file(), err
