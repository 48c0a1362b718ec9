"""report.html: self-contained, its figures visible and its tables sortable in a real browser.

Oracles: report.md (the page must show its figures and its table rows), Python's sort of
the table's numbers (the page's order after a click), and the browser itself (Chromium,
headless, through selenium): console errors, each image's decoded width.
"""

from __future__ import annotations

import base64
import os
import re
import shutil

import pytest
from jaxcalc_testing import run_cli

CONFIG = """
name = "html report"
seed = 3
dtype = "float64"

[starts]
count = 4

[run]
steps = 40
record_every = 5
target = 1e-6

[[objectives]]
name = "booth"

[[objectives]]
name = "sphere"
dim = 2

[[optimizers]]
name = "sgd"
learning_rate = [0.01, 0.05]

[[optimizers]]
name = "bfgs"

[output]
figure_formats = ["png", "svg"]
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    config = folder / "html.toml"
    config.write_text(CONFIG)
    out = folder / "out"
    capsys = _NoCapture()
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out))
    assert code == 0, err
    return out


class _NoCapture:
    """run_cli's capsys for a module fixture (pytest's capsys is per test)."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


def test_the_page_holds_every_figure_and_fetches_nothing(report):
    page = (report / "report.html").read_text()
    markdown = (report / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(linked) >= 4
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(linked)
    for encoded, path in zip(images, linked, strict=True):
        assert base64.b64decode(encoded) == (report / path).read_bytes()
    # nothing outside the page: no URL, no link, no source but the inline images
    assert "http:" not in page and "https:" not in page and "href=" not in page
    assert re.findall(r'src="([a-z]+:)', page) == ["data:"] * len(images)
    assert "default-src 'none'" in page
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert page.count("<tr>") == len(table_rows)  # header + one per summary row


def test_figures_are_also_svg_when_asked(report):
    pngs = sorted(p.stem for p in (report / "figures").glob("*.png"))
    svgs = sorted(p.stem for p in (report / "figures").glob("*.svg"))
    assert pngs and pngs == svgs
    assert (report / "figures" / f"{svgs[0]}.svg").read_text().lstrip().startswith("<?xml")


def test_an_unknown_figure_format_is_one_config_error(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(CONFIG.replace('["png", "svg"]', '["png", "gif"]'))
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "unknown figure format 'gif'" in err and "bad.toml" in err


def _browser():
    """A headless Chromium through selenium, or the reason there is none."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "selenium is not installed (pip install selenium)"
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        return None, "no chromium and chromedriver (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options), ""


def _number(text: str) -> float:
    return {"-": float("nan"), "inf": float("inf"), "-inf": float("-inf")}.get(text) or float(text)


def test_the_page_in_a_real_browser(report):
    browser, reason = _browser()
    if browser is None:
        if os.environ.get("JAXCALC_REQUIRE_BROWSER"):  # CI installs one: its absence fails
            pytest.fail(f"JAXCALC_REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)
    from selenium.webdriver.common.by import By

    try:
        browser.get((report / "report.html").as_uri())
        problems = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert not problems, problems
        images = browser.find_elements(By.TAG_NAME, "img")
        assert len(images) >= 4
        for image in images:
            width = browser.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth", image
            )
            assert width and width > 100, image.get_attribute("alt")
            assert image.is_displayed()
        table = browser.find_element(By.CSS_SELECTOR, "table.sortable")
        headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        column = headers.index("median f - f_opt")

        def cells() -> list[str]:
            rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
            return [r.find_elements(By.TAG_NAME, "td")[column].text for r in rows]

        before = cells()
        header = table.find_elements(By.CSS_SELECTOR, "thead th")[column]
        header.click()
        ascending = cells()
        assert header.get_attribute("aria-sort") == "ascending"
        finite = [t for t in before if t != "-"]
        assert ascending[: len(finite)] == sorted(finite, key=_number)
        assert sorted(ascending) == sorted(before) and ascending != before  # reordered
        header.click()
        descending = cells()
        assert descending[: len(finite)] == sorted(finite, key=_number, reverse=True)
        assert not browser.get_log("browser")
    finally:
        browser.quit()
