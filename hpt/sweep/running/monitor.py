"""The sweep's live view and its record: counts by state, running trials, best so far, ETA,
and ``sweep.json`` (hpt's) and ``optimization_results.yaml`` (hydra-optuna-sweeper's)
rewritten (atomically) whenever a trial finishes."""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpt.rundir import SWEEP, atomic_write_json, atomic_write_text
from hpt.sweep.chosen import baseline_trial, chosen
from hpt.sweep.running import accounting
from hpt.sweep.running.trial import A_EPOCH
from hpt.sweep.running.verdict import A_DIVERGED, A_SE
from hpt.sweep.running.worker import A_STOP


def best_trials(study: optuna.Study, trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """The best feasible trial (single objective), or the Pareto front (several).

    Args:
        study: The Optuna study (its directions).
        trials: The study's trials.

    Returns:
        The best trial, or the front sorted by number; empty before any trial completed.
        Warm-start trials of an earlier sweep never count.
    """
    complete = [  # infeasible (hydra.sweeper.constraints) or diverged trials never win
        t
        for t in trials
        if t.state == TrialState.COMPLETE
        and t.values is not None
        and accounting.feasible(t)
        and accounting.counts(t)  # not a warm-start trial of an earlier sweep
        and not t.user_attrs.get(A_DIVERGED)
    ]
    if not complete:
        return []
    if len(study.directions) == 1:
        return [chosen(complete, study.direction == optuna.study.StudyDirection.MAXIMIZE)]
    front = [t for t in study.best_trials if accounting.counts(t)]  # the (feasible) Pareto set
    return sorted(front, key=lambda t: t.number)


def trial_record(t: FrozenTrial) -> dict[str, Any]:
    """A trial as ``sweep.json`` lists it.

    Args:
        t: The trial.

    Returns:
        Its number, values, params and folder.
    """
    record = {
        "number": t.number,
        "values": t.values,
        "params": t.params,
        "dir": t.user_attrs.get("dir"),
    }
    if isinstance(t.user_attrs.get(A_SE), int | float):
        record["se"] = t.user_attrs[A_SE]  # the objective's standard error (hpt.selection)
    return record


OPTIMIZATION_RESULTS = "optimization_results.yaml"


def optimization_results(best: list[dict[str, Any]], n_objectives: int) -> dict[str, Any] | None:
    """hydra-optuna-sweeper's results file, with its keys and meaning.

    Its docs and lightning-hydra-template's README point users to it.

    Args:
        best: The best trials, as ``trial_record`` makes them.
        n_objectives: The study's number of objectives.

    Returns:
        The file's content, or None before any trial completed.
    """
    if not best:
        return None
    if n_objectives == 1:
        return {
            "name": "optuna",
            "best_params": best[0]["params"],
            "best_value": best[0]["values"][0],
        }
    return {
        "name": "optuna",
        "solutions": [{"params": b["params"], "values": b["values"]} for b in best],
    }


class Monitor:
    """The live status line (rich on a terminal, plain lines otherwise), a line per finished
    trial, and the sweep's record files, refreshed each second from the study."""

    def __init__(
        self,
        study: optuna.Study,
        sweep_dir: Path,
        meta: dict[str, Any],
        n_trials: int,
        live: bool | None = None,
    ) -> None:
        self.study, self.sweep_dir, self.meta, self.n_trials = study, sweep_dir, meta, n_trials
        self.started = time.time()
        self.live = sys.stderr.isatty() if live is None else live
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_done = -1
        self._live_display: Any = None
        self._reported: set[int] = {  # trials finished before this invocation: not reprinted
            t.number for t in study.get_trials(deepcopy=False) if t.state in accounting.FINISHED
        }

    # -- record --
    def snapshot(self) -> dict[str, Any]:
        """The sweep as it stands.

        Returns:
            The plan's description with the budget, counts by state, the best trial(s), the
            running trials (number, epoch, folder), the time elapsed and the stop reason.
        """
        trials = self.study.get_trials(deepcopy=False)
        counts = accounting.state_counts(trials)
        best = best_trials(self.study, trials)
        return {
            **self.meta,
            "n_trials": self.n_trials,
            "counts": counts,
            "best": [trial_record(t) for t in best],
            "baseline": baseline_trial(trials, trial_record),
            "running": [
                {
                    "number": t.number,
                    "epoch": t.system_attrs.get(A_EPOCH, len(t.intermediate_values)),
                    "dir": t.user_attrs.get("dir"),
                }
                for t in trials
                if t.state == TrialState.RUNNING
            ],
            "elapsed_s": round(time.time() - self.started, 1),
            "stopped": accounting.study_attr(self.study, A_STOP),
        }

    def write(self, snap: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write ``sweep.json`` and (once a trial completed) ``optimization_results.yaml``.

        Args:
            snap: The snapshot to write (default: a new one).

        Returns:
            The snapshot written.
        """
        snap = snap or self.snapshot()
        atomic_write_json(self.sweep_dir / SWEEP, {k: v for k, v in snap.items() if k != "running"})
        results = optimization_results(snap["best"], len(self.study.directions))
        if results is not None:
            from omegaconf import OmegaConf

            atomic_write_text(
                self.sweep_dir / OPTIMIZATION_RESULTS, OmegaConf.to_yaml(OmegaConf.create(results))
            )
        return snap

    # -- display --
    def _line(self, snap: dict[str, Any]) -> str:
        c = snap["counts"]
        done = c["COMPLETE"] + c["PRUNED"] + c["FAIL"]
        eta = ""
        if 0 < done < self.n_trials:
            eta = f"  eta {snap['elapsed_s'] / done * (self.n_trials - done):.0f}s"
        best = ""
        if snap["best"]:
            b = snap["best"][0]
            vals = ", ".join(f"{v:.4g}" for v in b["values"])
            best = f"  best #{b['number']}: {vals}" + (
                f" (+{len(snap['best']) - 1} on the Pareto front)" if len(snap["best"]) > 1 else ""
            )
        running = " ".join(f"#{r['number']}@e{r['epoch']}" for r in snap["running"])
        return (
            f"[{done}/{self.n_trials}] complete {c['COMPLETE']} pruned {c['PRUNED']} "
            f"failed {c['FAIL']} running {c['RUNNING']}"
            f"{best}  elapsed {snap['elapsed_s']:.0f}s{eta}"
            + (f"  running: {running}" if running else "")
        )

    def tick(self) -> None:
        """Refresh the status; when a trial finished, rewrite the record and report it."""
        try:
            snap = self.snapshot()
        except Exception:
            return  # a storage hiccup must not end the sweep; the next tick retries
        c = snap["counts"]
        done = c["COMPLETE"] + c["PRUNED"] + c["FAIL"]
        if done != self._last_done:
            self._last_done = done
            self.write(snap)
            self._report_finished(snap)
            if not self.live:
                print(self._line(snap), file=sys.stderr, flush=True)
        if self._live_display is not None:
            from rich.text import Text

            self._live_display.update(Text(self._line(snap)))

    def _report_finished(self, snap: dict[str, Any]) -> None:
        """One line per newly finished trial, above the live status (or between the plain
        status lines): number, state, objective, duration, params that differ from the best."""
        best = snap["best"][0]["params"] if snap["best"] else {}
        for t in self.study.get_trials(deepcopy=False, states=accounting.FINISHED):
            if t.number in self._reported or t.system_attrs.get(accounting.A_DISCARDED):
                continue
            self._reported.add(t.number)
            line = trial_line(t, best, self.meta.get("objectives") or [])
            if self._live_display is not None:
                self._live_display.console.print(line, highlight=False, markup=False)
            else:  # a result, not a status: stdout, where the best trial is printed too
                print(line, flush=True)

    def start(self) -> None:
        """Start the live display (on a terminal) and the refresh each second."""
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._live_display = Live(
                console=Console(stderr=True), refresh_per_second=2, transient=False
            )
            self._live_display.start()

        def loop() -> None:
            while not self._stop.wait(1.0):
                self.tick()

        self._thread = threading.Thread(target=loop, daemon=True, name="hpt-monitor")
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        """Stop refreshing, after a last refresh.

        Returns:
            The last snapshot, as written to ``sweep.json``.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.tick()
        if self._live_display is not None:
            self._live_display.stop()
        return self.write()


def trial_line(t: FrozenTrial, best: dict[str, Any], names: list[str]) -> str:
    """One line for a finished trial.

    Args:
        t: The trial.
        best: The best trial's params (the line shows those that differ, or all of them on
            the best trial's own line).
        names: The objectives' names.

    Returns:
        Number, state, objective values (or the step pruned at, or the error), duration and
        the params that differ from the best; the best's own params on its line.
    """
    took = (
        f"  {(t.datetime_complete - t.datetime_start).total_seconds():.1f}s"
        if t.datetime_complete and t.datetime_start
        else ""
    )
    if t.state == TrialState.COMPLETE and t.values:
        what = "  ".join(
            f"{n}={v:.4g}" for n, v in zip(names or ["objective"] * len(t.values), t.values)
        )
    elif t.state == TrialState.PRUNED:
        steps = sorted(t.intermediate_values)
        what = f"at step {steps[-1]}" if steps else ""
    else:
        what = str(t.user_attrs.get("error") or "")[:160]
    differ = {k: v for k, v in t.params.items() if best.get(k) != v}
    # The best trial (nothing differs) shows its own settings; another, where it differs.
    is_best = bool(t.params) and not differ and t.state == TrialState.COMPLETE
    shown = " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in (t.params if is_best else differ).items()
    )
    label = "best so far: " if is_best else "vs best: "
    line = f"trial {t.number} {t.state.name} {what}{took}"
    return line + (f"  [{label}{shown}]" if shown else "")


def format_best(snap: dict[str, Any], objectives: list[str]) -> list[str]:
    """The best trial(s), as the sweep's last lines print them.

    Args:
        snap: The monitor's snapshot.
        objectives: The objectives' names.

    Returns:
        One line per best trial: values, params and folder.
    """
    lines = []
    for b in snap["best"]:
        vals = ", ".join(
            f"{n}={v:.6g}"
            for n, v in zip(objectives, b["values"])
            if not (isinstance(v, float) and math.isnan(v))
        )
        params = " ".join(
            f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in b["params"].items()
        )
        lines.append(f"best trial #{b['number']}: {vals}  [{params}]  dir: {b['dir']}")
    return lines
