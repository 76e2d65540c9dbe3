"""The staff reports page: stored reports with their charts (inline SVG drawn by the server), an
xlsx of each report; staff only."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from erpjobs import jobs
from erpjobs.models import DailyReport

from .test_alert_jobs import NOW
from .test_production_report import _figures

pytestmark = pytest.mark.django_db

PAGE = "/reports/"


def _report(kind, days_ago, content, markdown="## 日报"):
    return DailyReport.objects.create(
        kind=kind,
        report_date=timezone.localdate() - timedelta(days=days_ago),
        content=content,
        markdown=markdown,
        generated_at=timezone.now(),
    )


def _production(days_ago, rate):
    return _report("production", days_ago, {"products": [], "late_orders": [], "totals": {"rate": rate}})


def _shortage(days_ago, shortages, unkitted):
    item = {"key": "k", "title": "t", "severity": "warning"}
    return _report("shortage", days_ago, {"shortages": [item] * shortages, "unkitted": [item] * unkitted})


def test_anonymous_users_are_sent_to_sign_in_and_field_users_are_refused(client, field_user):
    report = _production(1, "50.0")
    for url in (PAGE, f"/reports/{report.pk}.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(field_user)
    for url in (PAGE, f"/reports/{report.pk}.xlsx"):
        assert client.get(url).status_code == 403


def test_the_page_lists_the_reports_and_draws_completion_and_shortage_charts(client, staff_user):
    _production(2, "84.2")
    _production(1, None)  # nothing planned that day: an empty bar, said in its title
    _shortage(2, 4, 1)
    _shortage(1, 2, 0)
    _production(40, "10.0")  # older than the page's 30 days
    _report("shortage", 3, {"shortages": [], "unkitted": []}, markdown="## <script>alert(1)</script>")
    client.force_login(staff_user)

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    # 140 units of height between the chart's top and its axis: 84.2 % is 117.9 high.
    assert 'height="117.9"' in html and "：84.2%</title>" in html
    assert "：无计划</title>" in html
    # The shortage chart's full height is the largest count (4): 2 materials are half of it.
    assert "满格 = 4" in html and 'height="140.0"' in html and 'height="70.0"' in html
    assert html.count('class="completion"') == 2 and html.count('class="shortages"') == 3
    assert html.count("download>xlsx</a>") == 5
    # Report text is escaped, never markup; nothing is loaded from another site.
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "https://" not in html and "http://" not in html


def test_the_page_with_no_reports_says_so(client, staff_user):
    client.force_login(staff_user)
    html = client.get(PAGE).content.decode()
    assert "还没有生产日报。" in html and "最近没有日报。" in html


def test_a_production_report_downloads_as_an_xlsx_with_its_figures(client, staff_user, settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = ""
    _figures()
    jobs.generate_production_daily_reports(now=NOW)
    report = DailyReport.objects.get()
    client.force_login(staff_user)

    response = client.get(f"/reports/{report.pk}.xlsx")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="production_report_20260309.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["按产品", "延期订单"]
    products = book["按产品"]
    assert [cell.value for cell in products[1]] == [
        "物料编码",
        "产品名称",
        "计划完工订单数",
        "计划数量",
        "完工数量",
        "完成率（%）",
        "当日报工数量",
    ]
    assert [cell.value for cell in products[2]] == ["M-2001", "产品1", 3, 190, 160, 84.2, 20]
    assert products.freeze_panes == "A2" and products.auto_filter.ref == "A1:G3"
    assert products.column_dimensions["B"].width == 24
    late = book["延期订单"]
    assert [[cell.value for cell in row] for row in late.iter_rows(min_row=2)] == [
        ["MO-OLD", "M-2003", "产品3", "2026-03-05", 30, 10, 5],
        ["MO-A2", "M-2001", "产品1", "2026-03-09", 50, 20, 1],
    ]


def test_a_shortage_report_downloads_with_formula_like_text_kept_as_text(client, staff_user):
    report = _report(
        "shortage",
        0,
        {
            "shortages": [{"key": "一号仓:M-1", "title": '=HYPERLINK("x")', "severity": "critical"}],
            "unkitted": [
                {
                    "key": "MO-1",
                    "title": "t",
                    "rate": "50.0",
                    "start_date": "2026-03-11",
                    "missing": ["a 缺 1", "b 缺 2"],
                }
            ],
        },
    )
    client.force_login(staff_user)

    book = load_workbook(io.BytesIO(client.get(f"/reports/{report.pk}.xlsx").content))

    assert book.sheetnames == ["缺料物料", "未齐套生产订单"]
    cell = book["缺料物料"]["B2"]
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s" and cell.quotePrefix
    assert [c.value for c in book["未齐套生产订单"][2]] == ["MO-1", "2026-03-11", 50, "t", "a 缺 1；b 缺 2"]


def test_an_unknown_report_is_not_found(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/reports/999.xlsx").status_code == 404
