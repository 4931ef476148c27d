"""What every ``atheris_*.py`` harness does: instrument pipelinekit, then fuzz one target.

Run one harness for ten minutes, at low priority, growing its corpus folder::

    nice -n 19 python tests/fuzz/atheris_from_json.py -max_total_time=600 \
        -rss_limit_mb=2048 -timeout=10 tests/fuzz/corpus/from_json

A crash (any exception that is not a ``PipelinekitError``) stops the run and writes
the input as ``crash-<sha1>``; move it into the corpus folder to keep it as a
regression test (``tests/fuzz/test_corpus.py`` replays every corpus file).  A crash
already reported is listed in ``targets.KNOWN_CRASHES``; the harness passes over
inputs that reproduce one, so that the run goes on looking for new ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["pipelinekit", "targets"]):
    import targets


def main(name: str) -> None:
    """Fuzz ``targets.TARGETS[name]`` with libFuzzer's command line (``sys.argv``)."""

    def one_input(data: bytes) -> None:
        try:
            targets.run(name, data)
        except Exception as error:
            if targets.known_crash(name, error) is None:
                raise

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
