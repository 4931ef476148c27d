"""The ``pipelinekit`` command line (the ``cli`` extra: Typer and Rich).

``pipelinekit demo | import | qualify | pipeline validate|show|diagram | report | export``;
see ``pipelinekit --help`` and docs/cli.md.  :func:`main` is the console
script.  The commands wire library calls: the import and export engines are
:mod:`pipelinekit.io`, the report is :mod:`pipelinekit.analytics`; the settings
loader (:mod:`pipelinekit.cli.settings`) needs no CLI library.  Importing this
package does not import Typer or Rich; running :func:`main` does.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

from .exit_codes import ExitCode

__all__ = ["ExitCode", "main"]


def _debugging(argv: Sequence[str]) -> bool:
    import os

    return "--debug" in argv or os.environ.get("PIPELINEKIT_DEBUG", "") not in ("", "0")


#: The extra that installs each optional library the command may need.
_EXTRA_OF = {
    "psycopg": ("postgres", "PostgreSQL"),
    "sqlalchemy": ("sql", "SQL storage"),
    "matplotlib": ("report", "charts"),
    "pydot": ("diagrams", "DOT/SVG/PNG diagrams"),
    "typer": ("cli", "the command"),
    "rich": ("cli", "the command"),
}


def _install_hint(error: ImportError) -> str:
    """What to install for a library that could not be imported, with the extra's name."""
    root = (error.name or "").partition(".")[0]
    if root in _EXTRA_OF:
        extra, purpose = _EXTRA_OF[root]
        return f'{root} is not installed; {purpose} needs it: pip install "pipelinekit[{extra}]"'
    choices = ", ".join(f'"pipelinekit[{e}]" for {p}' for e, p in dict(_EXTRA_OF.values()).items())
    return f"{error}. Install the extra that provides it: {choices}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    User mistakes (bad settings, bad files, unreachable databases) print a
    message that says what to do and exit with a documented code
    (:class:`ExitCode`), without a traceback unless ``--debug`` is given.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        import typer
    except ImportError:
        sys.stderr.write(
            'the pipelinekit command needs the cli extra: pip install "pipelinekit[cli]"\n'
        )
        return int(ExitCode.MISSING_EXTRA)
    from ..errors import PipelinekitError, ValidationError
    from ..io import ImportFileError, OutputFileError
    from ..storage import StorageError
    from ._app import app
    from ._context import UserError
    from ._printing import print_error
    from .settings import ConfigError

    debug = _debugging(args)
    command = typer.main.get_command(app)

    def fail(message: str, code: ExitCode, problems: Sequence[object] = ()) -> int:
        if debug:
            traceback.print_exc()
        print_error(message, problems)
        return int(code)

    try:
        code = command.main(args=args, prog_name="pipelinekit", standalone_mode=False)
    except KeyboardInterrupt:
        return fail("interrupted (Ctrl-C)", ExitCode.INTERRUPTED)
    except UserError as error:
        return fail(str(error), error.code, error.problems)
    except ConfigError as error:
        return fail(
            f"bad settings in {error.source} (fix the file, or pass --config / unset "
            "PIPELINEKIT_CONFIG)",
            ExitCode.CONFIG,
            error.problems,
        )
    except (ImportFileError, OutputFileError) as error:
        return fail(str(error), ExitCode.INPUT)
    except StorageError as error:
        return fail(f"database error: {error}", ExitCode.STORAGE)
    except ValidationError as error:
        return fail(str(error).splitlines()[0], ExitCode.INPUT, error.problems)
    except ImportError as error:  # a driver or optional library needed only now
        if isinstance(error, PipelinekitError):  # already names its extra
            return fail(str(error), ExitCode.MISSING_EXTRA)
        return fail(_install_hint(error), ExitCode.MISSING_EXTRA)
    except PipelinekitError as error:
        return fail(str(error), ExitCode.INPUT)
    except Exception as error:
        # Click's own exceptions (Typer may vendor Click, so match them by class name)
        kinds = {cls.__name__ for cls in type(error).__mro__}
        if "Exit" in kinds:
            return int(getattr(error, "exit_code", 0))
        if "ClickException" in kinds:
            getattr(error, "show", lambda: None)()  # prints Click's usage message
            return int(getattr(error, "exit_code", ExitCode.USAGE))
        if "Abort" in kinds:
            return fail("interrupted (Ctrl-C)", ExitCode.INTERRUPTED)
        if debug:
            raise
        return fail(
            f"unexpected {type(error).__name__}: {error}. This is a bug in pipelinekit; "
            "rerun with --debug for the traceback and report it",
            ExitCode.INTERNAL,
        )
    if code == ExitCode.INTERRUPTED:  # Typer returns Ctrl-C outside a command's own note as 130
        print_error("interrupted (Ctrl-C)")
    return code if isinstance(code, int) else 0
