"""Render a report page in headless Chromium and save a screenshot: the check that the
static HTML opens from disk and shows its tables and plots in a real browser.

    python -m miri_testbed.validation.screenshot reports/NAME/index.html shot.png [--width 1280] [--height 2400]

The browser is ``$MIRI_TESTBED_CHROMIUM`` or the first of chromium, chromium-browser,
google-chrome on the PATH.  Run as root it needs ``--no-sandbox`` (given).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    """The Chromium executable to use, or None."""
    chosen = os.environ.get("MIRI_TESTBED_CHROMIUM")
    if chosen:
        return shutil.which(chosen)
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def screenshot(page, png, width=1280, height=2400, timeout=120):
    """Screenshot ``page`` (an HTML file) into ``png`` with headless Chromium; return ``png``."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found (set MIRI_TESTBED_CHROMIUM or install chromium)")
    page, png = Path(page).resolve(), Path(png).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: no such file")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="miri-testbed-chromium-") as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                   f"--user-data-dir={profile}", f"--window-size={width},{height}", f"--screenshot={png}",
                   page.as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not png.is_file():
        raise RuntimeError(f"chromium failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return png


def main(argv=None):
    parser = argparse.ArgumentParser(description="Render a report page in headless Chromium and save a "
                                                 "screenshot (the page is cut at --height pixels).")
    parser.add_argument("page")
    parser.add_argument("png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args(argv)
    try:
        print(screenshot(args.page, args.png, args.width, args.height))
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"screenshot: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
