"""Storage at scale: N worker processes running no-op trials against one study storage.

Each storage is started here: a journal file in a temp dir, a throw-away PostgreSQL cluster
(``tests/helpers/pgserver.py``, with PostgreSQL's own fsync and synchronous commit unless
``--pg-fast``), and ``hpt storage-proxy`` (Optuna's gRPC proxy) in front of a second database
of that cluster. N processes (spawned, as ``hpt sweep`` spawns its workers) each import
Optuna and hpt, open the storage and load the study, then wait at a barrier; the timed window
starts when the last one is ready, so start-up is not in it.

Each worker then runs the loop of ``hpt/sweep/running/worker.py`` with the training left out:

- the checks before a trial: ``accounting.recover_stale`` (the RUNNING trials), the study's
  stop attribute and ``accounting.budget_used`` over every trial (``worker.should_stop``);
- ``study.ask()`` (timed: *ask*), then ``accounting.claim`` (timed: *claim*; it reads every
  trial; a loser of the race is marked discarded and told FAIL);
- the writes a real trial makes that cost nothing to reproduce: the owner mark, the trial's
  ``dir`` user attribute, one suggested parameter, one heartbeat, one intermediate value;
- ``study.tell(trial, value)`` (timed: *tell*), then the failure-rate check (every trial read).

So a no-op trial is 7 storage writes (create, owner, dir, param, heartbeat, intermediate value,
tell); a discarded one 3 (create, discarded mark, FAIL). ``docs/cluster.md`` counts 18.5 for a
3-epoch ``hpt sweep`` trial. The sampler is Optuna's RandomSampler: the storage is measured,
not TPE.

Per storage it reports wall time, trials per second, writes per second, p50/p99 of ask, claim,
tell and the whole trial (ms), whether the budget came out exact (the COMPLETE counted trials
are exactly numbers 0..budget-1, each claimed by one worker), duplicates, errors, the load
average before the workers started, when the window opened and after it, and the memory the
workers took.

Usage: .venv/bin/python benchmarks/storage_scale.py [--workers 64] [--trials 640]
           [--storages journal,postgres,grpc] [--out benchmarks/results/storage_scale.json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import multiprocessing
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from hpt.storage import open_storage
from hpt.sweep import optuna_internals as internals
from hpt.sweep.running import accounting

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "results" / "storage_scale.json"
STUDY = "scale"
STORAGES = ("journal", "postgres", "grpc")
WRITES_PER_TRIAL, WRITES_PER_DISCARD = 7, 3
GRACE = 600.0  # no trial may look stale during the run (hpt's default is 60 s)
A_STOP = (
    "hpt:stopped"  # hpt.sweep.running.worker.A_STOP (that module imports Hydra; not needed here)
)
PHASES = ("ask", "claim", "tell", "trial")


def _now() -> float:
    return time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of this machine


def _done(study: optuna.Study, budget: int) -> bool:
    """``worker.should_stop`` without a deadline: a stop, or the budget spoken for."""
    accounting.recover_stale(study, GRACE)
    if accounting.study_attr(study, A_STOP):
        return True
    trials = study.get_trials(deepcopy=False)
    return accounting.budget_used(trials) >= budget and not any(
        t.state == TrialState.WAITING for t in trials if accounting.counts(t)
    )


def run_trials(study: optuna.Study, budget: int) -> dict[str, Any]:
    """Ask, claim and tell no-op trials until the budget is spoken for; every phase timed."""
    times: dict[str, list[float]] = {p: [] for p in PHASES}
    mine: list[int] = []
    discarded = 0
    while not _done(study, budget):
        t0 = _now()
        trial = study.ask()
        t1 = _now()
        won = accounting.claim(study, trial, budget)
        t2 = _now()
        times["ask"].append(t1 - t0)
        times["claim"].append(t2 - t1)
        if not won:
            discarded += 1
            continue
        accounting.mark_owner(study, trial)
        tid = internals.trial_id(trial)
        internals.set_trial_user_attr(study, tid, "dir", f"trial_{trial.number:04d}")
        x = trial.suggest_float("x", 0.0, 1.0)
        accounting.beat(study, tid)
        trial.report(x, 0)
        t3 = _now()
        study.tell(trial, x * x)
        t4 = _now()
        times["tell"].append(t4 - t3)
        times["trial"].append(t4 - t0)
        mine.append(trial.number)
        accounting.finished(study.get_trials(deepcopy=False))  # worker's failure-rate check
    return {"times": times, "mine": mine, "discarded": discarded}


def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the gRPC proxy


def worker(spec: str, budget: int, seed: int, barrier: Any, out: Any) -> None:
    """One worker process: connect, wait for the others, run trials, put what it measured."""
    record: dict[str, Any] = {"pid": os.getpid(), "errors": []}
    try:
        _quiet()
        study = optuna.load_study(
            study_name=STUDY,
            storage=open_storage(spec),
            sampler=optuna.samplers.RandomSampler(seed=seed),
        )
        barrier.wait(timeout=600)
        record.update(run_trials(study, budget))
    except BaseException as exc:
        barrier.abort()  # the others (and the parent) stop waiting for this one
        record["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
    record["end"] = _now()
    out.put(record)


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return 1000 * ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _mem_available_mib() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return None


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(spec: str, workers: int, budget: int, timeout: float = 1800) -> dict[str, Any]:
    """Run ``workers`` processes against the storage ``spec`` until ``budget`` trials count."""
    _quiet()
    optuna.create_study(study_name=STUDY, storage=open_storage(spec))
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(workers + 1), ctx.Queue()
    load_before, mem_before = _load(), _mem_available_mib()
    spawned = _now()
    procs = [
        ctx.Process(target=worker, args=(spec, budget, i, barrier, out)) for i in range(workers)
    ]
    for p in procs:
        p.start()
    with contextlib.suppress(Exception):  # broken: a worker failed to start (its error follows)
        barrier.wait(timeout=timeout)
    start = _now()
    load_start, mem_start = _load(), _mem_available_mib()
    records = [out.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    result = summarize(records, start, budget)
    result.update(
        startup_s=round(start - spawned, 2),
        load_before=load_before,
        load_start=load_start,
        load_after=_load(),
        workers_mem_mib=round(mem_before - mem_start) if mem_before and mem_start else None,
    )
    result.update(check_study(spec, budget, records))
    return result


def summarize(records: list[dict[str, Any]], start: float, budget: int) -> dict[str, Any]:
    """Wall time, rates and latencies over every worker's record."""
    wall = max(r["end"] for r in records) - start
    times = {p: [t for r in records for t in r.get("times", {}).get(p, [])] for p in PHASES}
    discarded = sum(r.get("discarded", 0) for r in records)
    writes = WRITES_PER_TRIAL * len(times["tell"]) + WRITES_PER_DISCARD * discarded
    out: dict[str, Any] = {
        "wall_s": round(wall, 2),
        "trials_per_s": round(budget / wall, 1),
        "writes_per_s": round(writes / wall, 1),
        "discarded": discarded,
        "errors": [e for r in records for e in r["errors"]],
    }
    for p in PHASES:
        p50, p99 = percentile(times[p], 50), percentile(times[p], 99)
        out[f"{p}_ms"] = {
            "p50": None if p50 is None else round(p50, 1),
            "p99": None if p99 is None else round(p99, 1),
            "n": len(times[p]),
        }
    return out


