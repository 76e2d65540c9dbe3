"""Prometheus series of alerting, read from the database like the scheduler's."""

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.alerting import selectors
from alerts.alerting.rules import all_rules


class AlertsCollector(Collector):
    def collect(self):
        gauge = GaugeMetricFamily(
            "yunqiao_alerts_open",
            "Open alerts (firing or acknowledged) by rule and severity.",
            labels=["rule", "severity"],
        )
        counts = {(rule, severity): n for rule, severity, n in selectors.open_alert_counts()}
        # Every declared rule at its default severity appears, at 0 when quiet, so that a
        # Prometheus alert on `> 0` has a series to look at from the start.
        for rule in all_rules():
            counts.setdefault((rule.id, rule.severity), 0)
        for (rule, severity), n in sorted(counts.items()):
            gauge.add_metric([rule, severity], n)
        yield gauge
        states = GaugeMetricFamily("yunqiao_alerts", "Alerts by state.", labels=["state"])
        for state, n in selectors.state_counts().items():
            states.add_metric([state], n)
        yield states
