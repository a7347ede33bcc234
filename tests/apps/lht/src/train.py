"""A lightning-hydra-template-style project (src/train.py, configs/, ``-m hparams_search=NAME``)
with its Optuna search config changed only in the sweeper line. The "training" is a cheap
closed-form curve so the sweep is quick; the structure is what matters."""

from typing import Any

import hydra
from omegaconf import DictConfig


def train(cfg: DictConfig) -> dict[str, Any]:
    lr, width = cfg.model.lr, cfg.model.width
    acc = 0.99 - (lr - 0.01) ** 2 * 50 - abs(width - 64) / 1000 - cfg.data.batch_size / 1e5
    return {"val/acc_best": acc, "val/loss": 1 - acc}


def get_metric_value(metric_dict: dict[str, Any], metric_name: str | None) -> float | None:
    if not metric_name:
        return None
    return float(metric_dict[metric_name])


@hydra.main(version_base="1.3", config_path="../configs", config_name="train.yaml")
def main(cfg: DictConfig) -> float | None:
    metric_dict = train(cfg)
    return get_metric_value(metric_dict, cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
