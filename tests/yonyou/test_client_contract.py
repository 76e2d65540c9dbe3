"""The client against a real sandbox process over HTTP: tokens, faults, uploads, paging."""

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tracemalloc
from datetime import date

import httpx
import pytest
from django.test import override_settings

from tests.conftest import REPO_ROOT, SandboxControl, free_port, stop_process, wait_until
from yonyou.client import YonyouClient, get_client
from yonyou.errors import PermanentError, RetryableError

DAY = date(2025, 10, 1)
pytestmark = pytest.mark.django_db


def upload(client, data: bytes = b"\xff\xd8\xff\xe0 photo", name: str = "SO1_photo.jpg"):
    return client.upload_attachment(
        business_type="yonbip-scm-scmsa", business_id="1836660026080493581", file_name=name, fileobj=io.BytesIO(data)
    )


def test_signed_token_request_is_accepted_and_the_upload_arrives_intact(sandbox):
    data = os.urandom(4096)
    uploaded = upload(get_client(), data)
    files = sandbox.state()["files"]
    assert [f["id"] for f in files] == [uploaded.file_id]
    assert files[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert files[0]["business_type"] == "yonbip-scm-scmsa"
    assert files[0]["business_id"] == "1836660026080493581"
    assert files[0]["file_name"] == "SO1_photo.jpg"


def test_a_wrong_app_secret_is_refused_permanently(sandbox, settings):
    settings.YONYOU_APP_SECRET = "not-the-secret"
    with pytest.raises(PermanentError) as refused:
        upload(get_client())
    assert refused.value.code == "auth_rejected"
    assert "not-the-secret" not in str(refused.value)
    assert sandbox.state()["files"] == []


def test_token_is_cached_across_calls_and_shared_between_clients(sandbox):
    upload(get_client())
    upload(get_client())
    upload(YonyouClient())  # another process's client would read the same cache
    state = sandbox.state()
    assert state["tokens_issued"] == 1
    assert state["requests"]["upload"] == 3


def test_an_expired_token_is_refreshed_once_then_the_call_succeeds(sandbox):
    client = get_client()
    upload(client)
    sandbox.faults(expire_tokens_now=True)
    upload(client)
    state = sandbox.state()
    assert state["tokens_issued"] == 2
    assert state["requests"]["upload"] == 3  # the rejected call, then the retry
    assert len(state["files"]) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(sandbox, status):
    sandbox.faults(fail_rate=1.0, fail_status=status)
    with pytest.raises(RetryableError) as failed:
        upload(get_client())
    assert failed.value.code == f"http_{status}"
    assert failed.value.http_status == status


def test_rate_limit_is_retryable_and_carries_retry_after(sandbox):
    sandbox.faults(fail_rate=1.0, fail_status=429, retry_after_s=7)
    with pytest.raises(RetryableError) as limited:
        upload(get_client())
    assert limited.value.code == "rate_limited"
    assert limited.value.retry_after == 7.0


def test_a_hanging_gateway_times_out_as_retryable(sandbox, settings):
    settings.YONYOU_TIMEOUT_S = 0.3
    sandbox.faults(hang_rate=1.0, hang_s=1.5)
    get_client().access_token()  # the token endpoint does not hang
    with pytest.raises(RetryableError) as hung:
        get_client().list_documents(doc_type="sales_order", business_date=DAY)
    assert hung.value.code == "timeout"


def test_a_reset_connection_is_retryable(sandbox):
    get_client().access_token()
    sandbox.faults(reset_rate=1.0)
    with pytest.raises(RetryableError) as reset:
        get_client().list_documents(doc_type="sales_order", business_date=DAY)
    assert reset.value.code == "connection_error"


def test_an_unreachable_gateway_is_retryable(sandbox, settings):
    settings.YONYOU_TOKEN_URL = f"http://127.0.0.1:{free_port()}/iuap-api-auth"
    with pytest.raises(RetryableError) as down:
        upload(get_client())
    assert down.value.code == "token_refresh_failed"


def test_an_unreachable_token_cache_is_retryable(sandbox):
    dead_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    with override_settings(CACHES=dead_cache), pytest.raises(RetryableError) as down:
        upload(get_client())
    assert down.value.code == "token_refresh_failed"
    assert sandbox.state()["files"] == []


def test_an_unknown_api_path_is_permanent(sandbox, settings):
    settings.YONYOU_GATEWAY_URL = sandbox.url + "/iuap-api-gateway/no-such-prefix"
    with pytest.raises(PermanentError) as missing:
        upload(get_client())
    assert missing.value.code == "http_404"
    assert "310404" in missing.value.message


def test_a_refusal_whose_body_is_not_a_json_object_is_still_a_typed_error(sandbox, settings):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class ProxyRefusal(BaseHTTPRequestHandler):
        """A proxy in front of the gateway that answers 403 with a bare JSON string."""

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'"forbidden"'
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), ProxyRefusal)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    settings.YONYOU_GATEWAY_URL = f"http://127.0.0.1:{proxy.server_address[1]}/iuap-api-gateway"
    try:
        with pytest.raises(PermanentError) as refused:
            get_client().list_documents(doc_type="sales_order", business_date=DAY)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert refused.value.code == "http_403"


