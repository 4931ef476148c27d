"""``python -m pipelinekit``: a small command line until the ``cli`` extra lands."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m pipelinekit COMMAND``; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m pipelinekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build a few leads, qualify and convert one")
    demo.add_argument("--seed", type=int, default=25, help="random seed (default 25)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(seed=args.seed, out=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
