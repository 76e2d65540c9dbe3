"""Fixtures of the alerting tests: throwaway rules declared through the real rule registry, and a
fixed clock (tests pass `now=` explicitly; none depends on the wall clock)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alerts.alerting import rules

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def declare_rule():
    """Declare an alert rule for one test, as an app would; it is forgotten afterwards."""
    declared = []

    def declare(*, id="probe_rule", name="探针规则", **meta):
        rule = rules.declare_rule(id=id, name=name, **meta)
        declared.append(id)
        return rule

    yield declare
    for rule_id in declared:
        rules.forget_rule(rule_id)
