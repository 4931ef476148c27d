"""Mutation testing of chosen modules with mutmut, one worker, at low priority.

Usage (from the repository root, with the ``mutation`` extra installed)::

    python tests/mutation/run.py pipelinekit.domain.money
    python tests/mutation/run.py pipelinekit.domain            # every module of a package
    python tests/mutation/run.py --since main                  # modules changed since a ref
    python tests/mutation/run.py pipelinekit.domain --write-docs
    python tests/mutation/run.py pipelinekit.domain.money --survivors   # show surviving diffs
    python tests/mutation/run.py pipelinekit.domain.money --retest      # after new tests

For each module it prints killed / timeout / survived / no tests / skipped and the
score ``(killed + timeout) / (mutants - skipped)``; it exits 1 when a module is under
``--fail-under`` (85 by default).  The tests run are those of the module's layer
(``tests/domain`` for ``pipelinekit.domain.*``, ...) unless ``--tests`` names others.

Mutants that are truly equivalent to the original may be listed, with the reason,
in ``tests/mutation/skip.toml``; a module may skip at most 5% of its mutants.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SKIP_FILE = ROOT / "tests" / "mutation" / "skip.toml"
DOCS_PAGE = ROOT / "docs" / "mutation.md"
START, END = "<!-- mutation-scores:start -->", "<!-- mutation-scores:end -->"
MAX_SKIPPED = 0.05
HEADER = (
    "| Module | Mutants | Killed | Timeout | Survived | No tests | Skipped | Score | Tests "
    "| Date |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
)


@dataclass
class Score:
    """The verdicts on one module's mutants."""

    module: str
    tests: list[str]
    counts: Counter[str] = field(default_factory=Counter)
    survivors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def caught(self) -> int:
        return self.counts["killed"] + self.counts["timeout"]

    @property
    def score(self) -> float:
        tested = self.total - self.counts["skipped"]
        return 100.0 if tested == 0 else 100.0 * self.caught / tested

    def row(self, day: str) -> str:
        c = self.counts
        return (
            f"| `{self.module}` | {self.total} | {c['killed']} | {c['timeout']} | "
            f"{c['survived']} | {c['no tests']} | {c['skipped']} | {self.score:.1f}% | "
            f"{' '.join(f'`{t}`' for t in self.tests)} | {day} |"
        )


