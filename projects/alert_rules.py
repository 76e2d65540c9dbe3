"""The projects app's alert rules (autodiscovered by alerts.alerting.rules): each is declared with
its job in `projects.alert_jobs`, which this import loads."""

from projects import alert_jobs  # noqa: F401
