"""End to end in a real browser: Debian's chromium driven by Playwright, on a phone-sized screen,
opens a signed QR link, picks three photos, uploads, and watches the history turn to 成功; axe-core
checks both pages. Skips (with the reason) where chromium or axe-core is not installed."""

from pathlib import Path

import pytest

from tests.uploads.conftest import png_bytes
from uploads import links

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def axe_script() -> Path | None:
    try:
        import axe_playwright_python
    except ImportError:
        return None
    path = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    return path if path.exists() else None


def serious_violations(page, script: Path) -> list[dict]:
    page.add_script_tag(path=str(script))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def browser_page():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_phone_uploads_three_photos_from_a_qr_link_and_sees_them_succeed(
    qcluster, sandbox, live_server, browser_page, document
):
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not available (pip install axe-playwright-python, which bundles axe.min.js)")
    page = browser_page
    link = links.create_link(**document)

    page.goto(live_server.url + link.path())
    assert page.locator("#doc-number").text_content() == document["doc_number"]
    assert serious_violations(page, script) == []

    page.set_input_files(
        "#files",
        [
            {"name": f"photo{i}.png", "mimeType": "image/png", "buffer": png_bytes(colour=(40 * i, 120, 200))}
            for i in range(3)
        ],
    )
    assert page.locator("#thumbs img").count() == 3
    page.click("#submit")
    page.wait_for_selector("#result-list li:nth-child(3)")
    assert "已接收3个文件" in page.locator("#result-message").text_content()

    page.click("#history-link")
    page.wait_for_function(
        "() => document.querySelectorAll('#history li[data-status=success]').length === 3", timeout=60_000
    )
    assert page.locator("#history .badge.success").first.text_content().strip().endswith("成功")
    assert serious_violations(page, script) == []
    assert len(sandbox.state()["files"]) == 3
