"""Run the atheris harnesses one after another, at low priority, and report what they found.

Usage (needs the ``fuzz`` extra: ``pip install -e ".[fuzz]"``)::

    python tests/fuzz/run.py                       # every target, 10 minutes each
    python tests/fuzz/run.py from_json --minutes 1
    python tests/fuzz/run.py --merge               # then keep the best new inputs

Each target fuzzes into a scratch folder (``--work``, default ``/tmp/pk-fuzz``) seeded
from ``tests/fuzz/corpus/<target>``.  A crash stops libFuzzer; the run is restarted
for the rest of its time (at most ``--max-crashes`` times), and every crash input is
kept under ``<work>/<target>/crashes``.  ``--merge`` then adds to the kept corpus the inputs
that give it new coverage, at most ``--keep`` (20) per target, the smallest first, so
that the corpus stays small enough to replay in every test run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import targets  # noqa: E402

_RUNS = re.compile(r"^#(\d+)\b", re.MULTILINE)
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")


def fuzz(name: str, seconds: int, work: Path, max_crashes: int) -> dict[str, object]:
    """Fuzz one target for ``seconds``; return runs, restarts and crash files."""
    folder = work / name
    found, crashes, log = folder / "found", folder / "crashes", folder / "log.txt"
    found.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + seconds
    runs = 0
    starts = 0
    with log.open("a", encoding="utf-8") as out:
        while (left := int(deadline - time.monotonic())) > 5 and starts <= max_crashes:
            starts += 1
            command = [
                sys.executable,
                str(HERE / f"atheris_{name}.py"),
                f"-max_total_time={left}",
                "-timeout=20",
                "-rss_limit_mb=3072",
                "-max_len=8192",
                "-print_final_stats=1",
                f"-artifact_prefix={crashes}/",
                str(found),
                str(HERE / "corpus" / name),
            ]
            done = subprocess.run(
                command, capture_output=True, text=True, errors="replace", check=False
            )
            out.write(done.stderr)
            counted = _DONE.search(done.stderr) or None
            tail = _RUNS.findall(done.stderr)
            runs += int(counted.group(1)) if counted else int(tail[-1]) if tail else 0
            if done.returncode == 0:
                break
    return {
        "target": name,
        "seconds": seconds,
        "runs": runs,
        "starts": starts,
        "crashes": sorted(p.name for p in crashes.iterdir()),
        "found": len(list(found.iterdir())),
    }


def merge(name: str, work: Path, limit: int) -> int:
    """Add to the kept corpus at most ``limit`` of the scratch inputs that give it new
    coverage (libFuzzer's merge picks them; the smallest are kept); return how many."""
    kept = HERE / "corpus" / name
    merged = work / name / "merged"
    shutil.rmtree(merged, ignore_errors=True)
    shutil.copytree(kept, merged)
    # libFuzzer's merge re-executes the harness itself: its shebang must find this python
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        [
            sys.executable,
            str(HERE / f"atheris_{name}.py"),
            "-merge=1",
            "-timeout=20",
            "-rss_limit_mb=3072",
            str(merged),
            str(work / name / "found"),
        ],
        capture_output=True,
        check=False,
        env={**os.environ, "PATH": path},
    )
    new = [p for p in merged.iterdir() if not (kept / p.name).exists()]
    chosen = sorted(new, key=lambda p: (p.stat().st_size, p.name))[:limit]
    for file in chosen:
        shutil.copy2(file, kept / file.name)
    return len(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"targets (default: all of {list(targets.TARGETS)})"
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pk-fuzz"))
    parser.add_argument("--max-crashes", type=int, default=10)
    parser.add_argument("--merge", action="store_true", help="only merge the scratch corpora")
    parser.add_argument("--keep", type=int, default=20, help="inputs a merge adds, at most")
    args = parser.parse_args()
    os.nice(19)
    names = args.names or list(targets.TARGETS)
    for name in names:
        if args.merge:
            added = merge(name, args.work, args.keep)
            print(f"{name}: {added} inputs added to the corpus", flush=True)
            continue
        if (args.work / name).exists():
            shutil.rmtree(args.work / name)
        result = fuzz(name, int(args.minutes * 60), args.work, args.max_crashes)
        print(result, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
