"""Every use of Hydra's private API in hpt, behind small named functions.

Checked against hydra-core 1.3.x (1.3.8). None of these names is Hydra's public API: an
upgrade may move or change them, and this module is the one place to look when it does
X. Why each is needed:

- ``hydra._internal.utils.get_args_parser`` and ``_run_hydra`` (:func:`args_parser`,
  :func:`run_hydra`): the body of ``@hydra.main`` without its wrapper. ``hydra.main`` parses
  ``sys.argv`` itself and, on an error, prints several lines and exits 1; hpt passes its own
  argv (the words after ``hpt train``), names the program, makes a usage error one line and
  reports Hydra's exceptions with its own exit codes (``hpt.cli.launch``).
- ``hydra._internal.config_loader_impl.ConfigLoaderImpl`` and
  ``hydra._internal.utils.create_config_search_path`` (:func:`config_loader`): the config
  groups and their options (``hpt train --help``) on the search path Hydra would build, its
  search-path plugins included, without composing a config or initializing GlobalHydra.
- ``ConfigLoaderImpl._apply_overrides_to_config`` and
  ``hydra._internal.config_loader_impl.get_overrides_dirname`` (:func:`apply_overrides`,
  :func:`overrides_dirname`): ``hpt.sweep.running.compose`` caches a trial's composed config per set
  of group choices, then applies the value overrides and sets ``hydra.job.override_dirname``
  with the functions Hydra's own ``load_sweep_config`` uses, so the result is the same.
- ``JobReturn._return_value`` (:func:`job_failure`): the exception a failed job raised. The
  public ``JobReturn.return_value`` property re-raises it when the job did not complete.
- ``hydra.core.utils._save_config`` (:func:`mask_saved_configs`): the one function Hydra's
  ``run_job`` writes a job's ``.hydra/config.yaml``, ``hydra.yaml`` and ``overrides.yaml``
  with, wrapped to mask URL passwords (``tracking_uri=http://user:***@host``) in the text it
  writes; the job itself still gets the real config.
- ``hydra._internal.utils._locate`` (:func:`locate`): import a ``_target_`` from its dotted
  name; the public ``hydra.utils.get_object`` also logs the error, which hpt reports on one
  line itself (``hpt.targets``).

Hydra is imported inside the functions, so importing this module (``hpt --version``) stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.types import Override
    from hydra.core.utils import JobReturn
    from omegaconf import DictConfig


def args_parser() -> argparse.ArgumentParser:
    """Hydra's command-line parser, the one ``@hydra.main`` uses.

    Returns:
        A new parser for overrides and Hydra's flags (``--cfg``, ``-m``, ``--info`` ...).
    """
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def run_hydra(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    task_function: Callable[[Any], Any],
    *,
    config_path: str,
    config_name: str,
    caller_stack_depth: int = 2,
) -> None:
    """Run a Hydra app on an already parsed command line, as ``@hydra.main`` would.

    Args:
        args: The command line, parsed by :func:`args_parser`'s parser.
        parser: That parser (Hydra prints its help from it).
        task_function: The function to run for each job, given the job's config.
        config_path: The primary config folder (``pkg://hpt.conf``).
        config_name: The primary config's name, without ``.yaml``.
        caller_stack_depth: Hydra's own parameter, counted from this function's caller: which
            frame up the stack names the app when the task function's module does not.
    """
    from hydra._internal.utils import _run_hydra

    _run_hydra(
        args=args,
        args_parser=parser,
        task_function=task_function,
        config_path=config_path,
        config_name=config_name,
        caller_stack_depth=caller_stack_depth + 1,  # + this function's own frame
    )


def config_loader(config_path: str) -> ConfigLoaderImpl:
    """Hydra's config loader for a primary config folder, with the search path Hydra builds.

    Args:
        config_path: The primary config folder (``pkg://hpt.conf``).

    Returns:
        The loader; ``list_groups`` and ``get_group_options`` list what can be chosen.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path

    return ConfigLoaderImpl(config_search_path=create_config_search_path(config_path))


def apply_overrides(overrides: list[Override], cfg: DictConfig) -> None:
    """Apply parsed value overrides (``optimizer.lr=0.01``) to a composed config, as Hydra does.

    Args:
        overrides: Parsed overrides that set values, not group choices.
        cfg: The composed config, changed in place.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    ConfigLoaderImpl._apply_overrides_to_config(overrides, cfg)


def overrides_dirname(
    overrides: list[Override], kv_sep: str, item_sep: str, exclude_keys: list[str]
) -> str:
    """``hydra.job.override_dirname`` of a job, as Hydra computes it.

    Args:
        overrides: The job's parsed overrides.
        kv_sep: Between a key and its value (``hydra.job.config.override_dirname.kv_sep``).
        item_sep: Between two overrides (``...override_dirname.item_sep``).
        exclude_keys: Keys left out (``...override_dirname.exclude_keys``).

    Returns:
        The overrides as one string, sorted the way Hydra sorts them.
    """
    from hydra._internal.config_loader_impl import get_overrides_dirname

    return get_overrides_dirname(
        overrides=overrides, kv_sep=kv_sep, item_sep=item_sep, exclude_keys=exclude_keys
    )


def job_failure(ret: JobReturn) -> BaseException | None:
    """What a job that did not complete raised, read without raising it.

    Args:
        ret: The job's ``JobReturn`` from Hydra's ``run_job``.

    Returns:
        The job's exception, or None when the job completed (or failed without one).
    """
    from hydra.core.utils import JobStatus

    if ret.status == JobStatus.COMPLETED:
        return None
    # Not ret.return_value: for a job that did not complete, Hydra's public property writes
    # "Error executing job with overrides: ..." to stderr and re-raises the exception. The
    # caller records the failure (a trial's FAIL or PRUNED) and carries on with the sweep.
    failure: BaseException | None = ret._return_value
    return failure


def locate(path: str) -> Any:
    """Import the object a dotted path names (a ``_target_``), as ``instantiate`` does.

    Args:
        path: ``package.module.Name`` (or a deeper attribute).

    Returns:
        The object.

    Raises:
        ImportError: The path does not name an importable object (Hydra's message says why).
    """
    from hydra._internal.utils import _locate

    return _locate(path)


def mask_saved_configs() -> None:
    """Make Hydra write every job's ``.hydra/*.yaml`` with URL passwords masked (idempotent)."""
    import hydra.core.utils as hydra_utils
    from omegaconf import OmegaConf

    from hpt.masking import mask_url

    if getattr(hydra_utils._save_config, "masks_urls", False):
        return

    def save_masked(cfg: Any, filename: str, output_dir: Any) -> None:
        output_dir.mkdir(parents=True, exist_ok=True)
        with open(str(output_dir / filename), "w", encoding="utf-8") as file:
            file.write(mask_url(OmegaConf.to_yaml(cfg)))

    save_masked.masks_urls = True  # type: ignore[attr-defined]
    hydra_utils._save_config = save_masked
