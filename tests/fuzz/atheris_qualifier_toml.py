#!/usr/bin/env python3
"""Coverage-guided fuzzing of the ``qualifier_toml`` loader (``targets.qualifier_toml_target``).

Run with ``python tests/fuzz/run.py qualifier_toml`` (see ``_harness.py`` for libFuzzer flags).
"""

from _harness import main

if __name__ == "__main__":
    main("qualifier_toml")
