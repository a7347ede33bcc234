"""``hydra.sweeper.dry_run``: what the sweep would do, printed, with nothing written; and
the budget note that says when ``n_trials`` leaves the sampler no room to work."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from hpt.sweep.planning.space import grid_values

if TYPE_CHECKING:
    from hpt.sweep.planning.plan import Plan


def dry_run(plan: Plan) -> None:
    """Print the sweep's plan: study, sampler, pruner, objectives, budget and search space.

    Args:
        plan: The sweep it would run (its ``meta``: study name, storage label, sampler and
            pruner class names, objectives and directions).
    """
    out, space, meta = sys.stdout, plan.space, plan.meta
    print(f"study:   {meta['study_name']}  (storage: {meta['storage']})", file=out)
    print(f"sampler: {meta['sampler']}   pruner: {meta['pruner']}", file=out)
    pruner_args = {k: v for k, v in (plan.pruner_conf or {}).items() if k != "_target_"}
    if pruner_args:  # `auto` settings shown resolved (hpt.sweep.planning.pruning)
        print(f"pruner settings: {', '.join(f'{k}={v}' for k, v in pruner_args.items())}", file=out)
    objectives = zip(meta["objectives"], meta["directions"])
    print(f"objective: {', '.join(f'{n} ({d})' for n, d in objectives)}", file=out)
    print(f"n_trials: {plan.n_trials}   n_jobs: {plan.settings.n_jobs}", file=out)
    print("search space:", file=out)
    width = max((len(k) for k in space.describe()), default=0)
    for name, expr in space.describe().items():
        print(f"  {name:<{width}}  {expr}", file=out)
    for fixed in space.fixed:
        print(f"  (fixed) {fixed}", file=out)
    if meta["sampler"] == "GridSampler":
        n = 1
        for d in space.dims:
            n *= len(grid_values(d))
        print(f"grid points: {n}", file=out)
    note = budget_note(plan.sampler_conf, plan.n_trials)
    if note:
        print(f"note: {note}", file=out)


def budget_note(sampler: Any, n_trials: int) -> str | None:
    """Whether ``n_trials`` leaves the sampler room to work, by its own settings.

    A model-based sampler samples at random for its first ``n_startup_trials``; NSGA-II
    needs generations.

    Args:
        sampler: The sampler's config (with ``_target_``), or None.
        n_trials: The sweep's budget.

    Returns:
        A note saying what to change, or None when the budget suits the sampler (or the
        sampler's class cannot be read).
    """
    import inspect

    from hydra.utils import get_class

    if not sampler or not sampler.get("_target_"):
        return None
    try:
        cls = get_class(str(sampler["_target_"]))
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
    except Exception:
        return None
    name = cls.__name__
    startup = sampler.get("n_startup_trials", defaults.get("n_startup_trials"))
    if isinstance(startup, int) and n_trials <= startup:
        return (
            f"{name} samples at random for its first n_startup_trials={startup} trials: with "
            f"n_trials={n_trials} it never models the space "
            "(lower n_startup_trials, or raise n_trials)"
        )
    population = sampler.get("population_size", defaults.get("population_size"))
    if isinstance(population, int) and n_trials < 2 * population:
        return (
            f"{name} evolves generations of population_size={population}: n_trials={n_trials} is "
            "less than two generations (lower population_size, or raise n_trials)"
        )
    return None
