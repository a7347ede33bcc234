"""The sweep's planning: its settings checked and resolved before anything is written.

Read in this order:

- ``options``: the sweeper's typed options (Optuna's samplers and pruners as config groups).
- ``validate``: each setting checked, one line and exit 2 per mistake.
- ``space``: search spaces in Hydra's override grammar, as Optuna distributions (``overrides``
  writes params back as override text; ``legacy`` reads the old plugin's ``search_space:``).
- ``samplers``, ``pruning``: the sampler and the pruner, from their config blocks.
- ``plan``: ``make_plan``, the one typed ``Plan`` (with its ``Settings``) every later step
  reads, and ``worker_spec``, the workers' spec derived from it.
- ``dry_run``, ``staged``, ``naming``, ``reach``: what a dry run prints, a staged search's
  start, the default sweep dir's name, and a search of only what the run uses.

Import names from the module that defines them; this face imports nothing.
"""
