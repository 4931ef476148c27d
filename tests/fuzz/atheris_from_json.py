#!/usr/bin/env python3
"""Coverage-guided fuzzing of the ``from_json`` loader (``targets.from_json_target``).

Run with ``python tests/fuzz/run.py from_json`` (see ``_harness.py`` for libFuzzer flags).
"""

from _harness import main

if __name__ == "__main__":
    main("from_json")
