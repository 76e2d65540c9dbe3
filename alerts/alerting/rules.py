"""The rule registry: every alert rule is declared once with `declare_rule(...)`, next to the
code that evaluates it.

Apps declare their rules in `<app>/alert_rules.py`, next to their selectors; those modules are
imported by `autodiscover()` (called from `AlertsConfig.ready`), so alerting never imports the
apps it serves. A rule declared with `evaluate=` (its set-based query: `now` in, the `Firing` of
every key still true out) is evaluated every minute by `check_system_alerts`; a rule without one is
evaluated by its own job or raised from code. Declarations open their module, so `evaluate` is
usually a lambda calling a query defined further down.

A rule says what it is (name, severity, category, what to do) and where its data comes from: the
job that evaluates it (whose declared `reads` are the rule's tables) or, for rules raised from
code, the tables directly. Inhibition follows from those tables: a rule declaring
`stale_tables_while_firing` holds every other rule reading one of those tables, for alerts whose
`inhibit_equal` labels match (see `alerting.suppression`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

from alerts import registry
from alerts.alerting.models import Severity

if TYPE_CHECKING:
    from alerts.alerting.lifecycle import Firing

# A rule's query: given the evaluation time, every key for which the rule holds now.
RuleQuery = Callable[[datetime], Iterable["Firing"]]


class UnknownRule(LookupError):
    """No rule with this id is declared."""

    def __init__(self, rule_id: str):
        super().__init__(rule_id)
        self.rule_id = rule_id


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    category: str
    # What the person told should do; the last line of every message about this rule.
    advice: str = ""
    job: str | None = None
    reads: tuple[str, ...] = ()
    stale_tables_while_firing: Callable[[], Iterable[str]] | None = None
    inhibit_equal: tuple[str, ...] = ()
    evaluate: RuleQuery | None = None
    extra: dict = field(default_factory=dict)

    def tables_read(self) -> frozenset[str]:
        """The tables whose data this rule's alerts are derived from."""
        if self.reads:
            return frozenset(self.reads)
        if self.job and registry.is_registered(self.job):
            return frozenset(registry.get_job(self.job).reads)
        return frozenset()

    def stale_tables(self) -> frozenset[str]:
        return frozenset(self.stale_tables_while_firing()) if self.stale_tables_while_firing else frozenset()


_rules: dict[str, Rule] = {}
_lock = threading.Lock()


def declare_rule(
    *,
    id: str,
    name: str,
    severity: str = Severity.WARNING,
    category: str = "预警",
    advice: str = "",
    job: str | None = None,
    reads: Iterable[str] = (),
    stale_tables_while_firing: Callable[[], Iterable[str]] | None = None,
    inhibit_equal: Iterable[str] = (),
    evaluate: RuleQuery | None = None,
) -> Rule:
    """Declare (or re-declare, on re-import) an alert rule and return it."""
    if not id or not id.isascii() or not id.replace("_", "").isalnum():
        raise ImproperlyConfigured(f"rule id must be ASCII letters, digits and underscores, got {id!r}")
    if severity not in Severity.values:
        raise ImproperlyConfigured(f"rule {id}: severity must be one of {Severity.values}, got {severity!r}")
    if category not in registry.CATEGORIES:
        raise ImproperlyConfigured(f"rule {id}: category must be one of {registry.CATEGORIES}, got {category!r}")
    if stale_tables_while_firing is not None and not inhibit_equal:
        raise ImproperlyConfigured(f"rule {id}: an inhibiting rule must name the labels that must be equal")
    rule = Rule(
        id=id,
        name=name,
        severity=str(severity),
        category=category,
        advice=advice,
        job=job,
        reads=tuple(reads),
        stale_tables_while_firing=stale_tables_while_firing,
        inhibit_equal=tuple(inhibit_equal),
        evaluate=evaluate,
    )
    with _lock:
        _rules[id] = rule
    return rule


def get_rule(rule_id: str) -> Rule:
    try:
        return _rules[rule_id]
    except KeyError:
        raise UnknownRule(rule_id) from None


def all_rules() -> list[Rule]:
    return sorted(_rules.values(), key=lambda rule: rule.id)


def evaluated_rules() -> list[Rule]:
    """The rules carrying their own query, evaluated together by `check_system_alerts`."""
    return [rule for rule in all_rules() if rule.evaluate is not None]


def forget_rule(rule_id: str) -> None:
    """Remove a rule from this process (tests declaring throwaway rules use it)."""
    with _lock:
        _rules.pop(rule_id, None)


def inhibitors_of(rule: Rule) -> list[Rule]:
    """The rules that hold `rule` while they fire: those whose stale tables it reads."""
    reads = rule.tables_read()
    if not reads:
        return []
    return [
        source
        for source in all_rules()
        if source.id != rule.id and source.stale_tables_while_firing and source.stale_tables() & reads
    ]


def autodiscover() -> None:
    """Import every installed app's `alert_rules` module, which declares its rules."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("alert_rules")
