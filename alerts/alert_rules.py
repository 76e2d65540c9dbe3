"""The scheduler's own alert rules, declared like every app's: the dead-man's switch of every
job (`job_failed`, `job_not_running`), evaluated by `check_system_alerts`."""

from alerts.alerting import deadman  # noqa: F401  (importing it declares the rules)
