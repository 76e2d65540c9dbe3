"""The documented shape of each uploads answer, for the OpenAPI schema only.

The bodies themselves are built by `uploads.api` (`accepted_body`, `record_body` and the views: the
seed's shapes, which integrators rely on); nothing here validates input or builds an answer.
`tests/uploads/test_documented_answers.py` checks every real answer against these.
"""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from uploads.models import DocType, UploadStatus

# The form POST /api/upload reads; `api.upload_from_request` and the intake service check it.
UPLOAD_FORM = inline_serializer(
    "UploadForm",
    {
        "business_id": serializers.CharField(),
        "doc_number": serializers.CharField(),
        "doc_type": serializers.ChoiceField(choices=DocType.choices),
        "product_type": serializers.CharField(required=False),
        "sig": serializers.CharField(required=False),
        "files": serializers.ListField(child=serializers.FileField()),
        "idempotency_key": serializers.CharField(required=False),
    },
)


class UploadRecordSerializer(serializers.Serializer):
    """One upload record (`record_body`)."""

    id = serializers.IntegerField()
    business_id = serializers.CharField()
    doc_number = serializers.CharField()
    doc_type = serializers.ChoiceField(choices=DocType.choices)
    product_type = serializers.CharField(allow_null=True)
    file_name = serializers.CharField(help_text="the stored file's name")
    original_name = serializers.CharField(help_text="the name the client sent, or empty")
    file_size = serializers.IntegerField(help_text="bytes")
    upload_time = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=UploadStatus.choices)
    status_label = serializers.CharField()
    error_code = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)
    retry_count = serializers.IntegerField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    gives_up_at = serializers.DateTimeField(allow_null=True)
    yonyou_file_id = serializers.CharField(allow_null=True)


class AcceptedFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    original_name = serializers.CharField()
    status = serializers.ChoiceField(choices=UploadStatus.choices)
    file_size = serializers.IntegerField()


class UploadAcceptedSerializer(serializers.Serializer):
    """The answer to POST /api/upload (`accepted_body`): the photos are stored, their upload queued."""

    success = serializers.BooleanField(help_text="always true")
    total = serializers.IntegerField()
    message = serializers.CharField()
    records = AcceptedFileSerializer(many=True)
    replayed = serializers.BooleanField(
        required=False, help_text="present (true) when the Idempotency-Key was seen before: nothing new was stored"
    )


class UploadLinkCreatedSerializer(serializers.Serializer):
    url = serializers.URLField()
    history_url = serializers.URLField()
    expires_at = serializers.DateTimeField()
    qr_svg = serializers.CharField(help_text="the link's QR code, an SVG document")


class UploadHistorySerializer(serializers.Serializer):
    business_id = serializers.CharField()
    total = serializers.IntegerField(help_text="all the document's records; `records` lists the newest ones")
    has_unfinished = serializers.BooleanField()
    records = UploadRecordSerializer(many=True)


class UploadRecordPageSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    records = UploadRecordSerializer(many=True)


class UploadStatisticsSerializer(serializers.Serializer):
    total_uploads = serializers.IntegerField()
    pending_count = serializers.IntegerField()
    uploading_count = serializers.IntegerField()
    success_count = serializers.IntegerField()
    failed_count = serializers.IntegerField()
    by_doc_type = serializers.DictField(child=serializers.IntegerField(), help_text="doc_type → records")


class UploadsRetriedSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="always true")
    retried = serializers.IntegerField(help_text="failed records put back to pending (others named are left alone)")
    message = serializers.CharField()
