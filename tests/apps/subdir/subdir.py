"""An app whose job dirs are its own (`experiments/${hydra.job.override_dirname}`), with a
loop that reports each step so a pruner can stop it: hpt's trials go where the app says."""

import hydra
from omegaconf import DictConfig

import hpt


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    loss = 0.0
    for step in range(cfg.steps):
        loss = (cfg.lr - 0.3) ** 2 + 1.0 / (step + 1)
        hpt.report(loss, step)  # raises hpt.TrialPruned when the pruner stops this trial
    return loss


if __name__ == "__main__":
    main()
