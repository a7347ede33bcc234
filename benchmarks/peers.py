"""hpt against the tools a user would pick instead: the same MNIST search, side by side.

One invocation runs, for each seed, one search under each tool (round-robin within the seed,
the starting tool rotating with the seed, so that load from other processes hits all alike):

  hpt-1      `hpt sweep`, n_jobs=1                TPE + Hyperband
  hpt-N      `hpt sweep`, n_jobs=all cores        TPE + Hyperband
  optuna     plain Optuna script, torchvision DataLoader + per-sample transforms,
             trial.report/should_prune, as the tuning guides teach (peers/optuna_dataloader.py)
                                                 TPE + Hyperband
  ray        Ray Tune (current release), OptunaSearch + ASHA, trainable as Ray's docs write it
             (peers/ray_tune.py)                  TPE + ASHA
  hydra-optuna  hydra-optuna-sweeper 1.2 with its own pinned Optuna 2.x, in-memory storage,
             a Hydra app with a hand-written tensor loop (peers/hydra_app/)   TPE, no pruning

Same space (optimizer {AdamW, SGD}, log-uniform lr, batch size {64,128,256}, log-uniform
weight decay, dropout), same MLP (784-256-256-10), same real-MNIST subset and validation
split, same trials, epochs and seeds. Each peer lives in its own virtual environment under
benchmarks/.venvs/ (created with uv on first use, never part of hpt's dependencies); a peer
that cannot be installed is reported with its error.

Per run: wall time of the whole command (process start, imports, data, search, shutdown),
trials per minute, best validation accuracy seen, and the time from launch until the search
first reached --target validation accuracy. Peers stamp each finished epoch themselves
(peers/common.py:log_epoch); for hpt the stamp is the trial's completion time in its Optuna
journal minus the durations of the epochs after it, which errs late (against hpt).

Usage:
  HPT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/peers.py   # 3 seeds x 12 trials x 3 epochs
  .venv/bin/python benchmarks/peers.py --seeds 1 --trials 2 --epochs 1 --subset 600  # smoke
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "benchmarks" / "peers"
CORES = os.cpu_count() or 1


def _installed(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# Peers get the torch hpt runs on, so that only the tool differs.
def requirements() -> dict[str, list[str]]:
    torch, vision = _installed("torch").split("+")[0], _installed("torchvision").split("+")[0]
    common = [f"torch=={torch}", f"torchvision=={vision}"]
    return {
        "optuna": [f"optuna=={_installed('optuna')}", *common],
        "ray": ["ray[tune]==2.60.0", f"optuna=={_installed('optuna')}", *common],
        "hydra-optuna": ["hydra-optuna-sweeper>=1.2,<1.3", *common],
    }


VERSION_OF = {
    "optuna": ["optuna", "torch", "torchvision"],
    "ray": ["ray", "optuna", "torch", "torchvision"],
    "hydra-optuna": ["hydra-optuna-sweeper", "hydra-core", "optuna", "sqlalchemy", "torch"],
}


@dataclass
class Run:
    tool: str
    seed: int
    ok: bool = False
    error: str = ""
    wall_s: float = 0.0
    trials: int = 0
    pruned: int = 0
    epochs: int = 0
    best: float = 0.0
    t_target_s: float | None = None
    load_before: float = 0.0
    curve: list[tuple[float, float]] = field(default_factory=list)  # (s since launch, best so far)

    @property
    def trials_per_min(self) -> float:
        return self.trials / self.wall_s * 60 if self.wall_s else 0.0


# ---------------------------------------------------------------- virtual environments
def ensure_venv(name: str, reqs: list[str], root: Path) -> tuple[Path | None, str]:
    """(python of the venv, '') or (None, the installer's error)."""
    venv = root / name
    py = venv / "bin" / "python"
    stamp = venv / ".peers-requirements"
    if py.exists() and stamp.exists() and stamp.read_text() == "\n".join(reqs):
        return py, ""
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if Path(uv).exists():
        steps = [
            [uv, "venv", "-q", "-p", sys.executable, str(venv)],
            [uv, "pip", "install", "-q", "-p", str(py), *reqs],
        ]
    else:
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(py), "-m", "pip", "install", "-q", *reqs],
        ]
    print(f"installing {name}: {' '.join(reqs)}", flush=True)
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            lines = [x for x in (r.stderr or r.stdout).strip().splitlines() if x.strip()]
            return None, " | ".join(lines[-4:]) or f"exit {r.returncode}"
    stamp.write_text("\n".join(reqs))
    return py, ""


