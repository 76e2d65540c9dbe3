"""/sync/ in a real browser (Debian's chromium through Playwright, at 1366 px): while a batch runs,
the tables change in place with the progress bar, the page says 完成 when it ends, each day links
to its documents, and axe-core finds no serious violation. Skips where chromium or axe-core is missing."""

from datetime import date

import pytest

from sync import services
from tests.sync.conftest import run_batch
from tests.uploads.test_browser import (  # noqa: F401 (fixtures)
    axe_script,
    chromium,
    clerk_page,
    outside_playwright,
    serious_violations,
    signed_in_cookie,
)

START = date(2025, 10, 1)

pytestmark = pytest.mark.first_pass_only


@pytest.mark.django_db(transaction=True)
def test_the_tables_follow_a_running_batch_in_place_and_the_page_says_done(
    live_server,
    staff_user,
    sandbox,
    clerk_page,  # noqa: F811
    unread_broker,
):
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not available (pip install axe-playwright-python, which bundles axe.min.js)")
    page = clerk_page
    sandbox.faults(records_per_day=2)
    # The batch's task goes to a broker no cluster reads (`unread_broker`); the test runs the days.

    def queued_batch():
        batch = services.start_batch(start_date=START, end_date=START)
        return batch.pk, signed_in_cookie(staff_user, live_server.url)

    batch_id, cookie = outside_playwright(queued_batch)
    page.context.add_cookies([cookie])
    page.goto(live_server.url + "/sync/")
    assert page.locator("#recent-days a").count() == 0, "no day synced yet"
    page.evaluate("() => { window.notReloaded = true; }")
    assert serious_violations(page, script) == []

    # No cluster here: the test runs the batch's day tasks while the page watches.
    outside_playwright(lambda: run_batch(batch_id))

    page.locator("#running-message", has_text="完成").wait_for()
    link = page.locator("#recent-days a", has_text="销售订单 2")
    link.wait_for()
    assert "business_date__day=1" in link.get_attribute("href")
    assert page.evaluate("() => window.notReloaded === true"), "updated in place, not reloaded"
    assert page.locator("#running-bar").evaluate("bar => bar.style.width") == "100%"
    assert serious_violations(page, script) == []
