"""``hpt summarize``: turn sweep and run directories into a report, exports and plots.

Entry points:

- ``hpt.summarize.cli.main(argv) -> int``: the command (``python -m hpt.summarize``).
- ``hpt.summarize.collect.collect_runs(paths) -> Collection``: runs as one DataFrame.

Nothing is imported here so that ``import hpt.summarize.cli`` stays cheap.
"""
