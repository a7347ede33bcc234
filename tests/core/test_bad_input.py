"""Bad input, tried systematically: random and malformed overrides for ``hpt train``, broken
search expressions for ``hpt sweep --dry_run``, randomly corrupted run directories for
``hpt summarize``, and a checkpoint carrying a pickle payload.

The contract under test: exit code 2 and one readable line on stderr (no traceback), or a
real valid run when the random input happens to be valid, and no file written outside the
run directory. The CLI is called in-process (``hpt.cli.commands.main``), which is what a subprocess
would run, minus three seconds of interpreter start-up per example; a few subprocess cases
check the real command line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from helpers.in_process import Ran, hpt
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from hpt.cli.app import config_dir

REPO = Path(__file__).resolve().parents[2]
CONF = config_dir()
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")
OPTIONS = {g: sorted(p.stem for p in (CONF / g).glob("*.yaml")) for g in GROUPS}
# Every example runs on the bundled tiny data set for one short epoch, should it be valid.
BASE = [
    "data=mnist_tiny",
    "data.subset=200",
    "trainer.epochs=1",
    "trainer.device=cpu",
    "model.width=16",
]
FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def assert_contract(ran: Ran, run_dir: Path, prog: str) -> None:
    """Exit 2 with one readable error line, or exit 0 with a real run; nothing outside ``run_dir``."""
    assert "Traceback" not in ran.stderr + ran.stdout
    outside = [p for p in ran.files if p != run_dir and run_dir not in p.parents]
    assert outside == [], f"written outside the run dir: {outside}"
    if ran.rc == 2:
        lines = ran.stderr.strip().splitlines()
        assert len(lines) == 1, ran.stderr
        assert lines[0].startswith(f"{prog}: error: ") and len(lines[0]) > len(prog) + 12
        assert (
            not (run_dir / "result.json").exists()
            or json.loads((run_dir / "result.json").read_text())["status"] == "FAIL"
        )
    else:
        assert ran.rc == 0, (ran.rc, ran.stderr)
        result = json.loads((run_dir / "result.json").read_text())
        assert result["status"] == "COMPLETE" and result["epochs"] >= 1


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hpt-bad-") as d:
        yield Path(d).resolve()


def train_contract(override: str) -> None:
    assume(not override.startswith("-"))  # flags are argparse's; tested below
    assume(not override.lstrip("+~").startswith("hydra"))  # hydra.run.dir=... may move the run dir
    with scratch() as cwd:
        run_dir = cwd / "run"
        ran = hpt("train", *BASE, override, f"hydra.run.dir={run_dir}", cwd=cwd)
        assert_contract(ran, run_dir, "hpt train")


# -- generators: almost always invalid, by construction --------------------------------
ident = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
unknown = ident.map(lambda s: "zz" + s)  # no config key or option starts with zz
word = st.text(string.ascii_letters + "_", min_size=1, max_size=8).map(lambda s: "x" + s)
brackets = st.sampled_from(
    [
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        "'",
        '"',
        "${",
        "\\",
        ",",
        ":",
        "=",
        "[1,",
        "{a:",
        "${trainer.",
        "choice(",
        "interval(1,",
    ]
)
garbage = st.text(string.printable.strip() + " ", min_size=1, max_size=30)


@st.composite
def bad_override(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(
            [
                "unknown_group",
                "unknown_option",
                "unknown_key",
                "typed",
                "brackets",
                "garbage",
                "append",
            ]
        )
    )
    group = draw(st.sampled_from(GROUPS))
    if kind == "unknown_group":
        return f"{draw(unknown)}={draw(word)}"
    if kind == "unknown_option":
        return f"{group}={draw(unknown)}"
    if kind == "unknown_key":
        return f"{group}.{draw(unknown)}={draw(st.one_of(word, st.integers().map(str)))}"
    if kind == "typed":  # a non-number for a typed number, a non-member for an enum
        key = draw(
            st.sampled_from(
                [
                    "trainer.epochs",
                    "trainer.batch_size",
                    "trainer.seed",
                    "trainer.val_split",
                    "data.subset",
                    "regularization.dropout",
                    "trainer.precision",
                    "data.problem",
                ]
            )
        )
        return f"{key}={draw(word)}"
    if kind == "brackets":
        key = draw(
            st.sampled_from(
                ["trainer.epochs", "optimizer.lr", "model.width", f"{group}", draw(unknown)]
            )
        )
        parts = draw(
            st.lists(st.one_of(brackets, word, st.integers(0, 9).map(str)), min_size=1, max_size=5)
        )
        text = "".join(parts)
        return f"{key}={text}"
    if kind == "append":  # '+' on a key that exists is an error
        return f"+trainer.{draw(st.sampled_from(['epochs', 'seed', 'batch_size']))}={draw(st.integers(1, 3))}"
    return draw(garbage)


@FAST
@given(bad_override())
@example("optimizer=zzz")
@example("trainer.epochs=[1,")
@example("nosuchgroup=x")
@example("trainer.precision=fp8")
@example("model.width=${nope}")
@example("optimizer.lr=-1")
def test_hpt_train_answers_any_bad_override_with_one_line_and_exit_2(override: str) -> None:
    train_contract(override)


# -- sweep search expressions ----------------------------------------------------------
number = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(-10, 10, allow_nan=False).map(lambda f: f"{f:g}"),
    st.sampled_from(["1e-4", "0", "-0.0", "inf", "nan"]),
)


@st.composite
def search_expr(draw: st.DrawFn) -> str:
    a, b, c = draw(number), draw(number), draw(number)
    kind = draw(st.integers(0, 9))
    tag = draw(st.sampled_from(["log", "int", "bogus", "log, int", ""]))
    forms = [
        f"interval({a}, {b})",
        f"tag({tag}, interval({a}, {b}))",
        f"range({a}, {b}, {c})",
        f"range({a}, {b})",
        f"choice({', '.join(draw(st.lists(st.one_of(word, number), max_size=3)))})",
        f"tag({tag}, range({a}, {b}))",
        f"interval({a}",
        f"choice({a}, {b}",
        f"{draw(st.sampled_from(['interval', 'choice', 'range', 'tag', 'glob', draw(word)]))}({draw(garbage)}",
        draw(garbage),
    ]
    return forms[kind]


@settings(FAST, max_examples=25)
@given(search_expr())
@example("interval(1, 0)")
@example("tag(log, interval(0, 1))")
@example("tag(bogus, interval(0.1, 1))")
@example("choice()")
@example("range(5, 1)")
@example("range(0, 10, 0)")
@example("interval(0.1,")
def test_hpt_sweep_dry_run_answers_any_bad_search_expression_with_one_line_and_exit_2(
    expr: str,
) -> None:
    with scratch() as cwd:
        sweep_dir = cwd / "sweep"
        ran = hpt(
            "sweep",
            *BASE,
            "hydra.sweeper.dry_run=true",
            "hydra.sweeper.n_trials=3",
            f"optimizer.lr={expr}",
            f"hydra.sweep.dir={sweep_dir}",
            cwd=cwd,
        )
        assert "Traceback" not in ran.stderr + ran.stdout
        assert ran.files == [], f"a dry run wrote {ran.files}"
        if ran.rc == 0:  # a valid expression: the dry run shows the space
            assert "search space:" in ran.stdout and "optimizer.lr" in ran.stdout
        else:
            assert ran.rc == 2, (ran.rc, ran.stderr)
            lines = ran.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("hpt sweep: error: "), ran.stderr


# -- the real command line -------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "hpt", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


REAL_CLI_CASES = {
    "unknown-option": ["train", "optimizer=zzz"],
    "broken-bracket": ["train", "trainer.epochs=[1,"],
    "empty-interval": ["sweep", "hydra.sweeper.dry_run=true", "optimizer.lr=interval(1, 0)"],
}


def test_bad_input_on_the_real_command_line_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The same contract through ``python -m hpt`` (three cases, run side by side)."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    procs = {}
    for name, args in REAL_CLI_CASES.items():
        cwd = tmp_path / name
        cwd.mkdir()
        procs[name] = (
            cwd,
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hpt",
                    *args,
                    "data=mnist_tiny",
                    f"hydra.run.dir={cwd / 'run'}",
                    f"hydra.sweep.dir={cwd / 'sweep'}",
                ],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    for name, (cwd, proc) in procs.items():
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, stderr)
        assert "Traceback" not in stderr
        assert len(stderr.strip().splitlines()) == 1, (name, stderr)
        assert list(cwd.iterdir()) == [], name


def test_an_unknown_flag_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ran = hpt("train", "--no-such-flag", cwd=tmp_path)
    assert ran.rc == 2
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr


# -- hpt summarize over corrupted run directories --------------------------------------
@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 3-trial sweep (journal, .hydra, checkpoints, one failed trial) to corrupt."""
    pytest.importorskip("hpt.summarize.cli", reason="hpt.summarize is not there yet")
    base = tmp_path_factory.mktemp("real_sweep")
    sweep = base / "sweep"
    proc = _cli(
        "sweep",
        *BASE,
        "hydra/sweeper/sampler=grid",
        "optimizer.lr=choice(0.01, 1e30, 0.001)",
        "hydra.sweeper.n_trials=3",
        f"hydra.sweep.dir={sweep}",
        cwd=base,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list(sweep.glob("trial_*"))) == 3
    return sweep


