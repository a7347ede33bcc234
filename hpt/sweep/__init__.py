"""``hpt sweep``: hpt's own Optuna sweeper for Hydra (asynchronous workers, pruning, resume)."""
