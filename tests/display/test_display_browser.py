"""The nurse's display in real headless Chromium, on the whole simulated appliance: a code,
Start, the sensors, the recording with its countdown and skeleton, the result, the history,
and the export of the screening to the demo's stand-in USB stick.

Screenshots of each screen at 800x480 and 1024x600 are kept in `test-artifacts/display/`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from demo_process import running_demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "display"
SIZES = {"800x480": (800, 480), "1024x600": (1024, 600)}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


class Appliance(NamedTuple):
    url: str
    data: Path  # the appliance's data folder; the demo's USB stick is `demo-usb-stick` in it


@pytest.fixture(scope="module")
def appliance() -> Iterator[Appliance]:
    """`gma-edge demo` on the embedded default, its display on a free port, 12 s recordings."""
    with running_demo(240, "[session]\nduration_s = 12\n") as demo:
        yield Appliance(demo.url, demo.data)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_nurse_runs_a_screening_on_the_display(appliance: Appliance, size: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    width, height = SIZES[size]
    shots = ARTIFACTS / size
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(appliance.url)
        page.wait_for_selector('[data-testid^="screen-"]:not([hidden])', timeout=15_000)
        if page.get_by_test_id("new-screening").is_visible():  # the last screening's result
            page.get_by_test_id("new-screening").click()
        home = page.get_by_test_id("screen-home")
        expect(home).to_be_visible()
        page.screenshot(path=str(shots / "1-home.png"))
        code = page.get_by_test_id("code-input")
        a_name_is_refused(page, code)
        infant = f"INF-{size.replace('x', '-')}"
        code.fill(infant)
        code.press("Enter")  # as a barcode scanner ends its code
        expect(page.get_by_test_id("screen-sensors")).to_be_visible(timeout=15_000)
        expect(page.get_by_test_id("sensor-list")).to_contain_text(
            re.compile("Checking placement|Placed correctly"), timeout=20_000)
        page.screenshot(path=str(shots / "2-sensors.png"))
        expect(page.get_by_test_id("screen-recording")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("countdown")).to_have_text(
            re.compile(r"\d+:\d\d"))
        page.wait_for_timeout(3000)
        page.screenshot(path=str(shots / "3-recording.png"))
        expect(page.get_by_test_id("screen-result")).to_be_visible(timeout=60_000)
        decision = page.get_by_test_id("decision")
        expect(decision).to_have_text(re.compile("Not assessable"))
        expect(page.get_by_test_id("reference-notice")).to_be_visible()
        page.screenshot(path=str(shots / "4-result.png"))
        page.get_by_test_id("lang-toggle").click()
        expect(decision).to_have_text(re.compile("Nicht beurteilbar"))
        expect(page.get_by_test_id("result-details")).to_contain_text("s waren auswertbar")
        page.screenshot(path=str(shots / "5-result-de.png"))
        page.get_by_test_id("lang-toggle").click()
        page.get_by_test_id("new-screening").click()
        expect(home).to_be_visible()
        page.get_by_test_id("history-button").click()
        expect(page.get_by_test_id("screen-history")).to_contain_text(infant)
        page.screenshot(path=str(shots / "6-history.png"))

        export_the_screening(page, appliance, infant, shots)
        page.get_by_test_id("export-back").click()
        expect(home).to_be_visible()
        for name in ("screen-home", "screen-result"):
            box = page.get_by_test_id(name).bounding_box()
            assert box is None or (box["width"] <= width and box["height"] <= height)
        browser.close()
    assert errors == []


def export_the_screening(page: Any, appliance: Appliance, infant: str, shots: Path) -> None:
    """Export the screening just done to the demo's USB stick (a folder in the data folder)."""
    from playwright.sync_api import expect

    home = page.get_by_test_id("screen-home")
    page.get_by_test_id("history-back").click()
    expect(home).to_be_visible()
    page.get_by_test_id("export-button").click()
    expect(page.get_by_test_id("screen-export")).to_be_visible()
    expect(page.get_by_test_id("screen-title")).to_have_text("Export to USB")
    row = page.get_by_test_id("export-row").filter(has_text=infant)
    expect(row).to_have_count(1)  # the other size's screening may be listed as well
    target = page.get_by_test_id("export-target").first
    expect(target).to_contain_text("demo-usb-stick")
    expect(target).to_have_attribute("aria-checked", "true")  # the only stick, preselected
    expect(page.get_by_test_id("export-no-target")).to_be_hidden()
    start = page.get_by_test_id("export-start")
    expect(start).to_be_disabled()  # nothing chosen yet
    row.click()
    expect(row).to_have_attribute("aria-pressed", "true")
    expect(start).to_be_enabled()
    page.screenshot(path=str(shots / "7-export.png"))
    start.click()
    expect(page.get_by_test_id("export-progress")).to_be_visible()
    done, failed = page.get_by_test_id("export-done"), page.get_by_test_id("export-failed")
    ended = page.locator('[data-testid="export-done"]:not([hidden]), '
                         '[data-testid="export-failed"]:not([hidden])')
    expect(ended).to_be_visible(timeout=60_000)
    expect(failed).to_be_hidden()  # if not, its message says why
    expect(done).to_be_visible()
    expect(done).to_contain_text("Export verified: 1 session in gma-edge-export-")
    expect(page.get_by_test_id("export-progress").get_by_role("progressbar")).to_have_attribute(
        "aria-valuenow", "100")
    expect(row.get_by_test_id("export-row-exported")).to_be_visible()  # the list reloaded
    expect(row).to_have_attribute("aria-pressed", "false")
    page.screenshot(path=str(shots / "8-export-done.png"))
    for testid in ("export-done", "export-start", "export-back", "export-select-new"):
        expect(page.get_by_test_id(testid)).to_be_in_viewport(ratio=1)  # nothing cut off
    folder = re.search(r"gma-edge-export-\d{8}-\d{6}", done.inner_text())
    assert folder is not None, done.inner_text()
    exported = appliance.data / "demo-usb-stick" / folder.group()
    assert (exported / "MANIFEST.sha256").is_file()
    label = re.sub("[^A-Za-z0-9]", "", infant)
    assert list(exported.glob(f"sub-{label}/ses-*/motion/*_motion.tsv"))


def a_name_is_refused(page: Any, code: Any) -> None:
    """A name, not a code: refused before anything starts."""
    from playwright.sync_api import expect

    code.fill("Anna Muster")
    page.get_by_test_id("start-button").click()
    expect(page.get_by_test_id("error-line")).not_to_be_empty()
