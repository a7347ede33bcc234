"""Training: the loop every kind of run fits with, and what runs around it.

Read in this order:

- ``loop_types``: what the loop takes and gives (``LoopSettings``, ``Parts``, ``FitResult``).
- ``loop``: the training loop: one step (``Update``), one epoch driver, plain arguments.
- ``settings``: the loop's settings resolved from a run's config.
- ``precision``: device and mixed-precision choices, resolved once per run.
- ``progress``: a run's progress bar or plain lines; ``reporter``: how a loop talks to a sweep.
- ``resume``, ``resume_guard``: ``checkpoints/last.pt`` and the check before ``--resume``.
- ``repeats``, ``cv``: runs made of several fits (k-fold, repeated), and the folds' rows.
- ``lr_find``, ``lr_curve``: ``hpt lr-find``, the learning-rate range test, and its curve.

Import names from the module that defines them; this face imports nothing.
"""
