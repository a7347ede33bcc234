"""A password in any URL setting (``logger.mlflow.tracking_uri``, ``hydra.sweeper.storage``) is
masked (``user:***@host``) in every file hpt or Hydra writes for a run or sweep and in every
message, while the run itself uses the real URL (``hpt.masking``)."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from helpers import run_in_process, sk_data

SECRET = "s3cret-Pw"
TINY = [
    "data=table",
    "data.target=target",
    "model.width=8",
    "trainer.epochs=1",
    "trainer.device=cpu",
    "trainer.quiet=true",
]


class _Tracker(http.server.BaseHTTPRequestHandler):
    """Answers every request with ``{}`` and keeps its path and Authorization header: enough
    for hpt's probe and for MLflow's client to go on (or fail, which hpt turns into a warning)."""

    seen: ClassVar[list[tuple[str, str | None]]] = []

    def _answer(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tracker() -> Iterator[str]:
    """A tracking URI with a password, served on loopback."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tracker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Tracker.seen.clear()
    yield f"http://alice:{SECRET}@127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    os.environ.pop("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", None)  # hpt set it for this URI


def _files_with_secret(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]


def test_a_tracking_uri_password_is_in_no_file_of_the_run_and_no_message(
    tracker: str, tmp_path: Path
) -> None:
    pytest.importorskip("mlflow")
    data = f"data.path={sk_data.shared_dir() / 'bc_train.csv'}"
    argv = ["train", *TINY, data, "logger=mlflow", f"logger.mlflow.tracking_uri={tracker}"]
    code, out, err = run_in_process(*argv, "hydra.run.dir=run", cwd=tmp_path)
    assert code == 0, err
    assert SECRET not in out + err
    assert _files_with_secret(tmp_path / "run") == []
    overrides = (tmp_path / "run" / ".hydra" / "overrides.yaml").read_text()
    assert "tracking_uri=http://alice:***@127.0.0.1" in overrides
    # the probe reached the server with the credentials, as MLflow sends them (basic auth)
    assert ("/health", "Basic " + _basic(f"alice:{SECRET}")) in _Tracker.seen


def test_a_sweeps_trials_write_no_password_of_a_tracking_uri(tracker: str, tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    data = f"data.path={sk_data.shared_dir() / 'bc_train.csv'}"
    argv = ["sweep", *TINY, data, "logger=mlflow", f"logger.mlflow.tracking_uri={tracker}"]
    code, out, err = run_in_process(
        *argv,
        "optimizer.lr=interval(0.01, 0.1)",
        "hydra.sweeper.n_trials=1",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert code == 0, err
    assert SECRET not in out + err
    assert (tmp_path / "sweep" / "trial_0000" / ".hydra" / "config.yaml").is_file()
    assert (tmp_path / "sweep" / "multirun.yaml").is_file()  # Hydra's settings, once
    assert _files_with_secret(tmp_path / "sweep") == []


def test_a_bad_value_holding_a_url_is_one_masked_line(tmp_path: Path) -> None:
    code, _, err = run_in_process(
        "train", f"trainer.epochs=postgresql://bob:{SECRET}@db.example/x", cwd=tmp_path
    )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert SECRET not in err and "bob:***@db.example" in err


def _basic(token: str) -> str:
    import base64

    return base64.b64encode(token.encode()).decode()
