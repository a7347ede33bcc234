"""``hpt sweep``: hpt's own Optuna sweeper for Hydra (asynchronous workers, pruning, resume).

- ``command``: the ``hpt sweep`` command; ``runner``: one sweep, from its settings to its end.
- ``planning/``: the settings checked and resolved into one typed ``Plan``, before anything
  is written.
- ``running/``: the study, the workers and their trials, each trial's verdict and the record.
- ``chosen``, ``refit``: the trial the sweep hands over, and its refit on every training row.
- ``optuna_internals``: every use of Optuna's private API.

Import names from the module that defines them; this face imports nothing.
"""
