"""A wheel install (not editable) works from an unrelated directory: configs ship in the wheel.

The wheel is built from a copy of the sources, installed with uv into a fresh virtual
environment that borrows this environment's dependencies through a ``.pth`` file (so torch is
not reinstalled and the test takes seconds), then ``hpt train``, ``hpt sweep`` and
``hpt summarize`` run from a temporary directory that has no ``conf/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from helpers import REPO, cli_env

SOURCES = ("pyproject.toml", "setup.py", "README.md", "conf", "hpt", "hydra_plugins")


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed (make install provides it)")
    return found


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin/`` of a fresh venv holding hpt from a freshly built wheel."""
    uv, base = _uv(), tmp_path_factory.mktemp("wheel")
    src = base / "src"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    env = cli_env()
    # The build backend (setuptools) comes from this environment: no index needed at test time.
    build = [uv, "build", "-q", "--wheel", "--no-build-isolation", "--python", sys.executable]
    _run([*build, "-o", str(base / "dist"), str(src)], base, env)
    (wheel,) = (base / "dist").glob("hpt-*.whl")
    target = base / "venv"
    venv.create(target, with_pip=False)
    py = target / "bin" / "python"
    purelib = subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    # hpt's dependencies resolve from this environment's site-packages (a plain path entry:
    # its .pth files, including the editable hpt's, are not processed).
    (Path(purelib) / "_hpt_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([uv, "pip", "install", "-q", "--no-deps", "--python", str(py), str(wheel)], base, env)
    return target / "bin"


def _env() -> dict[str, str]:
    env = cli_env()
    for key in ("PYTHONPATH", "HPT_CONFIG_DIR", "VIRTUAL_ENV"):
        env.pop(key, None)
    return env


def test_the_wheel_carries_the_configs_and_hpt_runs_from_an_unrelated_directory(
    installed: Path, tmp_path: Path
) -> None:
    env = _env()
    where = _run(
        [str(installed / "python"), "-c", "import hpt, hpt.conf; print(hpt.conf.__file__)"],
        tmp_path,
        env,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.parent), where  # the wheel's copy, not the checkout
    assert (Path(where).parent / "config.yaml").exists()
    assert (Path(where).parent / "model" / "mlp.yaml").exists()
    assert not (tmp_path / "conf").exists()

    hpt = str(installed / "hpt")
    _run([hpt, "train", "data=mnist_tiny", "trainer.epochs=1", "--quiet"], tmp_path, env)
    (run,) = (tmp_path / "outputs" / "runs").iterdir()
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "COMPLETE"
    assert result["objective"]["name"] == "val/acc" and result["objective"]["value"] > 0.2

    sweep = tmp_path / "sweep"
    _run(
        [
            hpt,
            "sweep",
            "search=random",
            "hydra.sweeper.n_trials=2",
            "data=mnist_tiny",
            "data.subset=400",
            "trainer.epochs=1",
            f"hydra.sweep.dir={sweep}",
            "trainer.quiet=true",
        ],
        tmp_path,
        env,
    )
    done = [json.loads(p.read_text())["status"] for p in sweep.glob("trial_*/result.json")]
    assert done == ["COMPLETE", "COMPLETE"]
    report = _run([hpt, "summarize", str(sweep)], tmp_path, env).stdout
    assert "val/acc" in report


def test_the_editable_checkout_and_the_wheel_ship_the_same_config_files(installed: Path) -> None:
    (site,) = installed.parent.glob("lib/python*/site-packages")
    shipped = {
        p.relative_to(site / "hpt" / "conf") for p in (site / "hpt" / "conf").rglob("*.yaml")
    }
    in_repo = {p.relative_to(REPO / "conf") for p in (REPO / "conf").rglob("*.yaml")}
    assert shipped == in_repo and len(in_repo) > 40
    assert os.access(installed / "hpt", os.X_OK)


def _torch_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hpt.torch_check"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_the_torch_check_passes_on_this_matching_pair() -> None:
    proc = _torch_check(_env())
    assert proc.returncode == 0, proc.stderr
    assert "they match" in proc.stdout and proc.stderr == ""


def test_a_torchvision_built_for_another_torch_is_one_line_with_the_fix(tmp_path: Path) -> None:
    # A torchvision whose compiled operators are missing, as when it comes from another index
    # than torch: its first operator raises what the real mismatch raises.
    ops = tmp_path / "torchvision" / "ops"
    ops.mkdir(parents=True)
    (tmp_path / "torchvision" / "__init__.py").write_text("__version__ = '0.0.1'\n")
    (ops / "__init__.py").write_text(
        "def nms(*args):\n    raise RuntimeError('operator torchvision::nms does not exist')\n"
    )
    env = {**_env(), "PYTHONPATH": str(tmp_path)}
    proc = _torch_check(env)
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert "torchvision 0.0.1 do not match (operator torchvision::nms does not exist)" in line
    assert "make install TORCH_BACKEND=cpu" in line


def test_make_install_passes_the_torch_backend_to_uv_and_checks_the_pair() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    cmd = ["make", "-n", "-B", "install", "TORCH_BACKEND=cpu"]
    plan = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60).stdout
    assert "--torch-backend=cpu -e '.[dev]'" in plan
    assert "-m hpt.torch_check" in plan
    default = subprocess.run(cmd[:-1], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "--torch-backend" not in default.stdout  # opt-in: the default index otherwise
    # The README's CPU command: this uv (the one make install uses) knows the option.
    options = _run([_uv(), "pip", "install", "--help"], REPO, _env()).stdout
    assert "--torch-backend" in options and "cpu" in options
