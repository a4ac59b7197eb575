"""What pyproject.toml cannot say: the top-level sql/ and dagster_home/ folders (DESIGN §1) ship inside
the package, as hispatial_assets/sql/ and hispatial_assets/dagster_home/ (hispatial_assets/bundled.py
finds them either way). The files they carry are listed under package-data in pyproject.toml."""

from setuptools import find_packages, setup

BUNDLED = {"hispatial_assets.sql": "sql", "hispatial_assets.sql.views": "sql/views",
           "hispatial_assets.dagster_home": "dagster_home"}

setup(packages=find_packages(include=["hispatial_assets", "hispatial_assets.*"]) + list(BUNDLED), package_dir=BUNDLED)
