"""Using a tuned run: its model on new data, its metrics again, the model as one file.

Read in this order:

- ``preprocessing``: everything needed to use a trained run, kept in its run dir as plain JSON.
- ``trust``: what loading a run may import and call (a run directory is data, not code).
- ``sealed``: checkpoint files sealed with the sha256 of their bytes, checked on every load.
- ``predict``: ``hpt predict RUN_DIR INPUT -o OUTPUT``.
- ``evaluate``: ``hpt eval RUN_DIR``: a run's best checkpoint evaluated again.
- ``export``, ``standalone``: ``hpt export``: the model with its preprocessing inside, one file.

From Python, ``hpt.api.load`` gives a run's model. Import names from the module that defines
them; this face imports nothing.
"""
