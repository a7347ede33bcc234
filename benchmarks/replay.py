"""Replay searches on recorded learning curves: samplers x pruners x workers, no training.

``benchmarks/curves/mnist_mlp.csv`` (written once by ``curves_record.py``) holds the full
learning curves of a dense random sample of configurations from hpt's default search space.
Here a search is replayed against it: the sampler and pruner are built by hpt's own code
(``hpt.sweep.planning.samplers``) from the config blocks hpt would use, params are suggested by hpt's
own define-by-run path (``hpt.sweep.running.trial.suggest``) over the space of conf/search/tpe.yaml,
and a suggested configuration is answered by its nearest recorded neighbour (same optimizer
and batch size; nearest in log lr, log weight decay, dropout, momentum, nesterov). Every epoch
is reported to the pruner as hpt reports it (val/acc at step = epoch) and costs the median
recorded epoch time of its optimizer and batch size; each trial also costs the median recorded
per-run overhead plus ``--trial-cost`` (the sweep's own bookkeeping, BENCHMARKS.md: about
50 ms). Workers are simulated as independent
devices running asynchronously (a finished or pruned trial's worker asks at once), so a search
with W workers is given 1/W of the wall budget: equal compute for every row.

The budget of a seed is the simulated time random search (RandomSampler, no pruner, one
worker, ``--trials`` full-length trials) takes with that seed. Reported per variant, over
``--seeds`` seeds: the best validation accuracy reached by 25%, 50% and 100% of the budget
(best-so-far of any reported epoch, as ``hpt summarize`` reads a run's best), and the time to
first reach random search's final best, as a share of random's time (median over seeds;
seeds that never reach it count as infinite).

    python benchmarks/replay.py [--seeds 20] [--epochs 9] [--out benchmarks/results/replay.json]

What this cannot show: noise between repeated runs of one configuration (each was trained
once), the neighbour lookup's coarseness between recorded points, and contention between
workers sharing a machine.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import math
import os
import statistics
import time
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "benchmarks" / "curves" / "mnist_mlp.csv"

# hpt's default search (conf/search/tpe.yaml), as the sweeper reads it.
PARAMS = {
    "optimizer": "choice(adamw, sgd)",
    "optimizer.lr": "tag(log, interval(1e-4, 3e-1))",
    "trainer.batch_size": "choice(64, 128, 256)",
    "regularization.weight_decay": "tag(log, interval(1e-6, 1e-2))",
    "regularization.dropout": "interval(0.0, 0.3)",
}
CONDITIONAL = {
    "optimizer=sgd": {
        "optimizer.momentum": "interval(0.5, 0.99)",
        "optimizer.nesterov": "choice(true, false)",
    }
}
# The base config's values (hpt's baseline trial; weight decay 0 moved into the range).
BASELINE = {
    "optimizer": "adamw",
    "optimizer.lr": 1e-3,
    "trainer.batch_size": 128,
    "regularization.weight_decay": 1e-6,
    "regularization.dropout": 0.0,
}

TPE = {"_target_": "optuna.samplers.TPESampler"}
SAMPLERS: dict[str, dict[str, Any]] = {
    "random": {"_target_": "optuna.samplers.RandomSampler"},
    "tpe": TPE,  # Optuna 5's defaults (multivariate), constant liar: hpt's sampler=tpe now
    "tpe-univariate": {**TPE, "multivariate": False},  # what hpt's tpe conf forced before
    "tpe-5-startup": {**TPE, "n_startup_trials": 5},  # conf/search/tpe.yaml's setting
    "gp": {"_target_": "optuna.samplers.GPSampler"},
    "cmaes": {"_target_": "optuna.samplers.CmaEsSampler"},
}
PRUNERS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "median": {
        "_target_": "optuna.pruners.MedianPruner",
        "n_startup_trials": 4,
        "n_warmup_steps": 1,
    },
    "median-warm2": {
        "_target_": "optuna.pruners.MedianPruner",
        "n_startup_trials": 4,
        "n_warmup_steps": 2,
    },
    "hyperband": {
        "_target_": "optuna.pruners.HyperbandPruner",
        "min_resource": 1,
        "max_resource": "EPOCHS",
        "reduction_factor": 3,
    },
    "hyperband-min2": {
        "_target_": "optuna.pruners.HyperbandPruner",
        "min_resource": 2,
        "max_resource": "EPOCHS",
        "reduction_factor": 3,
    },
    "sha": {
        "_target_": "optuna.pruners.SuccessiveHalvingPruner",
        "min_resource": 1,
        "reduction_factor": 3,
    },
    "sha-min2": {
        "_target_": "optuna.pruners.SuccessiveHalvingPruner",
        "min_resource": 2,
        "reduction_factor": 3,
    },
}


@dataclass
class Curve:
    params: dict[str, Any]
    acc: list[float]
    epoch_s: list[float]
    overhead_s: float


def load(path: Path) -> list[Curve]:
    by: dict[str, Curve] = {}
    for r in csv.DictReader(path.open()):
        c = by.get(r["config"])
        if c is None:
            params: dict[str, Any] = {
                "optimizer": r["optimizer"],
                "optimizer.lr": float(r["lr"]),
                "trainer.batch_size": int(r["batch_size"]),
                "regularization.weight_decay": float(r["weight_decay"]),
                "regularization.dropout": float(r["dropout"]),
            }
            if r["optimizer"] == "sgd":
                params["optimizer.momentum"] = float(r["momentum"])
                params["optimizer.nesterov"] = r["nesterov"] == "True"
            c = by[r["config"]] = Curve(params, [], [], float(r["overhead_s"]))
        acc = float(r["val_acc"])
        c.acc.append(acc if math.isfinite(acc) else 0.0)
        c.epoch_s.append(float(r["epoch_s"]))
    return _typical_times(list(by.values()))


def _typical_times(curves: list[Curve]) -> list[Curve]:
    """Each epoch costs the median epoch time of its optimizer and batch size, and each run the
    median overhead: what an epoch costs depends on those, while one recorded epoch's seconds
    also carry whatever else the machine was doing at that moment."""
    cells: dict[tuple[str, int], list[float]] = {}
    for c in curves:
        cells.setdefault((c.params["optimizer"], c.params["trainer.batch_size"]), []).extend(
            c.epoch_s
        )
    overhead = statistics.median(c.overhead_s for c in curves)
    for c in curves:
        cell = statistics.median(cells[(c.params["optimizer"], c.params["trainer.batch_size"])])
        c.epoch_s = [cell] * len(c.epoch_s)
        c.overhead_s = overhead
    return curves


def _features(p: dict[str, Any]) -> tuple[float, ...]:
    """Each continuous setting scaled to [0, 1] over its range (log where searched log)."""
    return (
        math.log(p["optimizer.lr"] / 1e-4) / math.log(3e3),
        math.log(p["regularization.weight_decay"] / 1e-6) / math.log(1e4),
        p["regularization.dropout"] / 0.3,
        (p.get("optimizer.momentum", 0.5) - 0.5) / 0.49,
        0.5 * float(bool(p.get("optimizer.nesterov", False))),
    )


class Surrogate:
    """A suggested configuration -> the recorded curve of its nearest neighbour."""

    def __init__(self, curves: list[Curve]) -> None:
        self.cells: dict[tuple[str, int], list[tuple[tuple[float, ...], Curve]]] = {}
        for c in curves:
            key = (c.params["optimizer"], c.params["trainer.batch_size"])
            self.cells.setdefault(key, []).append((_features(c.params), c))

    def __call__(self, params: dict[str, Any]) -> Curve:
        x = _features(params)
        cell = self.cells[(params["optimizer"], int(params["trainer.batch_size"]))]
        return min(cell, key=lambda fc: sum((a - b) ** 2 for a, b in zip(fc[0], x, strict=True)))[1]


@dataclass(frozen=True)
class Job:
    sampler: str
    pruner: str
    workers: int
    seed: int
    epochs: int
    budget: float  # simulated seconds of wall time
    trials: int  # a trial limit (random's reference run); 0: run until the budget is spent
    baseline: bool
    trial_cost: float


@dataclass
class Outcome:
    points: list[tuple[float, float]]  # best so far: (simulated seconds, val acc) at each rise
    trials: int  # started
    pruned: int
    epochs: int
    end: float  # simulated seconds when its last counted epoch ended


def simulate(job: Job, surrogate: Surrogate) -> Outcome:
    """One replayed search: its best-so-far points and what it spent."""
    import optuna

    from hpt.sweep.planning.pruning import build_pruner
    from hpt.sweep.planning.samplers import build_sampler
    from hpt.sweep.planning.space import parse
    from hpt.sweep.running.trial import suggest

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = parse(PARAMS, CONDITIONAL, [])
    sampler_conf = {**SAMPLERS[job.sampler], "seed": job.seed}
    if job.workers > 1 and job.sampler.startswith("tpe"):
        sampler_conf["constant_liar"] = True
    pruner_conf = PRUNERS[job.pruner]
    if pruner_conf and pruner_conf.get("max_resource") == "EPOCHS":
        pruner_conf = {**pruner_conf, "max_resource": job.epochs}
    # A fixed name, as every hpt sweep has: Hyperband assigns trials to brackets by a hash of
    # the study name, so Optuna's random default name would make its replays unrepeatable.
    study = optuna.create_study(
        study_name=f"replay-{job.seed}",
        direction="maximize",
        sampler=build_sampler(sampler_conf, space),
        pruner=build_pruner(pruner_conf),
    )
    if job.baseline:
        study.enqueue_trial(BASELINE)
    events: list[tuple[float, int, Any, Curve, int]] = []
    started, pruned, epochs, best, end = 0, 0, 0, -1.0, 0.0
    points: list[tuple[float, float]] = []

    def start(t: float) -> None:
        nonlocal started
        if job.trials and started >= job.trials:
            return
        trial = study.ask()
        curve = surrogate(suggest(trial, space))
        started += 1
        t_end = t + job.trial_cost + curve.overhead_s + curve.epoch_s[0]
        heapq.heappush(events, (t_end, trial.number, trial, curve, 0))

    for _ in range(job.workers):
        start(0.0)
    while events:
        t, _, trial, curve, k = heapq.heappop(events)
        if not job.trials and t > job.budget:
            break
        acc = curve.acc[k]
        epochs, end = epochs + 1, t
        if acc > best:
            best = acc
            points.append((t, best))
        trial.report(acc, k + 1)
        if k + 1 >= min(job.epochs, len(curve.acc)):
            study.tell(trial, max(curve.acc[: k + 1]))
        elif trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            pruned += 1
        else:
            heapq.heappush(events, (t + curve.epoch_s[k + 1], trial.number, trial, curve, k + 1))
            continue
        start(t)
    return Outcome(points, started, pruned, epochs, end)


_SURROGATE: Surrogate | None = None


def _init(table: str, overhead: float | None) -> None:
    global _SURROGATE
    curves = load(Path(table))
    for c in curves if overhead is not None else []:
        c.overhead_s = overhead  # a measured per-trial cost instead of the recorded one
    _SURROGATE = Surrogate(curves)


def _run(job: Job) -> tuple[Job, Outcome, float]:
    assert _SURROGATE is not None
    t0 = time.process_time()
    return job, simulate(job, _SURROGATE), time.process_time() - t0


def best_at(points: list[tuple[float, float]], t: float) -> float:
    return max((b for s, b in points if s <= t), default=0.0)


def first_reach(points: list[tuple[float, float]], target: float) -> float:
    return next((s for s, b in points if b >= target), math.inf)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--table", type=Path, default=TABLE)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--epochs", type=int, default=9, help="trainer.epochs of every trial")
    p.add_argument("--trials", type=int, default=30, help="random search's reference trials")
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    p.add_argument("--pruners", default=",".join(PRUNERS))
    p.add_argument("--workers", default="1")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--trial-cost", type=float, default=0.05)
    p.add_argument(
        "--overhead",
        type=float,
        help="each trial's non-epoch seconds instead of the table's recorded median (its build, "
        "data and test pass); with --trial-cost 0: a per-trial cost measured by trial_cost.py",
    )
    p.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    load1 = os.getloadavg()[0]
    t0 = time.time()
    seeds = range(a.seeds)
    with Pool(a.procs, initializer=_init, initargs=(str(a.table), a.overhead)) as pool:
        ref_jobs = [
            Job("random", "none", 1, s, a.epochs, 0.0, a.trials, False, a.trial_cost) for s in seeds
        ]
        done = pool.map(_run, ref_jobs)
        ref = {j.seed: out.points for j, out, _ in done}
        # Random's time is its last trial's end, not the time of its last new best.
        budget = {j.seed: out.end for j, out, _ in done}
        jobs = [
            Job(smp, prn, w, s, a.epochs, budget[s] / w, 0, not a.no_baseline, a.trial_cost)
            for smp in a.samplers.split(",")
            for prn in a.pruners.split(",")
            for w in (int(x) for x in a.workers.split(","))
            for s in seeds
        ]
        results = []
        for i, result in enumerate(pool.imap_unordered(_run, jobs), 1):
            results.append(result)
            if i % 100 == 0 or i == len(jobs):
                print(f"  {i}/{len(jobs)} replays, {time.time() - t0:.0f} s", flush=True)
    rows = summarize(results, ref, budget)
    print(
        f"{len(jobs)} replays in {time.time() - t0:.0f} s, load average before {load1:.2f}, "
        f"after {os.getloadavg()[0]:.2f}; epochs {a.epochs}, random reference {a.trials} trials, "
        f"{a.seeds} seeds, median budget {statistics.median(budget.values()):.0f} simulated s"
    )
    print(f"random search's final best: {statistics.mean(ref[s][-1][1] for s in seeds):.4f} mean")
    print(
        f"{'sampler':16} {'pruner':15} {'W':>2} {'best@25%':>15} {'best@50%':>15} {'best@100%':>15} "
        f"{'reach':>6} {'reached':>7}"
    )
    for r in sorted(rows, key=lambda r: (-r["mean_100"], r["reach_median"])):
        print(
            f"{r['sampler']:16} {r['pruner']:15} {r['workers']:>2} "
            f"{r['mean_25']:.4f}±{r['std_25']:.4f} {r['mean_50']:.4f}±{r['std_50']:.4f} "
            f"{r['mean_100']:.4f}±{r['std_100']:.4f} {r['reach_median']:>6.0%} "
            f"{r['reached']:>4}/{a.seeds}"
        )
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "args": {k: str(v) for k, v in vars(a).items()},
            "load_before": load1,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "rows": rows,
        }
        a.out.write_text(json.dumps(doc, indent=1))


def _random_time(job: Job, surrogate: Surrogate) -> float:
    """The simulated seconds random search's reference run takes, to its last trial's end."""
    return simulate(job, surrogate).end


def summarize(
    results: list[tuple[Job, Outcome, float]],
    ref: dict[int, list[tuple[float, float]]],
    budget: dict[int, float],
) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int], list[tuple[Job, Outcome, float]]] = {}
    for job, out, cpu in results:
        groups.setdefault((job.sampler, job.pruner, job.workers), []).append((job, out, cpu))
    rows = []
    for (smp, prn, w), runs in groups.items():
        row: dict[str, Any] = {"sampler": smp, "pruner": prn, "workers": w}
        for q in (25, 50, 100):
            vals = [best_at(out.points, job.budget * q / 100) for job, out, _ in runs]
            row[f"mean_{q}"] = statistics.mean(vals)
            row[f"std_{q}"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        reach = [first_reach(out.points, ref[job.seed][-1][1]) / job.budget for job, out, _ in runs]
        row["reach_median"] = statistics.median(reach)
        row["reached"] = sum(math.isfinite(x) for x in reach)
        row["trials"] = statistics.mean(out.trials for _, out, _ in runs)
        row["pruned"] = statistics.mean(out.pruned for _, out, _ in runs)
        row["epochs"] = statistics.mean(out.epochs for _, out, _ in runs)
        row["cpu_s"] = sum(cpu for _, _, cpu in runs)
        rows.append(row)
    return rows


if __name__ == "__main__":
    main()
