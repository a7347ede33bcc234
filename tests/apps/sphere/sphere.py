"""Hydra's own Optuna sweeper example (plugins/hydra_optuna_sweeper/example), with
``override hydra/sweeper: hpt``. Two optional keys make trials fail for the tests."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def sphere(cfg: DictConfig) -> float:
    x: float = cfg.x
    y: float = cfg.y
    if cfg.get("fail_above") is not None and x > cfg.fail_above:
        raise ValueError(f"x={x} is too large for this app")
    return x**2 + y**2


if __name__ == "__main__":
    sphere()
