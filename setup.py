"""Build hook: ship the repository's `runbooks/` inside the package.

The shipped runbooks live at the repository root (where users and reviewers look for
them). A wheel copies them to `aisre_cli/data/runbooks/`, where
`settings.paths.shipped_runbooks_dir()` finds them in an installed package; a source
checkout or editable install reads the root folder directly. Everything else is in
pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithRunbooks(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # the checkout's runbooks/ is read in place
            return
        dest = Path(self.build_lib) / "aisre_cli" / "data" / "runbooks"
        dest.mkdir(parents=True, exist_ok=True)
        for src in sorted((ROOT / "runbooks").glob("*.yaml")):
            shutil.copyfile(src, dest / src.name)


setup(cmdclass={"build_py": BuildPyWithRunbooks})
