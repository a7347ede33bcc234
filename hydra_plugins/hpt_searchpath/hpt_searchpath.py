"""Layers the user's config folders over hpt's own (``hpt.cli.app.user_config_dirs``).

Hydra asks every SearchPathPlugin when it builds a search path; this one acts only on a
path whose primary ("main") entry is hpt's config folder, so other Hydra apps are untouched.
"""

from __future__ import annotations

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.plugins.search_path_plugin import SearchPathPlugin


class HptUserConfigSearchPath(SearchPathPlugin):
    """The user's config folders, before hpt's own in hpt's search path."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        """Put the user's config folders just before hpt's (the first listed wins).

        Args:
            search_path: The search path Hydra is building (changed in place).
        """
        from hpt.cli.app import is_hpt_main, user_config_dirs

        if not any(e.provider == "main" and is_hpt_main(e.path) for e in search_path.get_path()):
            return
        for path in user_config_dirs():  # each goes just before hpt's: the first listed wins
            search_path.prepend("hpt-user", f"file://{path}", anchor=SearchPathQuery("main"))
