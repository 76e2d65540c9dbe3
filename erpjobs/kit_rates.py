"""Kit rates per production order and day: written by `daily_kit_check` (and by the shortage report
when the check has not run that day), read by the report and the reports page."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from erpjobs import conditions
from erpjobs.models import KitRate


def record_kit_rates(*, today: date, kits: list[conditions.OrderKit], now: datetime | None = None) -> int:
    """Replace the day's rows with `kits` (a re-run the same day keeps only its latest view)."""
    now = now or timezone.now()
    rows = [
        KitRate(
            check_date=today,
            order_code=kit.order_code,
            product_name=kit.product_name[:200],
            start_date=kit.start_date,
            lines=kit.lines,
            covered_lines=kit.covered,
            rate=kit.rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
            missing=list(kit.missing),
            checked_at=now,
        )
        for kit in kits
    ]
    with transaction.atomic():
        KitRate.objects.filter(check_date=today).delete()
        KitRate.objects.bulk_create(rows, batch_size=1_000)
    return len(rows)


def kit_rates_of(day: date, *, now: datetime | None = None) -> list[KitRate]:
    """The day's stored rates; computed and stored first when the kit check has not run that day."""
    if not KitRate.objects.filter(check_date=day).exists():
        record_kit_rates(today=day, kits=conditions.order_kits(today=day), now=now)
    return list(KitRate.objects.filter(check_date=day).order_by("rate", "start_date", "order_code"))
