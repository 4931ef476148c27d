"""Run pipelinekit's benchmarks.

Usage: ``python tests/benchmarks/run.py [--quick] [--json PATH] [--list] [NAME ...]``.

Each benchmark times pipelinekit and a named baseline in the same run and
reports the ratio of their median times; absolute times on shared machines
drift, ratios much less.  ``--quick`` runs small sizes (CI uses it so the
benchmarks never rot; it asserts nothing about time).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import REGISTRY, Result, run  # noqa: E402


def _load_all() -> None:
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run pipelinekit's benchmarks.")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI smoke runs")
    parser.add_argument("--json", metavar="PATH", help="write results as JSON to PATH")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    _load_all()
    if args.list:
        for bench in REGISTRY.values():
            print(f"{bench.name:24} target <= {bench.target:<5} baseline: {bench.baseline}")
        return 0
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {', '.join(REGISTRY)}")
    results: list[Result] = []
    print(
        f"{'benchmark':24} {'size':>9} {'pipelinekit s':>14} {'baseline s':>11} "
        f"{'ratio':>6} {'target':>6}  ok"
    )
    for name in args.names or list(REGISTRY):
        result = run(REGISTRY[name], quick=args.quick)
        results.append(result)
        ok = "yes" if result.ratio <= result.target else "NO"
        print(
            f"{result.name:24} {result.size:>9} {result.value:>14.4f} {result.baseline:>11.4f} "
            f"{result.ratio:>6.2f} {result.target:>6.2f}  {ok}"
        )
        for key, value in result.extra.items():
            print(f"    {key}: {value}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({r.name: r.as_json() for r in results}, indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