def venv_versions(py: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m\n"
        f"print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    )
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr.strip()[-200:]}


# ---------------------------------------------------------------- commands
@dataclass
class Budget:
    trials: int
    epochs: int
    subset: int
    root: str
    seconds: float | None = None  # equal-time mode: every tool gets this much wall time


def _hpt_run(seed: int, b: Budget, work: Path) -> list[str]:
    """What every hpt command shares: seeds, trials, epochs, the data and the sweep dir."""
    return [
        f"hydra.sweeper.n_trials={b.trials}",
        f"hydra.sweeper.sampler.seed={seed}",
        "hydra.sweeper.max_failure_rate=1.0",
        f"trainer.seed={seed}",
        f"trainer.epochs={b.epochs}",
        "trainer.quiet=true",
        "data=mnist",
        f"data.root={b.root}",
        f"data.subset={b.subset}",
        f"hydra.sweep.dir={work}",
    ]


def hpt_command(n_jobs: int, seed: int, b: Budget, work: Path) -> list[str]:
    """The peers' space and settings, written out as overrides (equal-trials mode)."""
    return [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "hydra/sweeper=hpt",
        "hydra/sweeper/sampler=tpe",
        "hydra/sweeper/pruner=hyperband",
        "optimizer=choice(adamw, sgd)",
        "optimizer.lr=tag(log, interval(1e-4, 3e-1))",
        "trainer.batch_size=choice(64, 128, 256)",
        "regularization.weight_decay=tag(log, interval(1e-6, 1e-2))",
        "regularization.dropout=interval(0.0, 0.3)",
        f"hydra.sweeper.n_jobs={n_jobs}",
        f"hydra.sweeper.pruner.max_resource={b.epochs}",
        *_hpt_run(seed, b, work),
    ]


def hpt_default_command(seed: int, b: Budget, work: Path) -> list[str]:
    """hpt's default search as a user runs it (conf/search/tpe.yaml), for ``b.seconds``."""
    return [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "search=tpe",
        f"hydra.sweeper.timeout={b.seconds}",
        *_hpt_run(seed, b, work),
    ]


def peer_command(tool: str, py: Path, seed: int, b: Budget, work: Path) -> list[str]:
    if tool == "hydra-optuna":
        return [
            str(py),
            str(PEERS / "hydra_app" / "app.py"),
            "--multirun",
            f"root={b.root}",
            f"subset={b.subset}",
            f"epochs={b.epochs}",
            f"seed={seed}",
            f"hydra.sweeper.n_trials={b.trials}",
            f"hydra.sweeper.sampler.seed={seed}",
            f"hydra.sweep.dir={work}",
        ]
    script = {"optuna": "optuna_dataloader.py", "ray": "ray_tune.py"}[tool]
    limit = ["--timeout", str(b.seconds)] if b.seconds else []
    return [
        str(py),
        str(PEERS / script),
        "--root",
        b.root,
        "--trials",
        str(b.trials),
        "--epochs",
        str(b.epochs),
        "--subset",
        str(b.subset),
        "--seed",
        str(seed),
        *limit,
    ]


