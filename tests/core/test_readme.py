"""The README's quick start runs as written: every shell block marked ``<!-- runnable ... -->``
is run with bash in an empty folder, on the CPU, with the installed ``hpt`` on PATH. And the
files the docs point readers to exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(
    r"<!-- runnable[^>]*-->\n```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S
)


def test_every_source_or_test_file_the_docs_name_exists() -> None:
    docs = [
        p
        for p in REPO.rglob("*.md")
        if not {".venv", ".venvs", "node_modules", ".git"} & set(p.relative_to(REPO).parts)
    ]
    named = {
        (doc.relative_to(REPO).as_posix(), path)
        for doc in docs
        for path in re.findall(
            r"\b((?:hpt|tests|hydra_plugins|benchmarks)/[\w/]+\.py)\b", doc.read_text()
        )
    }
    assert len(named) > 10
    assert sorted((doc, path) for doc, path in named if not (REPO / path).exists()) == []


def test_the_readme_has_runnable_blocks() -> None:
    assert BLOCKS, "the README lost its runnable quick start"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_a_runnable_readme_block_runs_as_written(block: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HPT_DATA_DIR", "HYDRA_FULL_ERROR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    r = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    if "--html report.html" in block:
        html = (tmp_path / "report.html").read_text()
        assert "<html" in html.lower() and "plotly" in html.lower()
