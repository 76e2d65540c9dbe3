"""/scheduler/ in a real browser (Debian's chromium through Playwright, at 1366 px): a job's cron is
previewed in words while typed, edited and told in words, a triggered run's status appears in
Chinese in its row with a link to the run, and axe-core finds no serious violation.
Skips where chromium or axe-core is missing."""

import pytest

from alerts import services
from tests.uploads.test_browser import (  # noqa: F401 (fixtures)
    axe_script,
    chromium,
    clerk_page,
    outside_playwright,
    serious_violations,
    signed_in_cookie,
)

pytestmark = pytest.mark.first_pass_only


@pytest.mark.django_db(transaction=True)
def test_staff_edit_a_cron_and_watch_a_triggered_run_in_its_row(live_server, staff_user, clerk_page, unread_broker):  # noqa: F811
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not available (pip install axe-playwright-python, which bundles axe.min.js)")
    page = clerk_page

    def registered():
        services.sync_schedules()
        return signed_in_cookie(staff_user, live_server.url)

    page.context.add_cookies([outside_playwright(registered)])
    page.goto(live_server.url + "/scheduler/")
    assert serious_violations(page, script) == []

    # While typing, the words (or the reason it is refused) appear beside the field, before saving.
    words = page.locator("#cron-words-cleanup_old_job_runs")
    page.fill("#cron-cleanup_old_job_runs", "30 6 * *")
    page.locator("#cron-words-cleanup_old_job_runs.error").get_by_text("须为 5 个字段").wait_for()
    page.fill("#cron-cleanup_old_job_runs", "30 6 * * 1-5")
    words.get_by_text("每周一至周五 06:30 · 下次运行：").wait_for()
    assert "error" not in words.get_attribute("class")
    page.click("#job-cleanup_old_job_runs .cron-form button")
    page.wait_for_selector("text=每周一至周五 06:30（30 6 * * 1-5），已启用")
    assert serious_violations(page, script) == []

    # Its task goes to a broker no cluster reads (`unread_broker`), so the run stays queued: enough
    # to see its state and link in place.
    page.click('button[data-trigger="cleanup_old_job_runs"]')
    cell = page.locator('td[data-last-run="cleanup_old_job_runs"]')
    cell.locator("text=排队中").wait_for()
    run_link = cell.locator("a").get_attribute("href")
    assert run_link.startswith("/admin/alerts/jobrun/") and run_link.endswith("/change/")
    assert page.locator("#trigger-message a").get_attribute("href") == run_link
