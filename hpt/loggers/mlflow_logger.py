"""``logger=mlflow``: one MLflow run per hpt run, in a local SQLite store or on a tracking server.

The default store is ``sqlite:///<cwd>/outputs/mlflow.db`` (``mlflow ui --backend-store-uri``
opens it); ``logger.mlflow.tracking_uri=http://host:5000`` logs to a server. ``hpt train``
runs go to the experiment ``logger.mlflow.experiment``; a sweep's trials go to one experiment
per study, as nested runs under one parent run for the study, tagged with their trial number
and final state. The run id is kept in ``<run dir>/mlflow.json`` so a resumed run continues it.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow import MlflowClient  # ImportError without mlflow: see open_loggers
from mlflow.entities import Metric, Param, RunTag

from hpt.loggers import RunInfo
from hpt.rundir import atomic_write_json, read_json

RUN_FILE = "mlflow.json"
PARENT_FILE = "mlflow_parent.json"
END_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}


def default_uri(cwd: Path) -> str:
    return f"sqlite:///{(cwd / 'outputs' / 'mlflow.db').resolve()}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Workers of one sweep start together: only one of them may create the study's parent run."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class MlflowLogger:
    def __init__(
        self, info: RunInfo, tracking_uri: str | None = None, experiment: str = "hpt"
    ) -> None:
        uri = tracking_uri or default_uri(info.cwd)
        # A local store keeps artifacts beside its database (MLflow's default is ./mlruns).
        self.artifacts: str | None = None
        if uri.startswith("sqlite:///"):
            db_dir = Path(uri[len("sqlite:///") :]).parent
            db_dir.mkdir(parents=True, exist_ok=True)
            self.artifacts = (db_dir / "mlartifacts").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        self.pending: list[Any] = []
        saved = read_json(info.run_dir / RUN_FILE) if info.start_epoch else None
        if saved and saved.get("tracking_uri") == uri:  # resumed: continue the same MLflow run
            self.run_id = str(saved["run_id"])
            self.client.update_run(self.run_id, status="RUNNING")
            return
        tags = {"hpt.run_dir": str(info.run_dir.resolve())}
        if info.trial is None:
            experiment_id = self._experiment(experiment)
        else:  # a sweep: one experiment per study, a parent run for the study, a child per trial
            study = str(info.trial["study_name"])
            experiment_id = self._experiment(study)
            tags["mlflow.parentRunId"] = self._parent(experiment_id, study, info.run_dir.parent)
            tags["trial"] = str(info.trial["number"])
            tags["state"] = "RUNNING"
        self.run_id = self.client.create_run(
            experiment_id, run_name=info.name, tags=tags
        ).info.run_id
        atomic_write_json(info.run_dir / RUN_FILE, {"tracking_uri": uri, "run_id": self.run_id})
        params = [Param(k, str(v)[:6000]) for k, v in info.params.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            location = f"{self.artifacts}/{name}" if self.artifacts else None
            return str(self.client.create_experiment(name, artifact_location=location))
        except Exception:  # another worker created it first
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)

    def _parent(self, experiment_id: str, study: str, sweep_dir: Path) -> str:
        with _locked(sweep_dir / f".{PARENT_FILE}.lock"):
            saved = read_json(sweep_dir / PARENT_FILE)
            if saved and saved.get("experiment_id") == experiment_id:
                return str(saved["run_id"])
            run = self.client.create_run(experiment_id, run_name=study, tags={"study": study})
            atomic_write_json(
                sweep_dir / PARENT_FILE,
                {"experiment_id": experiment_id, "run_id": run.info.run_id},
            )
            return str(run.info.run_id)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items() if k != "epoch"]
        # Asynchronous: MLflow's own thread writes the batch while the next epoch trains.
        self.pending.append(self.client.log_batch(self.run_id, metrics=batch, synchronous=False))

    def log_image(self, tag: str, png: Path, step: int) -> None:
        self.client.log_artifact(self.run_id, str(png), artifact_path=tag)

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        for op in self.pending:
            if op is not None:
                op.wait()
        step = 0
        now = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(k, float(v), now, step) for k, v in summary.items()],
            tags=[RunTag("state", status)],
        )
        self.client.set_terminated(self.run_id, status=END_STATUS.get(status, "KILLED"))