def check_study(spec: str, budget: int, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Budget exact (counted COMPLETE trials are numbers 0..budget-1) and no trial run twice."""
    trials = optuna.load_study(study_name=STUDY, storage=open_storage(spec)).get_trials(
        deepcopy=False
    )
    counted = sorted(t.number for t in trials if accounting.counts(t))
    complete = [t for t in trials if accounting.counts(t) and t.state == TrialState.COMPLETE]
    claimed = [n for r in records for n in r.get("mine", [])]
    owners = {accounting.owner(t) for t in complete}
    return {
        "counted": len(counted),
        "complete": len(complete),
        "budget_exact": len(complete) == budget and counted == list(range(budget)),
        "duplicates": len(claimed) - len(set(claimed)),
        "claimed": len(claimed),
        "workers_that_ran": len({pid for _, pid in owners}),
    }


@contextlib.contextmanager
def storage(kind: str, work: Path, server: Any = None) -> Iterator[str]:
    """The storage spec for ``kind``; ``server`` is the PostgreSQL server (``pgserver``)."""
    if kind == "journal":
        yield str(work / f"{STUDY}.journal")
    elif kind == "postgres":
        yield server.new_database()
    elif kind == "grpc":
        with proxy(server.new_database()) as spec:
            yield spec
    else:
        raise ValueError(f"unknown storage {kind!r}: one of {', '.join(STORAGES)}")


@contextlib.contextmanager
def proxy(url: str) -> Iterator[str]:
    """``hpt storage-proxy URL`` on a free loopback port, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "hpt", "storage-proxy", url, "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"hpt storage-proxy exited with {server.returncode}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield f"grpc://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def versions(server: Any = None) -> dict[str, str | None]:
    """The versions that decide the figures."""
    import grpc
    import sqlalchemy

    found: dict[str, str | None] = {
        "python": platform.python_version(),
        "optuna": optuna.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "grpcio": grpc.__version__,
    }
    with contextlib.suppress(ImportError):
        import psycopg2

        found["psycopg2"] = psycopg2.__version__.split()[0]
    if server is not None:
        conn = server.admin_connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                found["postgresql"] = cur.fetchone()[0]
        finally:
            conn.close()
    return found


def run_all(
    kinds: list[str], workers: int, budget: int, work: Path, server: Any = None
) -> dict[str, Any]:
    """Measure each storage in turn; the JSON the benchmark writes."""
    runs = {}
    for kind in kinds:
        with storage(kind, work, server) as spec:
            runs[kind] = measure(spec, workers, budget)
        print(f"{kind}: {json.dumps(runs[kind])}", flush=True)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "versions": versions(server),
        "workers": workers,
        "trials": budget,
        "writes_per_trial": WRITES_PER_TRIAL,
        "runs": runs,
    }


