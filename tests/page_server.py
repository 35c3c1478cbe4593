"""Helpers for the page's tests: `serve` as a real process, its address, its CSRF token, and a headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "tests" / "screenshots"
PHONE, DESKTOP = (360, 740), (1280, 900)
INSTALL = "no browser for the page's tests: apt-get install -y chromium chromium-driver"


class Served:
    """`python main.py serve` running in its own process on a free port."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "main.py", "serve", "--port", "0", *args], cwd=REPO / "scrapper",
            env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        deadline = time.monotonic() + 60
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"serve ended: {self.process.stderr.read() if self.process.stderr else ''}")
            self.lines.append(line.rstrip("\n"))
            found = re.search(r"serving on (http://\S+)", line)
            if found:
                self.address = found.group(1)
                break
        else:
            raise AssertionError("serve printed no address")
        if "access token" in line:
            self.lines.append(self.process.stdout.readline().rstrip("\n"))
        self.base = self.address.rstrip("/")

    def url(self, path: str) -> str:
        return self.base + path

    def csrf(self, session: requests.Session | None = None) -> str:
        page = (session or requests).get(self.url("/queue"), timeout=10).text
        found = re.search(r'<meta name="csrf" content="([^"]+)"', page)
        assert found, "the page carries no CSRF token"
        return found.group(1)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, "\n".join(self.lines) + "\n" + out, err


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
    return (browser, driver) if browser and driver else None


def need_browser() -> tuple[str, str]:
    """The browser and its driver; without them the test is skipped, or fails under CI=true."""
    found = chromium_paths()
    try:
        import selenium  # noqa: F401
    except ImportError:
        found = None
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL)
        pytest.skip(INSTALL)
    return found


def browser(size: tuple[int, int] = PHONE):
    """A new headless Chromium with a fresh profile (a browser context of its own) at `size`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = need_browser()
    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900"):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="russfm-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = binary
    web = webdriver.Chrome(options=options, service=Service(driver))
    web.set_page_load_timeout(30)
    web.profile = profile  # type: ignore[attr-defined]
    resize(web, *size)
    return web


def resize(web, width: int, height: int) -> None:
    """The viewport as a device of that size shows it (a window cannot be narrower than 500 px)."""
    web.size = (width, height)
    web.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700})


def close(web) -> None:
    profile = getattr(web, "profile", None)
    web.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(web, name: str) -> Path:
    """The page as it looks now, into tests/screenshots/ (ignored by git), the whole height."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width, height = web.size
    full = web.execute_script("return Math.max(document.body.scrollHeight, window.innerHeight)")
    resize(web, width, max(height, min(int(full), 4000)))
    path = SCREENSHOTS / f"{name}-{width}.png"
    web.save_screenshot(str(path))
    resize(web, width, height)
    return path


def both_widths(web, url: str, name: str) -> None:
    """Screenshots of one page at a phone's width and a desktop's."""
    web.get(url)
    screenshot(web, name)
    size = web.size
    resize(web, *DESKTOP)
    web.get(url)
    screenshot(web, name)
    resize(web, *size)


def wait_for(condition, timeout: float = 60, what: str = "the page"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as exc:  # an element replaced while the page updates
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen (last: {last!r})")
