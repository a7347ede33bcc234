"""The sweep's running: the study opened, the workers and their trials, and the record.

Read in this order:

- ``study``: the Optuna study, created or resumed, queued (``baseline``, ``warm`` start).
- ``rounds``: the workers under the live monitor (``monitor``): this process, spawned
  processes (``process``) in rounds, or cluster jobs (``cluster``).
- ``spec``: what a worker is given; ``worker``: ask, run, tell, no batches.
- ``trial``: one trial's lifecycle (its config composed by ``compose``, kept alive by
  ``liveness``).
- ``objective``: what a trial's task returned, decided as a ``Verdict``; ``verdict``: the
  ``Verdict``, recorded in result.json and told to the study.
- ``accounting``: who owns which trial: the budget, stale trials, retries.

Import names from the module that defines them; this face imports nothing.
"""
