"""An app whose searched key is `???` (Hydra's "the sweep supplies this"), run as a
hydra-optuna-sweeper user runs it: Hydra's own job subdirs (0/, 1/, ...), no baseline."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return float((cfg.x - 2) ** 2 + cfg.scale)


if __name__ == "__main__":
    main()