def module_of(path: Path) -> str:
    """``src/pipelinekit/domain/money.py`` -> ``pipelinekit.domain.money``."""
    parts = list(path.resolve().relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def files_of(target: str) -> list[Path]:
    """The source files a dotted module or package name (or a path) stands for."""
    candidate = Path(target)
    if candidate.suffix == ".py" and (ROOT / candidate).is_file():
        return [(ROOT / candidate).resolve()]
    base = SRC.joinpath(*target.split("."))
    if base.with_suffix(".py").is_file():
        return [base.with_suffix(".py")]
    if base.is_dir():
        return sorted(base.rglob("*.py"))
    raise SystemExit(f"no module or package {target!r} under {SRC}")


def changed_since(ref: str) -> list[Path]:
    """Source files changed between ``ref`` and the working tree (committed or not)."""
    out = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=AMR", ref, "--", "src/"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(ROOT / line for line in out.split() if line.endswith(".py"))


def tests_for(modules: list[str]) -> list[str]:
    """Each module's layer tests: ``pipelinekit.<layer>.*`` -> ``tests/<layer>/``."""
    chosen: list[str] = []
    for module in modules:
        parts = module.split(".")
        layer = ROOT / "tests" / parts[1] if len(parts) > 1 else None
        path = f"tests/{parts[1]}/" if layer is not None and layer.is_dir() else "tests/"
        if path not in chosen:
            chosen.append(path)
    return chosen


def load_skips() -> dict[str, str]:
    """Reviewed equivalent mutants: ``{mutant name: reason}``."""
    if not SKIP_FILE.exists():
        return {}
    data = tomllib.loads(SKIP_FILE.read_text(encoding="utf-8"))
    skips: dict[str, str] = {}
    for entry in data.get("mutant", []):
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise SystemExit(f"{SKIP_FILE}: {entry.get('name')!r} has no reason")
        skips[str(entry["name"])] = reason
    return skips


def unresolved(files: list[Path]) -> list[str]:
    """The mutants of ``files`` the last run did not kill or did not reach (interrupted)."""
    from mutmut.stats import status_by_exit_code

    names = []
    for path in files:
        meta = ROOT / "mutants" / (str(path.relative_to(ROOT)) + ".meta")
        if meta.exists():
            codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
            names += [
                name
                for name, code in codes.items()
                if code is None
                or status_by_exit_code[code] not in ("killed", "timeout", "segfault")
            ]
    return sorted(names)


def run_mutmut(
    files: list[Path],
    tests: list[str],
    *,
    debug: bool,
    sample: int | None = None,
    retest: bool = False,
) -> None:
    """Run mutmut in this process on ``files`` with ``tests``, one worker.

    With ``sample``, only that many mutants per module (drawn with a fixed seed) are
    run: a quick estimate of where the weak spots are.  With ``retest``, the last
    run's results are kept and only the mutants it did not kill (or did not reach)
    run again, against the tests as they are now (tests added since are measured
    first): for the loop of writing tests for survivors.  Functions whose source
    changed since get new mutants, which run too.
    """
    os.chdir(ROOT)
    if not retest:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # every score is a fresh one
    from mutmut import configuration

    cfg = configuration.config()
    cfg.only_mutate = [str(path.relative_to(ROOT)) for path in files]
    cfg.pytest_add_cli_args_test_selection = tests
    cfg.debug = debug
    from mutmut import __main__ as mutmut_main

    names: list[str] = []
    if retest or sample is not None:
        (ROOT / "mutants").mkdir(exist_ok=True)
        mutmut_main.copy_src_dir()
        mutmut_main.copy_also_copy_files()
        mutmut_main.create_mutants(1)
    if retest:
        names = unresolved(files)
        if not names:
            return
    elif sample is not None:
        draw = random.Random(22)
        for path in files:
            meta = ROOT / "mutants" / (str(path.relative_to(ROOT)) + ".meta")
            if meta.exists():
                keys = sorted(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
                names += draw.sample(keys, min(sample, len(keys)))
        if not names:
            return
    try:
        mutmut_main.cli(["run", "--max-children", "1", *names], standalone_mode=False)
    except SystemExit as stop:  # mutmut exits after its own error messages
        if stop.code:
            raise


def collect(files: list[Path], tests: list[str], skips: dict[str, str]) -> list[Score]:
    """Read mutmut's verdicts from ``mutants/`` per module."""
    from mutmut.stats import status_by_exit_code

    scores = []
    for path in files:
        meta = ROOT / "mutants" / (str(path.relative_to(ROOT)) + ".meta")
        score = Score(module_of(path), tests)
        if meta.exists():
            codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
            for name, code in sorted(codes.items()):
                if code is None:  # not run (a sampled run)
                    continue
                status = status_by_exit_code[code]
                if status in ("segfault", "timeout"):  # the test process was stopped
                    status = "timeout"
                elif status == "caught by type check":
                    status = "killed"
                if status not in ("killed", "timeout") and name in skips:
                    status = "skipped"
                    score.skipped.append(name)
                elif status not in ("killed", "timeout"):
                    score.survivors.append(name)
                score.counts[status] += 1
        scores.append(score)
    return scores


def show(name: str) -> str:
    """mutmut's diff of one mutant."""
    return subprocess.run(
        [sys.executable, "-m", "mutmut", "show", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def write_docs(scores: list[Score], command: str, note: str = "") -> None:
    """Replace the measured modules' rows of the table in docs/mutation.md."""
    text = DOCS_PAGE.read_text(encoding="utf-8")
    start, end = text.index(START), text.index(END)
    rows = {}
    for line in text[start:end].splitlines():
        found = re.match(r"\| `([\w.]+)` \|", line)
        if found:
            rows[found.group(1)] = line
    day = _dt.date.today().isoformat()
    for score in scores:
        rows[score.module] = score.row(day)
    table = "\n".join([*HEADER, *(rows[name] for name in sorted(rows))])
    block = f"{START}\nLast command: `{command}`{note}\n\n{table}\n"
    DOCS_PAGE.write_text(text[:start] + block + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="dotted module/package names or .py paths")
    parser.add_argument("--since", metavar="REF", help="also the modules changed since REF")
    parser.add_argument("--tests", nargs="+", help="test paths (default: the layers' folders)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/mutation.md")
    parser.add_argument("--survivors", action="store_true", help="print surviving diffs")
    parser.add_argument("--fail-under", type=float, default=85.0)
    parser.add_argument("--debug", action="store_true", help="mutmut's debug output")
    parser.add_argument(
        "--sample", type=int, metavar="N", help="run only N mutants per module (an estimate)"
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="run nothing: report (and with --write-docs, record) the last results",
    )
    parser.add_argument(
        "--retest",
        action="store_true",
        help="keep the last run and rerun only the mutants it did not kill",
    )
    args = parser.parse_args(argv)

    files = [path for target in args.targets for path in files_of(target)]
    if args.since:
        files += changed_since(args.since)
    files = sorted({path.resolve() for path in files if path.name != "py.typed"})
    if not files:
        print("nothing to mutate")
        return 0
    modules = [module_of(path) for path in files]
    tests = args.tests or tests_for(modules)
    print(f"mutating {len(files)} module(s) with {' '.join(tests)}", flush=True)

    os.nice(19)  # share the machine: the lowest priority, inherited by the test process
    os.chdir(ROOT)
    skips = load_skips()
    if not args.report:
        run_mutmut(files, tests, debug=args.debug, sample=args.sample, retest=args.retest)
    scores = collect(files, tests, skips)

    print()
    print(
        f"{'module':48} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} "
        f"{'no tests':>8} {'skipped':>7} {'score':>7}"
    )
    failed = False
    for score in scores:
        c = score.counts
        print(
            f"{score.module:48} {score.total:7} {c['killed']:7} {c['timeout']:7} "
            f"{c['survived']:8} {c['no tests']:8} {c['skipped']:7} {score.score:6.1f}%"
        )
        if score.total and score.score < args.fail_under:
            failed = True
        if score.total and len(score.skipped) > MAX_SKIPPED * score.total:
            print(f"  too many skipped mutants in {score.module}: {len(score.skipped)}")
            failed = True
    known = {name for score in scores for name in score.skipped}
    measured = tuple(f"{score.module}." for score in scores)
    for name in sorted(skips):
        if name.startswith(measured) and name not in known:
            print(f"  skip list entry no longer needed (killed or gone): {name}")
    if args.survivors:
        for score in scores:
            for name in score.survivors:
                print(show(name))
    if args.sample is not None:
        print(f"(estimates from at most {args.sample} mutants per module)")
    if args.write_docs and args.sample is None:
        shown = [a for a in (argv or sys.argv[1:]) if a not in ("--write-docs", "--report")]
        command = "python tests/mutation/run.py " + " ".join(shown)
        note = " (then `--retest` after new tests)" if args.report else ""
        write_docs(scores, command, note)
        print(f"updated {DOCS_PAGE.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
