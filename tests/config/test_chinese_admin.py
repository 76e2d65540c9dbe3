"""Clerks read the admin in Chinese, third-party apps included: django-q2 and django-axes ship no
Chinese for their field names and columns, nor Django for its newest admin strings;
locale/zh_Hans supplies them."""

import re

import pytest
from django.utils import timezone
from django_q.models import Schedule, Task


def column_headers(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>|\s+", "", m.group(0)) for m in re.finditer(r'<th scope="col".*?</th>', html, re.S)]


@pytest.mark.django_db
def test_django_q2_and_axes_admin_pages_are_in_chinese(client, staff_user):
    now = timezone.now()
    Task.objects.create(id="a" * 32, name="n", func="math.floor", started=now, stopped=now, success=True)
    Task.objects.create(id="b" * 32, name="m", func="math.floor", started=now, stopped=now, success=False)
    Schedule.objects.create(func="math.floor", name="x")
    staff_user.is_superuser = True  # django-q2's admin asks for its own model permissions
    staff_user.save()
    client.force_login(staff_user)

    success = column_headers(client.get("/admin/django_q/success/").content.decode())
    assert {"名称", "函数", "集群", "开始时间", "结束时间", "耗时", "模型名称"} <= set(success)
    assert "结果摘要" in column_headers(client.get("/admin/django_q/failure/").content.decode())
    assert {"上次运行", "成功"} <= set(column_headers(client.get("/admin/django_q/schedule/").content.decode()))
    home = client.get("/admin/").content.decode()
    assert "登录尝试" in home and "Access attempts" not in home
