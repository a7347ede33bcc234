"""A grid over a float step range and a shuffled range, as hydra-optuna-sweeper's grid users
write them: the app records the exact values it was handed."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return float(cfg.x) * int(cfg.n)


if __name__ == "__main__":
    main()