def test_a_validation_error_in_the_envelope_is_permanent(sandbox):
    with pytest.raises(PermanentError) as invalid:
        get_client().upload_attachment(
            business_type="yonbip-scm-scmsa", business_id="", file_name="a.jpg", fileobj=io.BytesIO(b"x")
        )
    assert invalid.value.code.startswith("yonyou_")


def test_a_large_file_is_streamed_with_bounded_memory(sandbox, tmp_path):
    size = 48 * 1024 * 1024
    path = tmp_path / "big.jpg"
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            handle.write(block)
            digest.update(block)
    client = get_client()
    client.access_token()
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            uploaded = client.upload_attachment(
                business_type="yonbip-scm-stock", business_id="42", file_name="big.jpg", fileobj=handle
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak Python memory {peak / 2**20:.1f} MiB for a 48 MiB upload"
    stored = sandbox.state()["files"][0]
    assert (uploaded.size, stored["size"], stored["sha256"]) == (size, size, digest.hexdigest())


def test_pagination_walks_every_page(sandbox):
    sandbox.faults(records_per_day=1234)
    client = get_client()
    first = client.list_documents(doc_type="sales_order", business_date=DAY, page_size=500)
    assert (first.page_count, first.record_count) == (3, 1234)
    codes = [r["code"] for r in first.records]
    for page_index in range(2, first.page_count + 1):
        codes += [
            r["code"]
            for r in client.list_documents(
                doc_type="sales_order", business_date=DAY, page_index=page_index, page_size=500
            ).records
        ]
    assert len(codes) == len(set(codes)) == 1234


def test_documents_are_deterministic_and_mutations_change_some_of_them(sandbox):
    client = get_client()
    before = client.list_documents(doc_type="sales_order", business_date=DAY).records
    assert client.list_documents(doc_type="sales_order", business_date=DAY).records == before
    sandbox.faults(mutate_rate=0.5)
    after = client.list_documents(doc_type="sales_order", business_date=DAY).records
    changed = [a for a, b in zip(after, before, strict=True) if a != b]
    assert [a["code"] for a in after] == [b["code"] for b in before]
    assert 0 < len(changed) < len(before)
    assert all(a["pubts"] > b["pubts"] for a, b in zip(after, before, strict=True) if a != b)


def test_a_failing_date_answers_500_for_that_day_only(sandbox):
    sandbox.faults(fail_dates=["2025-10-02"])
    client = get_client()
    assert client.list_documents(doc_type="sales_order", business_date=DAY).records
    with pytest.raises(RetryableError):
        client.list_documents(doc_type="sales_order", business_date=date(2025, 10, 2))


def test_attachments_of_a_document_are_listed(sandbox):
    uploaded = upload(get_client(), name="SO1_20251001_ab12.jpg")
    attachments = get_client().list_attachments(business_type="yonbip-scm-scmsa", business_id="1836660026080493581")
    assert [(a.file_id, a.file_name) for a in attachments] == [(uploaded.file_id, "SO1_20251001_ab12.jpg")]
    assert get_client().list_attachments(business_type="yonbip-scm-scmsa", business_id="999") == []


def test_secrets_and_tokens_never_reach_the_logs(sandbox, settings, caplog):
    from config.logging import JsonFormatter

    caplog.set_level(logging.DEBUG)
    client = get_client()
    upload(client)
    sandbox.faults(expire_tokens_now=True)
    upload(client)
    settings.YONYOU_APP_SECRET = "wrong-secret-value"
    from django.core.cache import cache

    cache.clear()
    with pytest.raises(PermanentError):
        upload(client)
    text = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "yonyou call" in text
    assert "access_token" not in text
    assert "yunqiao-sandbox-secret" not in text and "wrong-secret-value" not in text
    assert "signature=" not in text


def test_unknown_fault_keys_are_refused(sandbox):
    response = httpx.post(f"{sandbox.url}/__sandbox__/faults", json={"fail_rat": 1})
    assert response.status_code == 400


def test_sandbox_state_survives_a_restart(tmp_path, settings):
    port = free_port()
    command = [sys.executable, str(REPO_ROOT / "manage.py"), "sandbox", "--port", str(port)]
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    control = SandboxControl(f"http://127.0.0.1:{port}")
    settings.YONYOU_TOKEN_URL, settings.YONYOU_GATEWAY_URL = control.token_url, control.gateway_url

    def start():
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: _answers(control), message="the sandbox to start")
        return process

    process = start()
    try:
        uploaded = upload(YonyouClient())
    finally:
        stop_process(process)
    process = start()
    try:
        state = control.state()
        assert [f["id"] for f in state["files"]] == [uploaded.file_id]
        assert state["tokens_issued"] == 1
        upload(YonyouClient())  # the cached token is still valid after the restart
        assert control.state()["tokens_issued"] == 1
        assert httpx.get(f"{control.url}/__sandbox__/files/{uploaded.file_id}").content == b"\xff\xd8\xff\xe0 photo"
    finally:
        stop_process(process)


