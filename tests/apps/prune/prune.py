"""A user's own training loop that reports to the sweep with ``hpt.report``: trials whose
curve is worse than the median at the same step are pruned."""

import hydra
from omegaconf import DictConfig

import hpt


@hydra.main(version_base=None, config_path="conf", config_name="config")
def train(cfg: DictConfig) -> float:
    loss = 0.0
    for step in range(cfg.steps):
        loss = (cfg.lr - 0.3) ** 2 + 1.0 / (step + 1)  # a learning curve that flattens
        hpt.report(loss, step)
    return loss


if __name__ == "__main__":
    train()
