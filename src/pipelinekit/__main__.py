"""``python -m pipelinekit``: the ``pipelinekit`` command (needs the ``cli`` extra)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the ``pipelinekit`` command; without the ``cli`` extra, say how to install it."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError:
        sys.stderr.write(
            "python -m pipelinekit runs the pipelinekit command, which needs the cli extra:\n"
            '    pip install "pipelinekit[cli]"\n'
        )
        return 6
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
