"""A script that starts Hydra at import time, without ``if __name__ == "__main__":``: fine
with one worker, but spawned workers (n_jobs > 1) re-import it and die on start."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="../sphere/conf", config_name="config")
def sphere(cfg: DictConfig) -> float:
    return float(cfg.x) ** 2 + float(cfg.y) ** 2


sphere()
