"""Query filters refuse what the schema calls invalid instead of ignoring it."""

import django_filters
from django import forms
from django.utils.translation import gettext as _

# The only spellings of a boolean in a query string that the schema (type: boolean) allows.
BOOLEAN_WORDS = ("true", "false")


class StrictFilterSet(django_filters.FilterSet):
    """`?status=` or `?start_date=` is a 400, not "any status"; `?unpaid=null` is a 400, not "any".

    django-filter reads an empty or unknown value as "no filter", which suits HTML forms; an API
    client that sends one has made a mistake and should hear about it. Text filters keep accepting
    "" (the schema's `type: string` allows it), meaning no filter.
    """

    def is_valid(self) -> bool:
        valid = super().is_valid()
        getlist = getattr(self.data, "getlist", lambda name: [self.data[name]])
        for name, query_filter in self.filters.items():
            # An empty text or ordering is a valid (empty) value in the schema: no filter, default order.
            if name not in self.data or isinstance(
                query_filter, (django_filters.CharFilter, django_filters.OrderingFilter)
            ):
                continue
            for value in getlist(name):
                if value == "":
                    self.form.add_error(name, _("不能为空；不筛选请省略此参数"))
                elif isinstance(query_filter, django_filters.BooleanFilter) and value not in BOOLEAN_WORDS:
                    self.form.add_error(name, _("必须是 true 或 false"))
        return valid and not self.form.errors


class IntegerFilter(django_filters.NumberFilter):
    """A filter on an integer column: `?status=0.5` is a 400 (NumberFilter would take a decimal)."""

    field_class = forms.IntegerField
