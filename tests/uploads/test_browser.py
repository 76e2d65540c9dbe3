"""End to end in a real browser: Debian's chromium driven by Playwright, on a phone-sized screen,
opens a signed QR link, picks photos, and watches them reach Yonyou; a 4 MB photo is shrunk in the
browser, kept across reloads while the upload fails, and sent once the network is back; axe-core
checks the pages. Skips (with the reason) where chromium or axe-core is not installed."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.test import Client

from tests.uploads.conftest import png_bytes
from tests.uploads.photos import jpeg_size, phone_photo
from uploads import files, links
from uploads.models import UploadRecord

pytestmark = pytest.mark.first_pass_only

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
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium):
    """A phone: 390 px wide, touch."""
    context = chromium.new_context(
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


@pytest.fixture
def clerk_page(chromium):
    """A clerk's laptop: 1366 × 768."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


# A name as a phone app might write it, with no place to break a line.
LONG_NAME = "微信图片_" + "20251021093015ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 4 + ".png"


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
            {"name": name, "mimeType": "image/png", "buffer": png_bytes(colour=(40 * i, 120, 200))}
            for i, name in enumerate(["photo0.png", "photo1.png", LONG_NAME])
        ],
    )
    page.wait_for_function(
        "() => document.querySelectorAll('#queue li[data-status=done]').length === 3", timeout=60_000
    )
    assert page.locator("#queue li").first.locator(".badge").text_content() == "已上传到用友"

    page.click("#history-link")
    page.wait_for_function(
        "() => document.querySelectorAll('#history li[data-status=success]').length === 3", timeout=60_000
    )
    assert page.locator("#history .badge.success").first.text_content().strip().endswith("成功")
    # Every photo is shown, from the authorised view, and a long name does not widen the page.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#history img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length === 3"
    )
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert serious_violations(page, script) == []
    assert len(sandbox.state()["files"]) == 3


def outside_playwright(query):
    """Run a database query in a plain thread: Playwright's sync API keeps an event loop running in
    this one, where Django refuses database calls."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(query).result()


def stored_upload() -> tuple[UploadRecord, bytes]:
    record = UploadRecord.objects.get()
    return record, files.absolute_path(record.local_file_path).read_bytes()


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_phone_photo_is_shrunk_kept_across_reloads_while_offline_and_reaches_yonyou(
    qcluster, sandbox, live_server, browser_page, document
):
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not available (pip install axe-playwright-python, which bundles axe.min.js)")
    page = browser_page
    link = links.create_link(**document)
    page.goto(live_server.url + link.path())
    photo = phone_photo(page)
    assert len(photo) > 4_000_000

    # The signal is gone: every upload request fails, the photo waits in the browser.
    page.route("**/api/upload*", lambda route: route.abort("internetdisconnected"))
    page.set_input_files("#camera", {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo})
    page.wait_for_selector("#queue li[data-status=failed] button.retry")
    assert page.locator("#queue li").count() == 1
    page.reload()
    page.wait_for_selector("#queue li[data-status=failed]")
    assert page.locator("#queue li .name").text_content() == "IMG_0001.jpg"
    assert serious_violations(page, script) == []
    assert not outside_playwright(UploadRecord.objects.exists)

    # Signal back: the next visit sends what the queue kept, and it turns to 已上传到用友 live.
    page.unroute("**/api/upload*")
    sent = []
    page.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")) if "/api/upload" in r.url else None)
    page.reload()
    page.wait_for_selector("#queue li[data-status=done]", timeout=60_000)
    assert page.locator("#queue li .badge").text_content() == "已上传到用友"

    record, stored = outside_playwright(stored_upload)
    assert record.original_name == "IMG_0001.jpg"
    assert len(sent) == 1 and sent[0] < 500 * 1024
    assert len(stored) < 500 * 1024
    assert jpeg_size(stored) == (1200, 1600)  # upright: EXIF orientation applied, longest side 1600
    assert len(sandbox.state()["files"]) == 1
    # Delivered rows leave the browser's queue.
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("#queue li").count() == 0

    # Offline on the same page, then online again: the waiting photo goes without a reload or a tap.
    page.context.set_offline(True)
    page.set_input_files("#camera", {"name": "IMG_0002.jpg", "mimeType": "image/jpeg", "buffer": photo})
    page.wait_for_selector("#queue li[data-status=failed]")
    page.context.set_offline(False)
    page.wait_for_selector("#queue li[data-status=done]", timeout=60_000)
    assert len(sandbox.state()["files"]) == 2


def signed_in_cookie(user, live_server_url: str) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}


@pytest.mark.django_db(transaction=True)
def test_clerk_sees_status_retries_and_errors_at_1366_px_and_prints_codes(
    live_server, make_records, staff_user, clerk_page
):
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not available (pip install axe-playwright-python, which bundles axe.min.js)")
    page = clerk_page

    def records():
        made = make_records(3, product_type="快消")
        UploadRecord.objects.update(original_name=LONG_NAME)
        UploadRecord.objects.filter(pk=made[0].pk).update(
            status="failed", retry_count=3, error_message="用友返回 500：服务器内部错误，请稍后重试" * 3
        )
        return signed_in_cookie(staff_user, live_server.url)

    page.context.add_cookies([outside_playwright(records)])
    page.goto(live_server.url + "/admin/uploads/uploadrecord/")
    # Inside the window and inside the results box (which would otherwise scroll sideways).
    results = page.locator("#changelist .results").bounding_box()
    assert results["x"] + results["width"] <= 1366
    for column in ("status_badge", "retry_count", "error_message_short"):
        box = page.locator(f"#result_list th.column-{column}").bounding_box()
        assert box and box["x"] + box["width"] <= results["x"] + results["width"], column
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(
        "() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth }"
    )
    # A long name wraps in a readable column, not one character per line.
    assert page.locator("#result_list td.field-original_name").first.bounding_box()["width"] >= 100
    assert page.locator("#result_list img.yq-thumb").count() == 3
    assert serious_violations(page, script) == []

    page.click("text=生成上传二维码")
    page.fill("#id_business_id", "2000000000000000001")
    page.fill("#id_doc_number", "SO-NEW-1")
    page.select_option("#id_doc_type", "转库")
    page.click("input[type=submit]")
    page.wait_for_selector(".yq-code svg")
    assert serious_violations(page, script) == []
    page.emulate_media(media="print")
    assert page.locator("#header").is_hidden() and page.locator(".yq-form").is_hidden()
