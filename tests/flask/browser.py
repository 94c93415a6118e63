"""Debian's headless Chromium driven by Selenium, against a site served on loopback.

Nothing is downloaded: the browser and driver are ``/usr/bin/chromium`` and
``/usr/bin/chromedriver`` (Debian's ``chromium`` and ``chromium-driver``), passed explicitly,
and ``SE_OFFLINE`` keeps Selenium Manager off the network. Tests skip when they are missing.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TIMEOUT = 15

# Chromium flags: headless, no sandbox (CI runs as root), nothing that reaches the internet.
_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter,PasswordLeakDetection,AutofillServerCommunication",
    "--window-size=900,900",
    "--force-device-scale-factor=1",
    "--lang=en-US",
)


def require_chromium() -> None:
    pytest.importorskip("selenium")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed")


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in _FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option(
        "prefs", {"credentials_enable_service": False, "profile.password_manager_enabled": False}
    )
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


class Browser:
    """A person at the keyboard: open pages, fill labelled fields, press buttons, read notices."""

    def __init__(self, driver: Any, base_url: str, screenshots: Path | None = None) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.screenshots = screenshots
        self.visited: list[str] = []

    def _by(self) -> Any:
        from selenium.webdriver.common.by import By

        return By

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.visited.append(self.driver.current_url)

    def heading(self) -> str:
        return str(self.driver.find_element(self._by().TAG_NAME, "h1").text)

    def wait_for_heading(self, text: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        def arrived(driver: Any) -> bool:
            headings = driver.find_elements(self._by().TAG_NAME, "h1")
            return bool(headings) and headings[0].text == text

        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException

        try:
            WebDriverWait(self.driver, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,)).until(arrived)
        except TimeoutException:
            raise AssertionError(f"expected the page {text!r}, got {self.heading()!r}: {self.notices()}") from None
        self.visited.append(self.driver.current_url)

    def fill(self, label: str, value: str) -> None:
        """Type into the input whose <label> reads ``label``."""
        By = self._by()
        labels = [item for item in self.driver.find_elements(By.TAG_NAME, "label") if item.text == label]
        assert len(labels) == 1, f"no single label {label!r}"
        field = self.driver.find_element(By.ID, labels[0].get_attribute("for"))
        field.clear()
        field.send_keys(value)

    def autocomplete_of(self, label: str) -> str:
        By = self._by()
        labels = [item for item in self.driver.find_elements(By.TAG_NAME, "label") if item.text == label]
        assert len(labels) == 1, f"no single label {label!r}"
        return str(self.driver.find_element(By.ID, labels[0].get_attribute("for")).get_attribute("autocomplete"))

    def press(self, button: str) -> None:
        By = self._by()
        buttons = [item for item in self.driver.find_elements(By.TAG_NAME, "button") if item.text == button]
        assert buttons, f"no button {button!r}"
        self._navigate(buttons[0])

    def follow(self, link: str) -> None:
        self._navigate(self.driver.find_element(self._by().LINK_TEXT, link))

    def _navigate(self, element: Any) -> None:
        """Click, then wait until the old page is gone (the next page may have the same title)."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.driver.find_element(self._by().TAG_NAME, "html")
        element.click()

        def old_page_gone(_driver: Any) -> bool:
            try:
                page.is_enabled()
            except StaleElementReferenceException:
                return True
            except WebDriverException as exc:
                # Mid-navigation chromedriver may report the old node this way instead of stale.
                if "does not belong to the document" in str(exc.msg):
                    return True
                raise
            return False

        WebDriverWait(self.driver, TIMEOUT).until(old_page_gone)

    def notices(self) -> list[str]:
        return [str(item.text) for item in self.driver.find_elements(self._by().CSS_SELECTOR, ".notice")]

    def error(self) -> str:
        errors = self.driver.find_elements(self._by().CSS_SELECTOR, "[role=alert]")
        assert errors, f"no error on the page {self.heading()!r}"
        return str(errors[0].text)

    def text_of(self, element_id: str) -> str:
        return str(self.driver.find_element(self._by().ID, element_id).text)

    def path(self) -> str:
        url = str(self.driver.current_url)
        return url[len(self.base_url):] if url.startswith(self.base_url) else url

    def screenshot(self, name: str) -> None:
        if self.screenshots is not None:
            self.screenshots.mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(self.screenshots / f"{name}.png"))


TOKEN_PATTERN = re.compile(r"[a-z2-9]{24}\.[a-z2-9]{24}")
