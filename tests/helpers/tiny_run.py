"""A small trained run dir for the tests that use one (predict, eval, export, hpt.api.load):
breast-cancer rows, an MLP, one epoch on the CPU; a few seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import sk_data


def train_tiny_run(folder: Path) -> dict[str, Path]:
    """``folder/run`` trained on 450 rows; ``folder/new.csv``: 20 other rows, labelled."""
    import pandas as pd

    from hpt.api import train

    shared = sk_data.shared_dir()
    folder.mkdir(parents=True, exist_ok=True)
    pd.read_csv(shared / "bc_test.csv").head(20).to_csv(folder / "new.csv", index=False)
    overrides = [
        "data=table",
        f"data.path={shared / 'bc_train.csv'}",
        "data.target=target",
        "model.width=8",
        "trainer.epochs=1",
        "trainer.device=cpu",
    ]
    result = train(overrides, run_dir=folder / "run")
    assert result["status"] == "COMPLETE", result
    return {"run": folder / "run", "new": folder / "new.csv"}


def edit_best_json(run: Path, **changes: Any) -> dict[str, Any]:
    """Rewrite ``run/checkpoints/best.json`` with ``changes`` (as a tamperer would)."""
    path = run / "checkpoints" / "best.json"
    spec = json.loads(path.read_text())
    spec.update(changes)
    path.write_text(json.dumps(spec))
    return spec


def hpt_in_process(capsys: Any, *args: object) -> tuple[int, str, str]:
    """``hpt ARGS`` in this process: exit code, stdout, stderr."""
    from hpt.cli.commands import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
