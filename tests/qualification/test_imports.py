"""Importing the library does not import test or optional dependencies."""

from __future__ import annotations

import subprocess
import sys


def test_import_pipelinekit_qualification_stays_light() -> None:
    code = (
        "import sys, pipelinekit, pipelinekit.qualification\n"
        "heavy = {'hypothesis', 'pytest', 'sqlalchemy', 'pipelinekit.testing'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
