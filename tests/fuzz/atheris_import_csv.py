#!/usr/bin/env python3
"""Coverage-guided fuzzing of the ``import_csv`` loader (``targets.import_csv_target``).

Run with ``python tests/fuzz/run.py import_csv`` (see ``_harness.py`` for libFuzzer flags).
"""

from _harness import main

if __name__ == "__main__":
    main("import_csv")
