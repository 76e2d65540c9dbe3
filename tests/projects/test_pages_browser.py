"""The project dashboard and the duty tasks page on a phone (Debian's chromium through Playwright,
390 px wide): nothing wider than the screen, and axe-core finds no serious violation. Skips where
chromium or axe-core is missing."""

import pytest

from tests.projects.test_dashboard import _projects
from tests.uploads.test_browser import (  # noqa: F401 (fixtures)
    axe_script,
    browser_page,
    chromium,
    outside_playwright,
    serious_violations,
    signed_in_cookie,
)

pytestmark = pytest.mark.first_pass_only


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_fits_a_phone_and_passes_axe(live_server, staff_user, browser_page):  # noqa: F811
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not available (pip install axe-playwright-python, which bundles axe.min.js)")
    page = browser_page

    def seeded():
        _projects(3)
        return signed_in_cookie(staff_user, live_server.url)

    page.context.add_cookies([outside_playwright(seeded)])
    for path in ("/projects/dashboard/", "/duty-tasks/"):
        page.goto(live_server.url + path)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, path
        assert serious_violations(page, script) == [], path
    page.goto(live_server.url + "/projects/dashboard/")
    assert page.locator(".project-card").count() == 3
    assert page.locator("svg.spark polyline").count() == 6


@pytest.mark.django_db(transaction=True)
def test_the_customer_page_fits_a_phone_and_passes_axe(live_server, staff_user, browser_page):  # noqa: F811
    """The customer's own page (mobile-first): opened from a link on a 390 px phone, no sign-in."""
    script = axe_script()
    if script is None:
        pytest.skip("axe-core is not available (pip install axe-playwright-python, which bundles axe.min.js)")
    page = browser_page

    def linked():
        from projects import links
        from projects.models import Project

        _projects(1)
        return links.customer_path(links.create_link(project=Project.objects.get(), user=staff_user))

    path = outside_playwright(linked)
    page.goto(live_server.url + path)
    assert page.locator("h1").count() == 1
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert serious_violations(page, script) == []
