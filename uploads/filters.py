"""The seed's record filters (search, doc_type, product_type, status, start_date, end_date),
shared by the records list and the export."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.filters import StrictFilterSet
from uploads.models import DocType, UploadRecord, UploadStatus


class UploadRecordFilter(StrictFilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("搜索（单据编号/文件名/业务ID）"))
    doc_type = django_filters.ChoiceFilter(choices=DocType.choices)
    product_type = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=UploadStatus.choices)
    start_date = django_filters.DateFilter(field_name="upload_time", lookup_expr="date__gte")
    end_date = django_filters.DateFilter(field_name="upload_time", lookup_expr="date__lte")

    class Meta:
        model = UploadRecord
        fields = ["search", "doc_type", "product_type", "status", "start_date", "end_date"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(doc_number__icontains=value) | Q(file_name__icontains=value) | Q(business_id__icontains=value)
        )
