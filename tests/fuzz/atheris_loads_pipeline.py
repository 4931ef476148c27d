#!/usr/bin/env python3
"""Coverage-guided fuzzing of the ``loads_pipeline`` loader (``targets.loads_pipeline_target``).

Run with ``python tests/fuzz/run.py loads_pipeline`` (see ``_harness.py`` for libFuzzer flags).
"""

from _harness import main

if __name__ == "__main__":
    main("loads_pipeline")
