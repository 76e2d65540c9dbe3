"""`{% todays_duty_tasks %}`: the signed-in person's duty tasks of today, on the page they land on."""

from django import template
from django.utils import timezone

from projects import selectors

register = template.Library()


@register.inclusion_tag("projects/todays_duty_tasks.html", takes_context=True)
def todays_duty_tasks(context) -> dict:
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return {"tasks": []}
    day = timezone.localdate()
    return {"tasks": list(selectors.duty_tasks(day=day, username=user.get_username())), "day": day}