def _answers(control: SandboxControl) -> bool:
    try:
        control.state()
    except httpx.HTTPError:
        return False
    return True


def test_state_endpoint_has_the_documented_shape(sandbox):
    upload(get_client())
    state = sandbox.state()
    assert set(state) >= {"files", "max_concurrent_uploads", "requests", "tokens_issued"}
    assert set(state["files"][0]) == {
        "id",
        "business_type",
        "business_id",
        "file_name",
        "size",
        "sha256",
        "received_at",
    }
    assert state["max_concurrent_uploads"] == 1
    json.dumps(state)


# Threads open their own database connections (the token cache), so these tests commit for real.
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_share_one_token_refresh(sandbox):
    from concurrent.futures import ThreadPoolExecutor

    sandbox.faults(latency_ms=[50, 50])  # keeps the token request in flight while others arrive
    client = YonyouClient()
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = set(pool.map(lambda _: client.access_token(), range(8)))
    assert len(tokens) == 1
    assert sandbox.state()["tokens_issued"] == 1


@pytest.mark.django_db(transaction=True)
def test_sandbox_reports_the_highest_number_of_uploads_in_flight(sandbox):
    from concurrent.futures import ThreadPoolExecutor

    client = get_client()
    client.access_token()
    sandbox.faults(latency_ms=[200, 200])
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: upload(client, name=f"p{i}.jpg"), range(4)))
    assert sandbox.state()["max_concurrent_uploads"] == 4