def table(result: dict[str, Any]) -> str:
    """The result as a Markdown table."""
    lines = [
        "| storage | wall s | trials/s | writes/s | ask p50/p99 ms | claim p50/p99 ms "
        "| tell p50/p99 ms | budget exact | dup | errors | load before → start → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in result["runs"].items():

        def ms(p: str, r: dict[str, Any] = r) -> str:
            return f"{r[p + '_ms']['p50']} / {r[p + '_ms']['p99']}"

        load = " → ".join(str(r[k][0]) for k in ("load_before", "load_start", "load_after"))
        lines.append(
            f"| {kind} | {r['wall_s']} | {r['trials_per_s']} | {r['writes_per_s']} | {ms('ask')} "
            f"| {ms('claim')} | {ms('tell')} | {r['budget_exact']} | {r['duplicates']} "
            f"| {len(r['errors'])} | {load} |"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def pg_server(kinds: list[str], fast: bool) -> Iterator[Any]:
    """A throw-away PostgreSQL cluster when a storage needs one (else None)."""
    if not {"postgres", "grpc"} & set(kinds):
        yield None
        return
    sys.path.insert(0, str(REPO / "tests"))
    import pytest
    from helpers.pgserver import running_server

    try:
        with running_server(durable=not fast) as server:
            yield server
    except pytest.skip.Exception as exc:  # the helper skips a test when it cannot start one
        raise SystemExit(f"no PostgreSQL server for {kinds}: {exc}") from None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=64)
    p.add_argument("--trials", type=int, default=640, help="the budget, per storage")
    p.add_argument("--storages", default=",".join(STORAGES))
    p.add_argument("--pg-fast", action="store_true", help="PostgreSQL without fsync (as tests)")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    kinds = [k.strip() for k in a.storages.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(STORAGES))
    if unknown:
        p.error(f"--storages: unknown {unknown}; choose from {', '.join(STORAGES)}")
    with (
        tempfile.TemporaryDirectory(prefix="hpt-scale-") as work,
        pg_server(kinds, a.pg_fast) as pg,
    ):
        result = run_all(kinds, a.workers, a.trials, Path(work), pg)
    result["postgresql_durable"] = not a.pg_fast if pg is not None else None
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return result


if __name__ == "__main__":
    main()
