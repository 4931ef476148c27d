"""Take the screenshot of the HTML report that docs/cli.md shows, in a real browser.

    python tests/screenshots/report.py                 # writes docs/images/report.png
    python tests/screenshots/report.py --out shot.png  # somewhere else

It runs the ``pipelinekit`` command as a user would, in a temporary folder:
``pipelinekit demo`` (500 leads, seed 25), then ``pipelinekit report --html``,
and has headless Chromium render the page 1000 pixels wide.  Needs the
``cli`` and ``report`` extras and Chromium (Debian: ``apt-get install
chromium``; ``--browser`` names another binary).  Look at the picture: the
dated header, the lead funnel and the deal funnel (each labelled, with its
chart), and the forecast by month of expected close must all be there and
readable.  The script checks the page for them before taking the picture, and
exits non-zero if anything is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What the page must show (checked in the HTML before the picture is taken).
EXPECTED = (
    "Report of ",
    "<h2>Lead funnel</h2>",
    "<h2>Deal funnel: Sales pipeline</h2>",
    "<h2>Forecast by month of expected close</h2>",
)


def _browser(named: str | None) -> str:
    for name in (named,) if named else ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("no Chromium found: apt-get install chromium, or pass --browser PATH")


def _run(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipelinekit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"pipelinekit {' '.join(args)} failed:\n{done.stderr}")


def main() -> None:
    """Build the demo report and save its screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "report.png")
    parser.add_argument("--browser", help="the Chromium binary (default: found on PATH)")
    parser.add_argument("--height", type=int, default=2100, help="pixels of the page to keep")
    options = parser.parse_args()
    browser = _browser(options.browser)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        _run("demo", "--leads", "500", "--seed", "25", cwd=work)
        _run("report", "--html", "report.html", "--locale", "en_US", cwd=work)
        page = (work / "report.html").read_text(encoding="utf-8")
        missing = [text for text in EXPECTED if text not in page]
        if missing or page.count("<svg") < 3:
            sys.exit(f"the report lacks {missing or 'its three charts'}")
        out = options.out.resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                browser,
                "--headless=new",
                "--no-sandbox",  # root in a container has no user namespace for the sandbox
                "--disable-gpu",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                f"--window-size=1000,{options.height}",
                f"--screenshot={out}",
                (work / "report.html").as_uri(),
            ],
            capture_output=True,
            check=True,
            timeout=300,
        )
    if not out.is_file() or out.stat().st_size == 0:
        sys.exit(f"Chromium wrote no picture to {out}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