def _corrupt(path: Path, how: str, rng: random.Random) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: rng.randrange(len(data) + 1)])
    elif how == "garbage":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
    elif how == "delete":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "directory":
        path.unlink()
        path.mkdir()
    elif how == "wrong_json":
        path.write_text(
            json.dumps(
                rng.choice(
                    [
                        [],
                        [1, 2],
                        "text",
                        3.5,
                        None,
                        {"status": 7, "objective": "x", "params": [1], "best": "no", "trial": "1"},
                        {"status": "COMPLETE", "objective": {"value": "NaN"}, "epochs": -1},
                    ]
                )
            )
        )
    elif how == "flip":
        i = rng.randrange(max(1, len(data)))
        path.write_bytes(data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    corruptions=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(
                ["truncate", "garbage", "delete", "empty", "directory", "wrong_json", "flip"]
            ),
        ),
        min_size=1,
        max_size=5,
    ),
    extra=st.sampled_from(
        [
            [],
            ["--format", "json"],
            ["--format", "csv"],
            ["--where", "status=COMPLETE"],
            ["--group-by", "optimizer.lr"],
            ["--no-study"],
        ]
    ),
    seed=st.integers(0, 2**16),
)
def test_hpt_summarize_never_crashes_on_corrupted_run_dirs(
    real_sweep: Path, corruptions: list[tuple[int, str]], extra: list[str], seed: int
) -> None:
    from hpt.summarize import cli as summarize_cli

    rng = random.Random(seed)
    with scratch() as tmp:
        sweep = tmp / "sweep"
        shutil.copytree(real_sweep, sweep)
        files = sorted(p for p in sweep.rglob("*") if p.is_file())
        for index, how in corruptions:
            target = files[index % len(files)]
            if target.is_file():
                _corrupt(target, how, rng)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = summarize_cli.main([str(sweep), "--no-color", *extra])
        assert rc in (0, 1), (rc, err.getvalue())
        assert "Traceback" not in err.getvalue()
        if rc == 1:  # nothing readable: said in one line
            assert err.getvalue().strip()


