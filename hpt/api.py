"""hpt from Python (notebooks, scripts): one training run from a list of overrides.

    from hpt.api import train

    result = train(["data=table", "data.path=wine.csv", "data.target=quality", "model=mlp"])
    result["objective"]  # {"name": "val/acc", "value": 0.97, "direction": "maximize"}
    model = load(result.run_dir)  # or any run dir, a sweep's best trial included
    model.predict("new_wines.csv")  # a DataFrame: the rows, prediction, p_<class>

The overrides are exactly those of ``hpt train`` (same configs, including the user's
``./conf``, ``HPT_CONFIG_DIR`` and ``config_dir=``), and the return value is the run's
``result.json`` as a dict, whose ``run_dir`` attribute is the run directory. A bad override
or bad input raises ``hpt.errors.UserError`` with the same one line ``hpt train`` prints; a
run that fails while training is returned with ``status == "FAIL"`` and its ``error``, as the
CLI records it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpt.errors import UserError, one_line

__all__ = ["Model", "Result", "compose", "load", "train"]


class Result(dict):  # type: ignore[type-arg]
    """A run's ``result.json`` contents; ``run_dir``: the run directory."""

    def __init__(self, data: dict[str, Any], run_dir: Path) -> None:
        super().__init__(data)
        self.run_dir = run_dir


class Model:
    """A trained run's model, ready to predict (``load(run_dir)``).

    ``module`` is the ``torch.nn.Module`` (on the CPU, eval mode); ``problem`` and ``classes``
    say what it predicts; ``preprocessing`` is the run's ``preprocessing.json``.
    """

    def __init__(self, run_dir: str | Path, *, trust_code: bool = False) -> None:
        from hpt.use.preprocessing import Trained

        self._trained = Trained(run_dir, trust_code=trust_code)
        self.run_dir = self._trained.run_dir
        self.module = self._trained.model()
        self.problem = self._trained.problem
        self.classes = self._trained.classes
        self.preprocessing = self._trained.prep

    def predict(self, data: Any) -> Any:
        """Predictions for new inputs, as ``hpt predict`` makes them.

        Args:
            data: A DataFrame of raw rows, a path to a table, an image or a folder of images,
                or a tensor of raw inputs (encoded table columns, uint8 images, your own
                tensors).

        Returns:
            A pandas DataFrame, one row per input (``hpt predict``'s columns).
        """
        from hpt.use.predict import predict

        return predict(self._trained, self.module, data, "data")

    def __repr__(self) -> str:
        return f"Model({str(self.run_dir)!r}, problem={self.problem!r})"


def load(run_dir: str | Path, *, trust_code: bool = False) -> Model:
    """The model of a finished run directory, rebuilt from it alone (``Model.predict``).

    A run directory is data, not code: its model is built only from a ``torch.nn.Module``
    class (or hpt's own model options) importable here, never from a module inside the run
    dir or from the project folder it recorded, unless ``trust_code`` (``hpt.use.trust``).

    Args:
        run_dir: A run directory (``result.run_dir``, or any run's, a sweep's trial included).
        trust_code: Import from the run's recorded project folder and call any ``_target_``
            it names, as ``--trust-code`` does: only for a run whose author you trust.

    Returns:
        The run's model, ready to predict.

    Raises:
        UserError: (one line) The run dir has no preprocessing.json, the run failed, or its
            model names code this may not run.
    """
    return Model(run_dir, trust_code=trust_code)


def compose(overrides: Sequence[str] = (), *, config_dir: str | Path | None = None) -> Any:
    """The config ``hpt train OVERRIDES`` would run.

    Args:
        overrides: ``hpt train``'s overrides (``model=mlp``, ``trainer.epochs=3``).
        config_dir: A folder of config groups layered over hpt's (``--config-dir``).

    Returns:
        An OmegaConf DictConfig, with its ``hydra`` node.

    Raises:
        UserError: A bad override, with the one line ``hpt train`` prints.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from hpt.cli import app, argv
    from hpt.config.schema import register

    register()
    argv.importable_cwd()
    overrides = argv.renamed_overrides(list(overrides), "hpt.api")
    with argv.using_config_dir(None if config_dir is None else str(config_dir)):
        try:
            with initialize_config_dir(str(app.config_dir()), version_base="1.3", job_name="train"):
                return hydra_compose("config", overrides=overrides, return_hydra_config=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise UserError(one_line(exc)) from exc


def train(
    overrides: Sequence[str] = (),
    *,
    run_dir: str | Path | None = None,
    config_dir: str | Path | None = None,
    quiet: bool = True,
) -> Result:
    """Run one training and return its ``result.json`` contents.

    Args:
        overrides: ``hpt train``'s overrides (``model=mlp``, ``trainer.epochs=3``).
        run_dir: Where the run directory goes (default ``outputs/runs/<timestamp>``, as the
            CLI).
        config_dir: A folder of config groups layered over hpt's (``--config-dir``).
        quiet: No progress display (``trainer.quiet``).

    Returns:
        The run's ``result.json`` as a dict; its ``run_dir`` attribute is where it is. A run
        that failed while training has ``status == "FAIL"`` and its ``error``.

    Raises:
        UserError: A bad override or bad input, with the one line ``hpt train`` prints.
    """
    from hydra.errors import HydraException
    from omegaconf import open_dict
    from omegaconf.errors import OmegaConfBaseException

    from hpt import train as training
    from hpt.rundir import RESULT

    cfg = compose([*overrides, *(["trainer.quiet=true"] if quiet else [])], config_dir=config_dir)
    choices = {str(k): v for k, v in cfg.hydra.runtime.choices.items()}
    with open_dict(cfg):
        del cfg["hydra"]  # the run needs only its own groups; ${now:} lives in hydra.*
    path = Path(run_dir) if run_dir is not None else _default_run_dir()
    try:
        training.run(cfg, path, choices=choices)
    except (HydraException, OmegaConfBaseException) as exc:
        raise UserError(one_line(exc)) from exc
    return Result(json.loads((path / RESULT).read_text()), path)


def _default_run_dir() -> Path:
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    return Path("outputs") / "runs" / f"{stamp}-{time.time_ns() % 1_000_000:06d}"
