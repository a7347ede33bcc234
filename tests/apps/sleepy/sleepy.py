"""A user's app whose trials take a while (``sleep`` seconds): long enough for a test to kill
the worker process that runs one."""

import time

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def sleepy(cfg: DictConfig) -> float:
    time.sleep(cfg.sleep)
    return float(cfg.x) ** 2


if __name__ == "__main__":
    sleepy()
