"""A user's app that writes a file per trial: with ``HPT_TEST_FULL=1`` its file is /dev/full,
where every write fails with a real "No space left on device", as on a disk that filled."""

import os

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def full(cfg: DictConfig) -> float:
    path = "/dev/full" if os.environ.get("HPT_TEST_FULL") else "out.txt"
    with open(path, "w") as f:
        f.write(f"x={cfg.x}\n")
    return float(cfg.x) ** 2


if __name__ == "__main__":
    full()
