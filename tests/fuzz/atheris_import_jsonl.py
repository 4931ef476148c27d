#!/usr/bin/env python3
"""Coverage-guided fuzzing of the ``import_jsonl`` loader (``targets.import_jsonl_target``).

Run with ``python tests/fuzz/run.py import_jsonl`` (see ``_harness.py`` for libFuzzer flags).
"""

from _harness import main

if __name__ == "__main__":
    main("import_jsonl")
