"""A real browser for the page tests: Debian's headless Chromium driven by Selenium through Debian's chromedriver.

The driver is given explicitly (no Selenium Manager: it would try to download one), and a missing
browser is a failure that says what to install, never a skip: `.ci/run` installs both packages.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = ("chromium", "chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
INSTALL = "apt-get install chromium chromium-driver (Debian's packages; .ci/run installs them)"


class BrowserMissing(RuntimeError):
    """Chromium, its driver or Selenium is not installed; the message says what to install."""


def _binary() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing(f"no Chromium on PATH ({', '.join(CHROMIUM)}): {INSTALL}")


def _driver_path() -> str:
    for path in CHROMEDRIVER:
        if Path(path).exists():
            return path
    found = shutil.which("chromedriver")
    if found:
        return found
    raise BrowserMissing(f"no chromedriver at {', '.join(CHROMEDRIVER)} nor on PATH: {INSTALL}")


def chrome(width: int = 1100, height: int = 900, lang: str = "en-US") -> Any:
    """A headless Chromium session (its console and CSP reports kept in the `browser` log)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise BrowserMissing(f"Selenium is not installed ({exc}): pip install -e '.[test]'") from None
    options = webdriver.ChromeOptions()
    options.binary_location = _binary()
    for argument in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking", f"--window-size={width},{height}",
                     f"--lang={lang}"):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's own sandbox refuses to run as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    service = Service(executable_path=_driver_path())
    return webdriver.Chrome(service=service, options=options)


def full_page_screenshot(driver: Any, path: Path, width: int | None = None) -> Path:
    """A PNG of the whole page (the window grown to the page's height for the shot, then put back)."""
    size = driver.get_window_size()
    width = width or size["width"]
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    driver.set_window_size(width, min(max(int(height) + 120, 400), 8000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    return path
