"""Shared-database studies on a real PostgreSQL server (``tests/helpers/pgserver.py``).

Several ``hpt sweep`` processes, each standing in for a host, join one study through a
``postgresql://`` storage URL that carries a password, and split its ``n_trials`` budget.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from helpers import pgserver
from helpers.pgserver import PASSWORD, PgServer
from helpers.storage_workers import ask_tell_worker, join_at_once
from optuna.trial import TrialState

from hpt.masking import mask_url
from hpt.rundir import RESULT, read_json
from hpt.storage import open_storage
from hpt.sweep.running import accounting

pytestmark = pytest.mark.postgres
pg_server = pgserver.pg_server  # registers the session fixture in this module
REPO = Path(__file__).resolve().parents[2]
TINY = [
    "search=random",
    "trainer.epochs=1",
    "data=mnist_tiny",
    "data.subset=300",
    "model.width=32",
    "trainer.device=cpu",
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _start_sweep(args: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # noqa: SIM115 (closed when the process is reaped)
    return subprocess.Popen(
        [sys.executable, "-m", "hpt", "sweep", *args],
        cwd=cwd,
        env=_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def _run_hosts(url: str, sweep_dirs: list[Path], n_trials: int, tmp: Path) -> list[str]:
    """One ``hpt sweep`` per entry of ``sweep_dirs``, all at once; returns their outputs."""
    procs, logs = [], []
    for i, d in enumerate(sweep_dirs):
        log = tmp / f"host{i}.log"
        args = [
            *TINY,
            f"hydra.sweeper.n_trials={n_trials}",
            "hydra.sweeper.study_name=shared",
            f"hydra.sweeper.storage={url}",
            f"hydra.sweep.dir={d}",
        ]
        procs.append(_start_sweep(args, tmp, log))
        logs.append(log)
    for p in procs:
        p.wait(timeout=300)
    outputs = [log.read_text(errors="replace") for log in logs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-2000:]
    return outputs


def _trial_dirs(sweep_dirs: list[Path]) -> list[Path]:
    return sorted({t for d in sweep_dirs for t in d.glob("trial_*") if t.is_dir()})


def _assert_budget_split_exactly(url: str, sweep_dirs: list[Path], n_trials: int) -> None:
    study = optuna.load_study(study_name="shared", storage=open_storage(url))
    trials = study.get_trials(deepcopy=False)
    done = accounting.finished(trials)
    assert len(done) == n_trials
    assert accounting.budget_used(trials) == n_trials
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    # hosts that start together must not replay one another's seeded samples
    distinct = {tuple(sorted(t.params.items())) for t in done}
    assert len(distinct) == n_trials, [t.params.get("optimizer.lr") for t in done]
    # one unique run directory per counted trial, each with its result.json
    dirs = _trial_dirs(sweep_dirs)
    names = [t.name for t in dirs]
    assert len(dirs) == n_trials
    assert sorted(t.user_attrs["dir"] for t in done) == sorted(names)
    for d in dirs:
        result = read_json(d / RESULT)
        assert result is not None and result["status"] in ("COMPLETE", "PRUNED", "FAIL"), d
        assert result["trial"]["study_name"] == "shared"
    assert sorted(read_json(d / RESULT)["trial"]["number"] for d in dirs) == sorted(
        t.number for t in done
    )  # type: ignore[index]


def _assert_no_password(sweep_dirs: list[Path], outputs: list[str]) -> None:
    """hpt's own files and output never carry the password (Hydra's .hydra/ files are the user's choice)."""
    for text in outputs:
        assert PASSWORD not in text
    checked = 0
    for d in sweep_dirs:
        for name in ("sweep.json", "search.yaml"):
            if (d / name).exists():
                assert PASSWORD not in (d / name).read_text(), d / name
                checked += 1
        for t in _trial_dirs([d]):
            for name in ("manifest.json", "result.json", "metrics.jsonl", "hpt.log"):
                if (t / name).exists():
                    assert PASSWORD not in (t / name).read_text(), t / name
                    checked += 1
            manifest = read_json(t / "manifest.json")
            assert manifest is not None and any(
                "hydra.sweeper.storage=postgresql://hpt_tester:***@" in a for a in manifest["argv"]
            )
    assert checked > 0


def test_three_hosts_split_one_postgres_study_exactly(pg_server: PgServer, tmp_path: Path) -> None:
    """Three sweeps with their own sweep dirs (three hosts) share one 12-trial study."""
    url = pg_server.new_database()
    dirs = [tmp_path / f"host{i}" for i in range(3)]
    outputs = _run_hosts(url, dirs, 12, tmp_path)
    _assert_budget_split_exactly(url, dirs, 12)
    _assert_no_password(dirs, outputs)
    hosts_that_ran = [d for d in dirs if _trial_dirs([d])]
    assert len(hosts_that_ran) >= 2, "the budget was not shared"
    # each host's sweep.json reports the whole study, not just its own trials: when a host
    # stops, the budget is all spoken for, though trials on other hosts may still be running
    for d in dirs:
        record = json.loads((d / "sweep.json").read_text())
        c = record["counts"]
        assert c["COMPLETE"] + c["PRUNED"] + c["FAIL"] + c["RUNNING"] == 12
        assert record["storage"] == mask_url(url) != url


