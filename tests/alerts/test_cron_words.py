"""Cron expressions described in Chinese (the default language) and English."""

import pytest
from django.utils import translation

from alerts.cron_words import describe_cron


@pytest.mark.parametrize(
    "cron, words",
    [
        ("* * * * *", "每分钟"),
        ("*/2 * * * *", "每 2 分钟"),
        ("0 * * * *", "每小时整点"),
        ("15 * * * *", "每小时第 15 分"),
        ("0 */4 * * *", "每 4 小时（第 0 分）"),
        ("0 7 * * *", "每天 07:00"),
        ("30 10 * * *", "每天 10:30"),
        ("0 9,15 * * *", "每天 09:00、15:00"),
        ("0 8 * * 1-5", "每周一至周五 08:00"),
        ("0 8 * * MON", "每周一 08:00"),
        ("0 2 1 * *", "每月 1 日 02:00"),
        ("0 0 1 1 *", "每年 1 月 1 日 00:00"),
        ("5-10 8-18 * * *", "5-10 8-18 * * *"),
    ],
)
def test_cron_in_words(cron, words):
    with translation.override("zh-hans"):
        assert describe_cron(cron) == words


def test_cron_in_words_follows_the_language():
    with translation.override("en"):
        assert describe_cron("0 7 * * *") == "daily at 07:00"
        assert describe_cron("*/2 * * * *") == "every 2 minutes"
