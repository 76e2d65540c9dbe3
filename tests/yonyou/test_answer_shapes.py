"""Answers whose shape the client does not know are typed errors, never an untyped crash: a
gateway (or a proxy in front of it) answering a well-formed envelope around unexpected data."""

import io
import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from yonyou.client import get_client
from yonyou.errors import RetryableError

pytestmark = pytest.mark.django_db


@pytest.fixture
def odd_remote():
    """A fake remote answering every call with the JSON set in `answer["body"]`."""
    answer = {"body": {}}

    class Remote(BaseHTTPRequestHandler):
        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps(answer["body"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Remote)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answer["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield answer
    server.shutdown()
    server.server_close()


def ok(data) -> dict:
    return {"code": "200", "message": "操作成功", "data": data}


def list_attachments():
    return get_client().list_attachments(business_type="yonbip-scm-scmsa", business_id="1", bill_code="SO1")


def upload():
    return get_client().upload_attachment(
        business_type="yonbip-scm-scmsa", business_id="1", file_name="a.jpg", fileobj=io.BytesIO(b"x")
    )


def list_documents():
    return get_client().list_documents(doc_type="sales_order", business_date=date(2025, 10, 1))


PAGE = {"pageIndex": 1, "pageSize": 10, "pageCount": 1, "recordCount": 1}


@pytest.mark.parametrize(
    ("call", "data"),
    [
        (list_attachments, {"data": [{"id": "f1", "fileName": "a.jpg"}]}),  # the upload answer's nesting
        (list_attachments, {"id": "f1", "fileName": "a.jpg"}),
        (list_attachments, "no files"),
        (list_attachments, ["a.jpg"]),
        (list_attachments, [{"fileName": "a.jpg"}]),  # no id: "None" is not a file id
        (upload, [{"id": "f1"}]),
        (upload, {"data": {"id": "f1"}}),
        (upload, {"data": [{"fileName": "a.jpg", "id": None}]}),
        (upload, {"data": ["f1"]}),
        (upload, "f1"),
        (list_documents, [PAGE]),
        (list_documents, {**PAGE, "recordList": {"code": "SO1"}}),
        (list_documents, {**PAGE, "recordList": ["SO1"]}),
        (list_documents, {**PAGE, "pageIndex": "first"}),
    ],
)
def test_an_unknown_business_answer_shape_is_a_typed_retryable_error(sandbox, settings, odd_remote, call, data):
    settings.YONYOU_GATEWAY_URL = odd_remote["url"] + "/iuap-api-gateway"  # tokens still from the sandbox
    odd_remote["body"] = ok(data)
    with pytest.raises(RetryableError) as odd:
        call()
    assert odd.value.code == "bad_response"


@pytest.mark.parametrize(
    "data", [["token"], {"access_token": "t", "expire": "soon"}, {"access_token": 7, "expire": 60}]
)
def test_an_unknown_token_answer_shape_is_a_typed_retryable_error(sandbox, settings, odd_remote, data):
    settings.YONYOU_TOKEN_URL = odd_remote["url"] + "/iuap-api-auth"
    odd_remote["body"] = {"code": "00000", "message": "成功！", "data": data}
    with pytest.raises(RetryableError) as odd:
        list_attachments()
    assert odd.value.code == "token_refresh_failed"


def test_an_empty_attachment_list_is_no_attachments(sandbox, settings, odd_remote):
    settings.YONYOU_GATEWAY_URL = odd_remote["url"] + "/iuap-api-gateway"
    for empty in (None, []):
        odd_remote["body"] = ok(empty)
        assert list_attachments() == []
