"""Alerting: alerts raised by rules (dedupe, auto-resolve, acknowledge, resolve), silences,
inhibition, grouping and repeat of messages, escalation. Models live in `alerting.models` and are
loaded with the app through `alerts.models`."""
