"""The sandbox's upload endpoint refuses bodies that are not complete, as the real gateway does:
a cut connection must never look like a good upload in any test."""

import socket

import httpx
import pytest

from tests.conftest import wait_until
from yonyou.client import UPLOAD_PATH, get_client

pytestmark = pytest.mark.django_db

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 256  # 64 KiB


def upload_request(sandbox, **kwargs) -> httpx.Request:
    return httpx.Request(
        "POST",
        sandbox.gateway_url + UPLOAD_PATH,
        params={
            "access_token": get_client().access_token(),
            "businessType": "yonbip-scm-scmsa",
            "businessId": "1836660026080493581",
        },
        **kwargs,
    )


def stored_on_disk(sandbox) -> list:
    return sorted(p.name for p in (sandbox.data_dir / "sandbox" / "files").iterdir())


def send_then_cut(sandbox, head: bytes, body_part: bytes) -> None:
    with socket.create_connection(("127.0.0.1", int(sandbox.url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(head + body_part)
    wait_until(
        lambda: sandbox.state()["requests"].get("truncated_bodies") == 1,
        message="the sandbox to see the body end early",
    )


def raw_head(request: httpx.Request, headers: dict) -> bytes:
    target = request.url.raw_path.decode()
    lines = [f"POST {target} HTTP/1.1", f"Host: {request.url.netloc.decode()}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_connection_cut_mid_body_stores_nothing(sandbox):
    request = upload_request(sandbox, files={"files": ("SO1_cut.jpg", PHOTO, "application/octet-stream")})
    body = request.read()
    head = raw_head(request, {"Content-Type": request.headers["Content-Type"], "Content-Length": str(len(body))})

    send_then_cut(sandbox, head, body[: len(body) // 2])

    assert sandbox.state()["files"] == []
    assert stored_on_disk(sandbox) == [], "no partial file is left on the sandbox's disk"


def test_a_chunked_body_cut_before_its_last_chunk_stores_nothing(sandbox):
    request = upload_request(sandbox, files={"files": ("SO1_cut.jpg", PHOTO, "application/octet-stream")})
    body = request.read()
    head = raw_head(request, {"Content-Type": request.headers["Content-Type"], "Transfer-Encoding": "chunked"})
    # The whole multipart body in one chunk, but never the terminating zero-length chunk.
    send_then_cut(sandbox, head, f"{len(body):x}\r\n".encode() + body + b"\r\n")

    assert sandbox.state()["files"] == []
    assert stored_on_disk(sandbox) == []


def test_a_body_without_its_closing_boundary_is_refused(sandbox):
    request = upload_request(sandbox, files={"files": ("SO1_cut.jpg", PHOTO, "application/octet-stream")})
    body = request.read()
    boundary = request.headers["Content-Type"].split("boundary=")[1].encode()
    cut = body[: body.rindex(b"--" + boundary)]

    answer = httpx.post(
        str(request.url), content=cut, headers={"Content-Type": request.headers["Content-Type"]}, timeout=10
    ).json()

    assert answer["code"] != "200"
    assert sandbox.state()["files"] == []
    assert stored_on_disk(sandbox) == []


def test_a_complete_body_is_stored_intact(sandbox):
    import hashlib

    uploaded = get_client().upload_attachment(
        business_type="yonbip-scm-scmsa",
        business_id="1836660026080493581",
        file_name="SO1_照片.jpg",
        fileobj=__import__("io").BytesIO(PHOTO),
    )
    (stored,) = sandbox.state()["files"]
    assert stored["id"] == uploaded.file_id
    assert stored["file_name"] == "SO1_照片.jpg"
    assert stored["size"] == len(PHOTO) and stored["sha256"] == hashlib.sha256(PHOTO).hexdigest()


def test_an_upload_appends_one_line_instead_of_rewriting_the_state_file(sandbox):
    import io

    def send(name: str) -> None:
        get_client().upload_attachment(
            business_type="yonbip-scm-scmsa", business_id="1", file_name=name, fileobj=io.BytesIO(PHOTO)
        )

    send("SO1_a.jpg")  # also issues the token, which is written to the state file
    state_file = sandbox.data_dir / "sandbox" / "state.json"
    journal = sandbox.data_dir / "sandbox" / "files.jsonl"
    before = (state_file.stat().st_mtime_ns, state_file.read_bytes())

    send("SO1_b.jpg")

    assert (state_file.stat().st_mtime_ns, state_file.read_bytes()) == before, "the state file is not rewritten"
    assert len(journal.read_text(encoding="utf-8").splitlines()) == 2
