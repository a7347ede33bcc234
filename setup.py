"""Package layout only (metadata lives in pyproject.toml).

The repository keeps hpt's config groups in the top-level ``conf/`` where readers look for
them; the wheel ships them inside the package as ``hpt.conf`` (Hydra's ``pkg://hpt.conf``),
so an installed hpt needs no checkout. pyproject.toml's ``packages.find`` cannot add a
remapped package, hence this file.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["hpt*", "hydra_plugins*"]), "hpt.conf"],
    package_dir={"hpt.conf": "conf"},
    package_data={"hpt": ["py.typed", "assets/*"], "hpt.conf": ["*.yaml", "**/*.yaml"]},
)