@pytest.mark.slow
def test_three_workers_in_one_shared_sweep_dir_never_reuse_a_trial_dir(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """Three sweeps writing into the same directory (a shared filesystem) split 12 trials."""
    url = pg_server.new_database()
    d = tmp_path / "shared_dir"
    outputs = _run_hosts(url, [d, d, d], 12, tmp_path)
    _assert_budget_split_exactly(url, [d], 12)
    _assert_no_password([d], outputs)


def test_claim_splits_budget_exactly_between_racing_processes_on_postgres(
    pg_server: PgServer,
) -> None:
    """Four processes ask/claim/tell as fast as they can: exactly n_trials count, none twice."""
    url = pg_server.new_database()
    optuna.create_study(study_name="race", storage=open_storage(url))
    n_trials = 40
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=ask_tell_worker, args=(url, n_trials, queue)) for _ in range(4)]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(kind == "ok" for kind, _ in results), results
    claimed = [n for _, mine in results for n in mine]
    assert len(claimed) == len(set(claimed)) == n_trials
    trials = optuna.load_study(study_name="race", storage=open_storage(url)).get_trials(
        deepcopy=False
    )
    assert accounting.budget_used(trials) == n_trials
    assert sorted(t.number for t in accounting.finished(trials)) == sorted(claimed)
    discarded = [t for t in trials if t.system_attrs.get(accounting.A_DISCARDED)]
    assert all(t.state == TrialState.FAIL for t in discarded)
    assert time.monotonic() - started < 120


def test_workers_starting_together_on_an_empty_database_all_connect(pg_server: PgServer) -> None:
    """Six processes open the storage of a fresh database at the same instant: Optuna's
    schema creation races between them, and every one of them must still get in."""
    url = pg_server.new_database()
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=join_at_once, args=(url, barrier, out)) for _ in range(6)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert results == ["ok"] * 6
    assert [s.study_name for s in optuna.get_all_study_summaries(open_storage(url))] == ["joined"]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://hpt:pw@db:5432/hpt", "postgresql://hpt:***@db:5432/hpt"),
        ("postgresql+psycopg2://u:p%40ss@h/d", "postgresql+psycopg2://u:***@h/d"),
        (
            "mysql+pymysql://root:hunter2@10.0.0.1/optuna",
            "mysql+pymysql://root:***@10.0.0.1/optuna",
        ),
        ("postgresql://u:p@ss:w0rd@host/db", "postgresql://u:***@host/db"),  # an unencoded '@'
        (
            "postgresql://u@host/db?password=hunter2&sslmode=require",
            "postgresql://u@host/db?password=***&sslmode=require",
        ),
        ("postgresql://host/db", "postgresql://host/db"),
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ],
)
def test_mask_url_hides_every_password_form(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_url(f"hydra.sweeper.storage={url}") == f"hydra.sweeper.storage={masked}"


def test_a_wrong_database_password_is_one_masked_line_and_exit_2(
    pg_server: PgServer, tmp_path: Path
) -> None:
    wrong = pg_server.new_database().replace(PASSWORD, "not-the-Pa55word")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpt",
            "sweep",
            *TINY,
            f"hydra.sweeper.storage={wrong}",
            f"hydra.sweep.dir={tmp_path / 's'}",
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "password authentication failed" in proc.stderr
    assert "not-the-Pa55word" not in proc.stderr + proc.stdout
    assert "hpt_tester:***@" in proc.stderr


def test_a_password_on_the_command_line_is_in_no_file_the_sweep_writes(
    pg_server: PgServer, tmp_path: Path
) -> None:
    url = pg_server.new_database()
    assert PASSWORD in url
    sphere = Path(__file__).resolve().parents[1] / "apps" / "sphere" / "sphere.py"
    for cmd in (
        [sys.executable, str(sphere), "-m", "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2"],
        [sys.executable, "-m", "hpt", "sweep", *TINY, "hydra.sweeper.n_trials=1"],
    ):
        proc = subprocess.run(
            [*cmd, f"hydra.sweeper.storage={url}", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
            cwd=tmp_path,
            env={**_env(), "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr
        assert PASSWORD not in proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "hydra.yaml" for p in written)
    leaks = [str(p) for p in written if PASSWORD.encode() in p.read_bytes()]
    assert not leaks
    hydra_yaml = next(p for p in written if p.name == "hydra.yaml").read_text()
    assert "hpt_tester:***@" in hydra_yaml  # masked, not dropped: the record still names the DB
