"""Helpers that write synthetic run and sweep directories following hpt/rundir.py's contract.

Used by the tests in ``tests/summarize/`` and by ``benchmarks/summarize_speed.py``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BASE_PARAMS: dict[str, Any] = {
    "optimizer._target_": "torch.optim.AdamW",
    "optimizer.name": "adamw",
    "optimizer.lr": 0.001,
    "optimizer.weight_decay": 0.0,
    "model.name": "mlp",
    "model.hidden": 128,
    "trainer.batch_size": 128,
    "trainer.epochs": 3,
    "trainer.seed": 0,
    "trainer.amp": False,
}

OPTIMIZERS = {"adamw": "torch.optim.AdamW", "sgd": "torch.optim.SGD", "adam": "torch.optim.Adam"}


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_run(
    path: str | Path,
    *,
    status: str = "COMPLETE",
    value: float | None = 0.9,
    params: Mapping[str, Any] | None = None,
    objective: str = "val/acc",
    direction: str = "maximize",
    objectives: Sequence[tuple[str, float, str]] | None = None,
    epochs: int = 3,
    trial: int | None = None,
    study_name: str | None = None,
    error: str | None = None,
    error_kind: str | None = None,
    test_value: float | None = None,
    n_params: int = 109386,
    metrics: bool = True,
    manifest: Mapping[str, Any] | None = None,
    overrides: Sequence[str] | None = None,
) -> Path:
    """Write one run directory: result.json, metrics.jsonl, manifest.json, .hydra/*.

    Args:
        path: The run directory (created).
        status: result.json status.
        value: The primary objective value (None writes null).
        params: Overrides of ``BASE_PARAMS`` (flattened names).
        objective: Primary objective name.
        direction: Primary objective direction.
        objectives: (name, value, direction) for a multi-objective run; the first one is
            the primary objective.
        epochs: Epochs run (metrics.jsonl gets one line per epoch).
        trial: Optuna trial number (None writes ``"trial": null``).
        study_name: Study name for the ``trial`` block.
        error: Error text for failed runs.
        error_kind: nan | oom | exception | timeout | interrupted.
        test_value: ``test/<metric>`` value (omitted when None).
        n_params: Model size.
        metrics: Write metrics.jsonl.
        manifest: Overrides of the manifest fields.
        overrides: Hydra overrides for .hydra/overrides.yaml.

    Returns:
        The run directory.
    """
    run = Path(path)
    run.mkdir(parents=True, exist_ok=True)
    merged = {**BASE_PARAMS, **(params or {})}
    if objectives is None:
        objectives = [(objective, value if value is not None else math.nan, direction)]
    objs = [
        {"name": n, "value": _clean(v) if v is not None else None, "direction": d}
        for n, v, d in objectives
    ]
    primary = objs[0] if objs else None
    if primary is not None and value is None and len(objs) == 1:
        primary["value"] = None
    metric = primary["name"] if primary else objective
    final_value = primary["value"] if primary else None
    history = []
    for epoch in range(1, epochs + 1):
        frac = epoch / max(epochs, 1)
        v = final_value if isinstance(final_value, float) else 0.5
        history.append(
            {
                "epoch": epoch,
                "train/loss": round(1.0 - 0.8 * frac, 4),
                "val/loss": round(1.1 - 0.8 * frac, 4),
                metric: round(v * (0.7 + 0.3 * frac), 4),
                "lr": merged.get("optimizer.lr", 0.001),
                "time/epoch_s": 1.5,
                "throughput/samples_per_s": 40000.0,
            }
        )
    best = {"epoch": epochs, metric: final_value, "val/loss": 0.08, "train/loss": 0.07}
    result: dict[str, Any] = {
        "status": status,
        "objective": primary,
        "objectives": objs,
        "best": best if status != "FAIL" else {},
        "final": {**best, "lr": merged.get("optimizer.lr")} if status != "FAIL" else {},
        "test": {metric.replace("val/", "test/"): test_value, "test/loss": 0.09}
        if test_value is not None
        else {},
        "epochs": epochs,
        "duration_s": 4.0 * epochs,
        "error": error,
        "error_kind": error_kind,
        "params": merged,
        "model": {"n_params": n_params},
        "trial": {"number": trial, "study_name": study_name} if trial is not None else None,
    }
    _dump(run / "result.json", result)
    if metrics:
        with open(run / "metrics.jsonl", "w", encoding="utf-8") as f:
            for record in history:
                f.write(json.dumps(record) + "\n")
    _dump(
        run / "manifest.json",
        {
            "seed": merged.get("trainer.seed", 0),
            "git": {"commit": "abc1234", "dirty": False},
            "versions": {"python": "3.11.7", "torch": "2.9.0", "optuna": "5.0.0"},
            "device": "cpu",
            "precision": "fp32",
            "hostname": "testhost",
            "start_time": "2026-11-21T10:00:00",
            **(manifest or {}),
        },
    )
    hydra = run / ".hydra"
    hydra.mkdir(exist_ok=True)
    (hydra / "config.yaml").write_text(
        "".join(f"{k}: {json.dumps(v)}\n" for k, v in _nest_lines(merged)), encoding="utf-8"
    )
    (hydra / "overrides.yaml").write_text(
        "".join(f"- {o}\n" for o in (overrides or [])) or "[]\n", encoding="utf-8"
    )
    return run


def _nest_lines(flat: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Flat params as top-level YAML keys in flow style: ``{optimizer: {lr: 0.1}}``."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return list(nested.items())


def write_sweep(
    path: str | Path,
    *,
    study_name: str = "tpe",
    directions: Sequence[str] = ("maximize",),
    objectives: Sequence[str] = ("val/acc",),
    storage: str | None = "study.journal",
    search_space: Mapping[str, str] | None = None,
    n_trials: int = 0,
) -> Path:
    """Write ``sweep.json`` and ``search.yaml`` into a sweep directory (created)."""
    sweep = Path(path)
    sweep.mkdir(parents=True, exist_ok=True)
    _dump(
        sweep / "sweep.json",
        {
            "study_name": study_name,
            "storage": storage,
            "sampler": "TPESampler",
            "pruner": "HyperbandPruner",
            "directions": list(directions),
            "objectives": list(objectives),
            "n_trials": n_trials,
            "counts": {},
            "best": [],
            "search_space": dict(
                search_space or {"optimizer.lr": "tag(log, interval(1e-4, 1e-1))"}
            ),
        },
    )
    (sweep / "search.yaml").write_text("optimizer.lr: tag(log, interval(1e-4, 1e-1))\n")
    return sweep


def synthetic_sweep(path: str | Path, n: int, seed: int = 0, study_name: str = "synthetic") -> Path:
    """A sweep of ``n`` trial dirs with varied params and states (no study storage).

    About 75% COMPLETE, 15% PRUNED, 7% FAIL, 3% RUNNING; the objective depends on the
    learning rate and optimizer so importance has something to find.
    """
    rng = random.Random(seed)
    sweep = write_sweep(
        path,
        study_name=study_name,
        storage="study.journal",
        search_space={
            "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
            "optimizer": "choice(adamw, sgd)",
            "model.hidden": "choice(64, 128, 256)",
        },
        n_trials=n,
    )
    for i in range(n):
        lr = 10 ** rng.uniform(-4, -1)
        name = rng.choice(["adamw", "sgd"])
        hidden = rng.choice([64, 128, 256])
        acc = 0.99 - 0.05 * abs(math.log10(lr) + 3) - (0.02 if name == "sgd" else 0.0)
        acc += rng.gauss(0, 0.003)
        roll = rng.random()
        status, error, kind = "COMPLETE", None, None
        if roll > 0.97:
            status = "RUNNING"
        elif roll > 0.90:
            status, kind = "FAIL", rng.choice(["nan", "oom"])
            error = "loss is NaN" if kind == "nan" else "CUDA out of memory"
        elif roll > 0.75:
            status = "PRUNED"
        write_run(
            sweep / f"trial_{i:04d}",
            status=status,
            value=None if status == "FAIL" else round(acc, 5),
            params={
                "optimizer.lr": lr,
                "optimizer.name": name,
                "optimizer._target_": OPTIMIZERS[name],
                "model.hidden": hidden,
            },
            trial=i,
            study_name=study_name,
            error=error,
            error_kind=kind,
            test_value=round(acc - 0.002, 5) if status == "COMPLETE" else None,
            epochs=1 if status == "PRUNED" else 3,
            overrides=[f"optimizer={name}", f"optimizer.lr={lr}", f"model.hidden={hidden}"],
        )
    return sweep