# ---------------------------------------------------------------- reading what a run did
def hpt_epochs(sweep: Path) -> dict[str, list[tuple[float, float]]]:
    """trial -> [(wall-clock stamp, val/acc)] per epoch, from metrics.jsonl + the journal."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(sweep / "study.journal")))
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    done = {t.number: t.datetime_complete for t in study.get_trials(deepcopy=False)}
    out: dict[str, list[tuple[float, float]]] = {}
    for d in sorted(sweep.glob("trial_*")):
        if not (d / "result.json").exists() or not (d / "metrics.jsonl").exists():
            continue
        number = json.loads((d / "result.json").read_text())["trial"]["number"]
        end = done.get(number)
        rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines() if x]
        if end is None or not rows:
            continue
        # Epoch e's accuracy was known by: completion - the epochs after e (later than truth,
        # since completion also includes the test pass and the result writes).
        t, stamps = end.timestamp(), []
        for r in reversed(rows):
            stamps.append((t, float(r.get("val/acc", 0.0))))
            t -= float(r.get("time/epoch_s", 0.0))
        out[str(number)] = stamps[::-1]
    return out


def peer_epochs(log: Path) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            out.setdefault(r["trial"], []).append((r["t"], r["val_acc"]))
    return out


def summarise(
    run: Run, t0: float, trials: dict[str, list[tuple[float, float]]], b: Budget, target: float
) -> None:
    """Count what each tool did; in equal-time mode only epochs stamped within the budget."""
    if b.seconds:
        trials = {k: [p for p in v if p[0] - t0 <= b.seconds] for k, v in trials.items()}
        trials = {k: v for k, v in trials.items() if v}
    run.trials = len(trials)
    run.pruned = sum(len(v) < b.epochs for v in trials.values())
    run.epochs = sum(len(v) for v in trials.values())
    best = 0.0
    for t, acc in sorted(p for v in trials.values() for p in v):
        if acc > best:
            best = acc
            run.curve.append((round(t - t0, 2), acc))
        if run.t_target_s is None and acc >= target:
            run.t_target_s = round(t - t0, 2)
    run.best = best


def execute(
    cmd: list[str], cwd: Path, env: dict[str, str], deadline: float
) -> tuple[int, str, bool]:
    """(exit code, output, killed at the deadline): the command in its own process group, so
    a tool's helpers (Ray's raylet and workers, spawned trial processes) end with it."""
    with (cwd / "output.log").open("w+") as log:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        killed = False
        try:
            rc = proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            killed = True
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
            rc = proc.returncode if proc.returncode is not None else -9
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever the tool left behind
        log.seek(0)
        return rc, log.read(), killed


# ---------------------------------------------------------------- one run
def run_one(
    tool: str,
    seed: int,
    b: Budget,
    a: argparse.Namespace,
    work: Path,
    pythons: dict[str, Path | None],
    errors: dict[str, str],
) -> Run:
    run = Run(tool, seed)
    if tool in errors:
        run.error = f"not installed: {errors[tool]}"
        return run
    out = work / f"{tool}-s{seed}"
    out.mkdir(parents=True)
    log = out / "epochs.jsonl"
    env = {
        **os.environ,
        "PEER_LOG": str(log),
        "PEER_WORK": str(out),
        "RAY_USAGE_STATS_ENABLED": "0",
        "HPT_DATA_DIR": b.root,
    }
    # Ray renices its workers to 15 so the raylet stays responsive; on a machine shared with
    # other jobs that starves Ray's trials alone. 0 lets every tool compete on equal terms.
    env["RAY_worker_niceness"] = "0"
    if a.threads:  # per training process; hpt-N's workers and Ray's trials each get this many
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(a.threads)
    if tool == "hpt":
        cmd = hpt_default_command(seed, b, out / "sweep")
        env["PYTHONPATH"] = str(REPO)
    elif tool.startswith("hpt-"):
        cmd = hpt_command(int(tool.split("-")[1]), seed, b, out / "sweep")
        env["PYTHONPATH"] = str(REPO)
    else:
        py = pythons[tool]
        assert py is not None
        cmd = peer_command(tool, py, seed, b, out / "sweep")
        env["PYTHONPATH"] = str(PEERS)
    run.load_before = round(os.getloadavg()[0], 2)
    # Equal time: the tool's own limit is the budget; a tool still running `grace` seconds
    # after it (or one without a limit of its own) is stopped, and epochs after the budget
    # do not count either way.
    deadline = b.seconds + a.grace if b.seconds else a.timeout
    t0 = time.time()
    rc, output, killed = execute(cmd, out, env, deadline)
    run.wall_s = round(time.time() - t0, 2)
    if rc != 0 and not (killed and b.seconds):
        lines = [x for x in output.strip().splitlines() if x.strip()]
        run.error = f"exit {rc}: " + " | ".join(lines[-3:])
    try:
        trials = hpt_epochs(out / "sweep") if tool.startswith("hpt") else peer_epochs(log)
    except Exception as exc:  # a run that died early leaves nothing to read: report, go on
        trials, run.error = {}, run.error or f"{type(exc).__name__}: {exc}"
    summarise(run, t0, trials, b, a.target)
    if b.seconds:
        run.ok = not run.error and run.epochs > 0
        if not run.ok and not run.error:
            run.error = f"no epoch finished within {b.seconds:g} s"
    else:
        run.ok = rc == 0 and run.trials == b.trials
        if rc == 0 and run.trials != b.trials:
            run.error = f"finished {run.trials} of {b.trials} trials"
    return run


# ---------------------------------------------------------------- report
def mean_std(xs: list[float], fmt: str) -> str:
    if not xs:
        return "—"
    if len(xs) == 1:
        return format(xs[0], fmt)
    return f"{format(statistics.mean(xs), fmt)} ± {format(statistics.stdev(xs), fmt)}"


def table(runs: list[Run], tools: list[str], target: float) -> str:
    lines = [
        f"| tool | runs ok | wall s | trials/min | best val acc | s to val acc ≥ {target} | pruned / trials | vs hpt-1 wall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = [r.wall_s for r in runs if r.tool == "hpt-1" and r.ok]
    for tool in tools:
        rs = [r for r in runs if r.tool == tool]
        ok = [r for r in rs if r.ok]
        if not ok:
            lines.append(f"| {tool} | 0/{len(rs)} | {rs[0].error if rs else ''} | | | | | |")
            continue
        reached = [r.t_target_s for r in ok if r.t_target_s is not None]
        ratio = (
            f"{statistics.mean(r.wall_s for r in ok) / statistics.mean(base):.2f}×" if base else "—"
        )
        lines.append(
            f"| {tool} | {len(ok)}/{len(rs)} | {mean_std([r.wall_s for r in ok], '.1f')} "
            f"| {mean_std([r.trials_per_min for r in ok], '.1f')} "
            f"| {mean_std([r.best for r in ok], '.4f')} "
            f"| {mean_std([float(x) for x in reached], '.1f')} ({len(reached)}/{len(ok)} reached) "
            f"| {sum(r.pruned for r in ok)} / {sum(r.trials for r in ok)} | {ratio} |"
        )
    return "\n".join(lines)


def best_at(run: Run, t: float) -> float:
    return max((acc for s, acc in run.curve if s <= t), default=0.0)


def anytime_table(runs: list[Run], tools: list[str], seconds: float) -> str:
    """Equal-time mode: best-so-far validation accuracy at 25%, 50% and 100% of the budget."""
    lines = [
        "| tool | runs ok | trials started (mean) | epochs (mean) | best @ 25% | best @ 50% | best @ 100% |",
        "|---|---|---|---|---|---|---|",
    ]
    for tool in tools:
        rs = [r for r in runs if r.tool == tool]
        ok = [r for r in rs if r.ok]
        if not ok:
            lines.append(f"| {tool} | 0/{len(rs)} | {rs[0].error if rs else ''} | | | | |")
            continue
        cells = [mean_std([best_at(r, seconds * q) for r in ok], ".4f") for q in (0.25, 0.5, 1.0)]
        lines.append(
            f"| {tool} | {len(ok)}/{len(rs)} | {statistics.mean(r.trials for r in ok):.1f} "
            f"| {statistics.mean(r.epochs for r in ok):.1f} | {' | '.join(cells)} |"
        )
    return "\n".join(lines)


def plot(runs: list[Run], tools: list[str], seconds: float, path: Path) -> None:
    """Mean best-so-far validation accuracy against wall time, ± one std, one line per tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    grid = np.linspace(0, seconds, 241)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for tool in tools:
        ok = [r for r in runs if r.tool == tool and r.ok]
        if not ok:
            continue
        ys = np.array([[best_at(r, t) for t in grid] for r in ok])
        ys = np.where(ys > 0, ys, np.nan)  # before a tool's first epoch there is nothing
        with warnings.catch_warnings():  # all-NaN columns: no tool has an epoch yet
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(ys, axis=0), np.nanstd(ys, axis=0)
            ax.plot(grid, mean, label=f"{tool} (n={len(ok)})")
            ax.fill_between(grid, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("wall time since launch (s)")
    ax.set_ylabel("best validation accuracy so far")
    ax.set_title(f"MNIST MLP search, equal wall time ({seconds:.0f} s), mean ± std over seeds")
    ax.set_ylim(0.85, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def machine() -> dict[str, object]:
    model = ""
    with contextlib.suppress(OSError, StopIteration):
        model = next(
            x.split(":", 1)[1].strip()
            for x in Path("/proc/cpuinfo").read_text().splitlines()
            if x.startswith("model name")
        )
    return {
        "machine": platform.machine(),
        "cpu": model,
        "cores": CORES,
        "python": platform.python_version(),
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    all_tools = ["hpt-1", f"hpt-{CORES}", "optuna", "ray", "hydra-optuna"]
    equal_time_tools = ["hpt", "optuna", "hydra-optuna", "ray"]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument(
        "--subset",
        type=int,
        default=6000,
        help="first N MNIST training images (10%% of them validate)",
    )
    p.add_argument(
        "--target",
        type=float,
        default=0.92,
        help="validation accuracy for the time-to-target column",
    )
    p.add_argument(
        "--tools",
        nargs="+",
        help=f"default: {' '.join(all_tools)}; with --seconds: {' '.join(equal_time_tools)}",
    )
    p.add_argument(
        "--seconds",
        type=float,
        help="equal-time mode: every tool gets this many seconds of wall time (trials unlimited)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=30,
        help="seconds past --seconds before a tool still running is stopped",
    )
    p.add_argument(
        "--plot", type=Path, help="equal-time mode: write the best-so-far plot (PNG) here"
    )
    p.add_argument(
        "--data-dir",
        default=os.environ.get("HPT_DATA_DIR"),
        help="holds MNIST/raw (default $HPT_DATA_DIR)",
    )
    p.add_argument("--venvs", type=Path, default=REPO / "benchmarks" / ".venvs")
    p.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="TOOL=REQ",
        help="replace a peer's first requirement",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per training process (0: leave OMP_NUM_THREADS alone)",
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds for one search")
    p.add_argument("--out", type=Path, help="write every run as JSON here")
    p.add_argument("--keep", type=Path, help="keep the run directories here (default: a temp dir)")
    a = p.parse_args()
    if not a.data_dir or not (Path(a.data_dir) / "MNIST" / "raw").is_dir():
        sys.exit(
            f"peers.py: real MNIST needed: --data-dir or HPT_DATA_DIR must hold MNIST/raw (got {a.data_dir!r})"
        )
    a.tools = a.tools or (equal_time_tools if a.seconds else all_tools)
    trials = 100_000 if a.seconds else a.trials  # equal time: the clock is the budget
    b = Budget(trials, a.epochs, a.subset, str(Path(a.data_dir).resolve()), a.seconds)

    reqs = requirements()
    for pin in a.pin:
        tool, _, req = pin.partition("=")
        reqs[tool] = [req, *reqs[tool][1:]]
    pythons: dict[str, Path | None] = {}
    errors: dict[str, str] = {}
    versions: dict[str, object] = {
        "hpt-venv": {n: _installed(n) for n in ("torch", "optuna", "hydra-core")}
    }
    for tool in a.tools:
        if tool in reqs:
            py, err = ensure_venv(tool, reqs[tool], a.venvs)
            pythons[tool] = py
            if py is None:
                errors[tool] = err
                print(f"{tool}: NOT INSTALLED: {err}", flush=True)
            else:
                versions[tool] = venv_versions(py, VERSION_OF[tool])
    info = machine()
    print(f"machine: {info}\nversions: {json.dumps(versions)}", flush=True)
    print(
        f"search: {str(a.seconds) + ' s of' if a.seconds else a.trials} trials x <= {a.epochs} epochs, MNIST subset {a.subset}, seeds 0..{a.seeds - 1}, target {a.target}, threads {a.threads}",
        flush=True,
    )

    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or Path(tmp)
        for seed in range(a.seeds):
            k = seed % len(a.tools)
            for tool in a.tools[k:] + a.tools[:k]:  # round-robin, a different tool first each seed
                run = run_one(tool, seed, b, a, work, pythons, errors)
                runs.append(run)
                status = "ok" if run.ok else f"FAILED ({run.error})"
                print(
                    f"seed {seed} {tool:13s} {run.wall_s:7.1f} s  {run.trials} trials ({run.pruned} pruned, {run.epochs} epochs)  "
                    f"best {run.best:.4f}  target at {run.t_target_s} s  load {run.load_before}  {status}",
                    flush=True,
                )
    print()
    if a.seconds:
        print(anytime_table(runs, a.tools, a.seconds))
        if a.plot:
            plot(runs, a.tools, a.seconds, a.plot)
    else:
        print(table(runs, a.tools, a.target))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(
            json.dumps(
                {
                    "machine": info,
                    "versions": versions,
                    "budget": asdict(b),
                    "target": a.target,
                    "threads": a.threads,
                    "tools": a.tools,
                    "runs": [asdict(r) | {"trials_per_min": r.trials_per_min} for r in runs],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
