"""``logger=mlflow``: one MLflow run per hpt run, in a local SQLite store or on a tracking server.

The default store is ``sqlite:///<cwd>/outputs/mlflow.db`` (``mlflow ui --backend-store-uri``
opens it); ``logger.mlflow.tracking_uri=http://host:5000`` logs to a server. ``hpt train``
runs go to the experiment ``logger.mlflow.experiment``; a sweep's trials go to one experiment
per study, as nested runs under one parent run for the study, tagged with their trial number
and final state. The run id is kept in ``<run dir>/mlflow.json`` so a resumed run continues it.

A tracking server is probed once when the logger opens (``PROBE_S``): one that does not answer
is one line and exit 2 within seconds, instead of MLflow's minutes of retries. Requests then
retry briefly (``HTTP_DEFAULTS``, unless the MLFLOW_HTTP_* variables say otherwise), so a
server that dies mid-run costs seconds: ``hpt.loggers.Loggers`` turns the failure into one
warning and stops this logger while training goes on.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow import MlflowClient  # ImportError without mlflow: see open_loggers
from mlflow.entities import Metric, Param, RunTag

from hpt.errors import UserError
from hpt.loggers import RunInfo
from hpt.masking import is_masked, mask_url
from hpt.rundir import atomic_write_json, read_json

RUN_FILE = "mlflow.json"
PARENT_FILE = "mlflow_parent.json"
END_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}
# MLflow 3's UI shows an experiment by its kind: this one holds model-training runs (metrics
# per epoch, params), not GenAI traces.
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"
PROBE_S = 5.0  # how long the start-up probe waits for a tracking server
# MLflow's defaults (7 retries, backoff factor 2, 120 s timeout) wait minutes for a dead server.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}


def probe(uri: str, timeout: float = PROBE_S) -> None:
    """One request to an ``http(s)://`` tracking server; no answer is a ``UserError``. Any HTTP
    answer (even 404 from a server without ``/health``) means it is there."""
    if not uri.startswith(("http://", "https://")):
        return
    import base64
    import ssl
    import urllib.error
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(_without_credentials(uri).rstrip("/") + "/health")
    parts = urllib.parse.urlsplit(uri)
    if parts.username is not None:  # as MLflow sends them: HTTP basic authentication
        token = (
            f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        )
        request.add_header("Authorization", "Basic " + base64.b64encode(token.encode()).decode())
    try:
        urllib.request.urlopen(request, timeout=timeout).close()
    except urllib.error.HTTPError:
        return
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out, not a URL
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, ssl.SSLError):
            return  # it answered; whether its certificate is trusted is MLflow's to say
        raise UserError(
            f"logger.mlflow.tracking_uri={mask_url(uri)}: the tracking server does not answer "
            f"({reason}); start it, or choose another tracking_uri or logger"
        ) from None


def _without_credentials(uri: str) -> str:
    """``http://user:pw@host:5000/x`` -> ``http://host:5000/x`` (urllib cannot connect to the
    first: it takes ``user:pw@host`` for the host name)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


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
        if not str(experiment or "").strip():  # MLflow: "internal error" further down
            raise UserError("logger.mlflow.experiment is empty: name the experiment (default hpt)")
        uri = tracking_uri or default_uri(info.cwd)
        if uri.startswith(("http://", "https://")):
            for key, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(key, value)
            if mask_url(uri) != uri:  # MLflow prints each run's URL, credentials included
                os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
            probe(uri)
        # A local store keeps artifacts beside its database (MLflow's default is ./mlruns).
        self.artifacts: str | None = None
        if uri.startswith("sqlite:///"):
            db_dir = Path(uri[len("sqlite:///") :]).parent
            db_dir.mkdir(parents=True, exist_ok=True)
            self.artifacts = (db_dir / "mlartifacts").resolve().as_uri()
        if self.artifacts is not None:  # one process at a time creates or migrates the schema
            with _locked(Path(uri[len("sqlite:///") :] + ".lock")):
                self.client = MlflowClient(tracking_uri=uri)
                self.client.search_experiments(max_results=1)  # the store opens on first use
        else:
            self.client = MlflowClient(tracking_uri=uri)
        self.pending: list[Any] = []
        saved = read_json(info.run_dir / RUN_FILE) if info.start_epoch else None
        if saved and saved.get("tracking_uri") == mask_url(uri):  # resumed: the same MLflow run
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
        record = {"tracking_uri": mask_url(uri), "run_id": self.run_id}  # no password on disk
        atomic_write_json(info.run_dir / RUN_FILE, record)
        params = [Param(k, str(v)[:6000]) for k, v in info.params.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if KIND_TAG not in found.tags:  # made by an older hpt, or by hand
                self.client.set_experiment_tag(found.experiment_id, KIND_TAG, KIND)
            return str(found.experiment_id)
        try:
            location = f"{self.artifacts}/{name}" if self.artifacts else None
            return str(
                self.client.create_experiment(
                    name, artifact_location=location, tags={KIND_TAG: KIND}
                )
            )
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


def end_parent(sweep_dir: Path, state: str, tracking_uri: str | None = None) -> bool:
    """End a sweep's parent MLflow run (``mlflow_parent.json`` in ``sweep_dir``) with the sweep's
    final ``state`` (COMPLETE, FAIL, or anything else for KILLED); False when the sweep has no
    parent run. ``tracking_uri``: the trials' (their ``mlflow.json`` says it when not given)."""
    saved = read_json(sweep_dir / PARENT_FILE)
    if not saved:
        return False
    uri = tracking_uri or _trials_uri(sweep_dir)
    if uri is None or (tracking_uri is None and is_masked(uri)):
        return False  # the trials' masked URI would log in as ***: the sweep passes its own
    client = MlflowClient(tracking_uri=uri)
    client.set_tag(str(saved["run_id"]), "state", state)
    client.set_terminated(str(saved["run_id"]), status=END_STATUS.get(state, "KILLED"))
    return True


def _trials_uri(sweep_dir: Path) -> str | None:
    for run_file in sorted(sweep_dir.glob(f"*/{RUN_FILE}")):
        uri = (read_json(run_file) or {}).get("tracking_uri")
        if isinstance(uri, str):
            return uri
    return None
