"""optuna-dashboard served by ``hpsearch dashboard`` and read in Debian's headless Chromium.

``missing()`` says what this machine lacks for it (the browser, its driver, selenium,
the ``dashboard`` extra); a test skips for it only outside CI. ``served`` starts the
command on a free port and yields its URL; ``chromium`` yields a WebDriver; the page
readers wait for what the dashboard draws after its data arrives.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

from helpers.cli import hpsearch_command

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Without the networking flags the closed network refuses Chromium's own connections.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


def missing() -> list[str]:
    """What the browser test needs and this machine lacks."""
    lacks = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    return lacks + [name for name in ("selenium", "optuna_dashboard")
                    if importlib.util.find_spec(name) is None]


def required() -> bool:
    """CI must run the browser test: it installs the browser and the extra."""
    return os.environ.get("CI") == "true" or bool(os.environ.get("HPSEARCH_REQUIRE_BROWSER"))


@contextlib.contextmanager
def served(storage: str, cwd) -> Iterator[str]:
    """``hpsearch dashboard STORAGE --port 0`` running; yields the URL it printed."""
    process = subprocess.Popen([*hpsearch_command(), "dashboard", storage, "--port", "0"],
                               cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()
        if "http://" not in line:
            raise AssertionError(f"the dashboard printed no URL: {line!r} "
                                 f"{process.stderr.read() if process.poll() is not None else ''}")
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def chromium() -> Iterator:
    """A selenium WebDriver of headless Chromium with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def curve_lines(driver, expected: int, timeout: float = 20.0) -> int:
    """The lines of the study page's "Intermediate values" chart, once there are
    ``expected`` of them (or what is drawn after ``timeout`` seconds)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def count(_driver) -> int:
        cards = driver.find_elements(
            "xpath", "//h6[normalize-space(text())='Intermediate values']"
                     "/ancestor::div[.//div[contains(@class,'js-plotly-plot')]][1]")
        return len(cards[0].find_elements("css selector", "g.trace.scatter")) if cards else 0

    with contextlib.suppress(TimeoutException):
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(
            lambda d: count(d) >= expected)
    return count(driver)


def save_curve_chart(driver, path) -> None:
    """A PNG of the study page's "Intermediate values" card (the learning curves)."""
    card = driver.find_element(
        "xpath", "//h6[normalize-space(text())='Intermediate values']"
                 "/ancestor::div[.//div[contains(@class,'js-plotly-plot')]][1]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", card)
    card.screenshot(str(path))


def page_text(driver, needle: str, timeout: float = 20.0) -> str:
    """The page's text once it shows ``needle`` (or as it is after ``timeout`` seconds)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def text(_driver) -> str:
        return driver.find_element("tag name", "body").text

    with contextlib.suppress(TimeoutException):
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: needle in text(d))
    return text(driver)