# -- safe artefacts ----------------------------------------------------------------------
class _Payload:
    """Pickles to ``Path(marker).touch()``: what a malicious checkpoint would run on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_load_checkpoint_refuses_a_pickle_payload_and_runs_none_of_it(tmp_path: Path) -> None:
    import io

    from hpt.errors import DamagedFileError
    from hpt.record import load_checkpoint
    from hpt.use.sealed import sealed

    marker = tmp_path / "pwned"
    evil = tmp_path / "best.pt"
    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(2), "extra": _Payload(marker)}, buf)
    evil.write_bytes(sealed(buf.getvalue()))  # a valid checksum: weights_only is what refuses it
    with pytest.raises(DamagedFileError) as refused:
        load_checkpoint(evil)
    assert "weights_only" not in str(refused.value)  # never torch's advice to unpickle it
    assert not marker.exists()
    # the payload is live: plain unpickling (what an unsafe load does with it) runs it
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_load_checkpoint_reads_a_plain_state_dict(tmp_path: Path) -> None:
    from hpt.record import load_checkpoint, save_checkpoint

    path = tmp_path / "best.pt"
    save_checkpoint(path, {"w": torch.arange(3.0)})
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(3.0))
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(3.0))  # plain torch


def test_every_torch_load_in_hpt_uses_weights_only() -> None:
    calls = []
    for path in (REPO / "hpt").rglob("*.py"):
        for m in re.finditer(r"torch\.load\(([^)]*)\)", path.read_text()):
            calls.append((path.name, m.group(1)))
    assert calls, "no torch.load found: the checkpoint loader moved?"
    assert [c for c in calls if "weights_only=True" not in c[1]] == []


# -- every case of issue 13, each one line and exit code 2 ---------------------------------
ISSUE_CASES: dict[str, tuple[list[str], str]] = {  # name -> (arguments, text the line names)
    "data_on_device": (["trainer.data_on_device=maybe"], "trainer.data_on_device=maybe"),
    "channels_last": (["trainer.channels_last=banana"], "trainer.channels_last=banana"),
    "deterministic": (["trainer.deterministic=2"], "trainer.deterministic=2"),
    "width": (["model.width=0"], "model.width=0"),
    "depth": (["model.depth=-1"], "model.depth=-1"),
    "dropout": (["regularization.dropout=-0.1"], "regularization.dropout=-0.1"),
    "label_smoothing": (["regularization.label_smoothing=-1"], "label_smoothing=-1"),
    "label_smoothing_2": (["regularization.label_smoothing=2"], "label_smoothing=2"),
    "l1": (["regularization.l1=-1"], "regularization.l1=-1"),
    "grad_clip": (["regularization.grad_clip_norm=-1"], "grad_clip_norm=-1"),
    "grad_clip_0": (["regularization.grad_clip_norm=0"], "grad_clip_norm=0"),
    "translate": (["regularization.augment.translate=-3"], "augment.translate=-3"),
    "translate_100": (["regularization.augment.translate=100"], "augment.translate=100"),
    "noise_std": (["regularization.augment.noise_std=-1"], "augment.noise_std=-1"),
    "patience": (["regularization.early_stopping.patience=-1"], "early_stopping.patience=-1"),
    "min_delta": (["regularization.early_stopping.min_delta=nan"], "min_delta=nan"),
    "gamma": (["scheduler=step", "scheduler.gamma=-1"], "scheduler.gamma=-1"),
    "step_size": (["scheduler=step", "scheduler.step_size=0"], "scheduler.step_size=0"),
    "milestones": (["scheduler=multistep", "scheduler.milestones=abc"], "scheduler.milestones=abc"),
    "plateau": (["scheduler=plateau", "scheduler.patience=-1"], "scheduler.patience=-1"),
    "eta_min": (["scheduler=cosine", "scheduler.eta_min=-1"], "scheduler.eta_min=-1"),
    "warmup": (["scheduler=warmup_cosine", "scheduler.warmup_fraction=5"], "warmup_fraction=5"),
    "betas": (["optimizer.betas=[0.9]"], "optimizer.betas=[0.9]"),
    "lr_inf": (["optimizer.lr=inf"], "optimizer.lr=inf"),
    "seed": (["trainer.seed=99999999999999999999999"], "trainer.seed=99999999999999999999999"),
    "num_classes": (["data.num_classes=0"], "data.num_classes=0"),
    "num_workers": (["trainer.num_workers=-1"], "trainer.num_workers=-1"),
    "n_samples": (["data=binary", "data.n_samples=0"], "data.n_samples=0"),
    "n_samples_regression": (["data=regression", "data.n_samples=-5"], "data.n_samples=-5"),
    "schema_option": (["data=base_data"], "data=base_data"),
    "misspelled_key": (["trainer.epoch=3"], "did you mean trainer.epochs?"),
    "appended_misspelled_key": (["+trainer.epoch=3"], "did you mean trainer.epochs?"),
    "run_dir_empty": (["hydra.run.dir="], "hydra.run.dir"),
    "run_dir_is_a_file": (["hydra.run.dir={file}"], "existing file"),
    "run_dir_under_a_file": (["hydra.run.dir={file}/run"], "cannot create"),
    "run_dir_name_too_long": (["hydra.run.dir={cwd}/" + "a" * 300], "cannot create"),
    "lr_find_end_inf": (["lr-find", "lr_find.end=inf"], "lr_find.end=inf"),
    "lr_find_start_abc": (["lr-find", "lr_find.start=abc"], "lr_find.start=abc"),
}


@pytest.mark.parametrize("name", sorted(ISSUE_CASES))
def test_each_bad_input_of_the_issue_is_one_line_and_exit_2(name: str) -> None:
    args, named = ISSUE_CASES[name]
    with scratch() as cwd:
        (cwd / "file").write_text("x")
        command = "lr-find" if args[0] == "lr-find" else "train"
        rest = [a.format(file=cwd / "file", cwd=cwd) for a in args if a != "lr-find"]
        if not any(a.startswith("hydra.run.dir=") for a in rest):
            rest.append(f"hydra.run.dir={cwd / 'run'}")
        ran = hpt(command, "data=mnist_tiny", *rest, cwd=cwd)
        assert ran.rc == 2, ran.stderr
        lines = ran.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"hpt {command}: error: "), ran.stderr
        assert named in lines[0]
        assert [p.name for p in ran.files] == ["file"], "a refused run wrote files"
