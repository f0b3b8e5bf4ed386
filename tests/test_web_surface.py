"""The app's attack surface over HTTP: paths from the client, the listening address, the login on
every route, and what an error tells the client.

tests/test_app.py checks the ordinary behaviour (unknown ids and filters, over-long questions, a
signed-in client); tests/test_browser.py and tests/test_browser_injection.py check what a browser
shows. The app runs for real over an index of the bundled declaration and a fixture PDF.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import fixtures_build as fb
import httpx
import pytest
from conftest import DECLARATION_ID, copy_declaration, settings_for
from gradio_client import Client
from gradio_client.exceptions import AppError
from helpers import ROOT, free_port

import app
from ingest import pipeline
from kb.config import Settings
from kb.index import generations

LOGIN = ("alice", "correct horse")
PDF_ID = "testland-plan"
# Ids that name files rather than documents; none may be opened, and none is echoed at length.
HOSTILE_IDS = [
    "../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "sources.toml",
    "../sources/sources.toml",
    f"{DECLARATION_ID}/../../../etc/passwd",
    f"{PDF_ID}/../../outside",
    f"../{PDF_ID}",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "file:///etc/passwd",
    f"{PDF_ID}.pdf",
    "x" * 5000,
    "",
]
# No secret here, but a file the server process can read and the client must never get.
SECRET = "TOP-SECRET-OUTSIDE-THE-SOURCES"


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Settings:
    """An index of the declaration and a PDF, and a PDF beside the sources dir that is not in it."""
    root = tmp_path_factory.mktemp("web")
    sources = root / "sources"
    sources.mkdir()
    copy_declaration(sources)
    shutil.move(fb.build_pdf(root), sources / f"{PDF_ID}.pdf")
    outside = fb.build_pdf(root, "outside.pdf")
    outside.write_bytes(outside.read_bytes() + f"\n% {SECRET}\n".encode())
    settings = settings_for(sources, root / ".kb")
    summary = pipeline.run(settings, progress=False)
    assert summary.exit_code == 0, summary.to_dict()
    return settings


@pytest.fixture(scope="module")
def open_app(index):
    demo, url = app.serve(index.with_(port=free_port()), block=False, quiet=True)
    yield url.rstrip("/")
    demo.close()


@pytest.fixture(scope="module")
def login_app(index):
    demo, url = app.serve(
        index.with_(port=free_port(), auth=f"{LOGIN[0]}:{LOGIN[1]}"), block=False, quiet=True
    )
    yield demo, url.rstrip("/")
    demo.close()


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as written: no client-side normalisation of '..' or '%2F'."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


# --- the document reader and the PDF route open documents by id only ----------------------------


def test_the_document_endpoint_refuses_ids_not_in_the_index(open_app):
    client = Client(open_app, verbose=False)
    assert client.predict(PDF_ID, api_name="/document")["document"]["id"] == PDF_ID  # the route works
    for doc_id in HOSTILE_IDS:
        with pytest.raises(AppError) as refused:
            client.predict(doc_id, api_name="/document")
        message = str(refused.value)
        assert message.startswith("No document with id "), (doc_id[:40], message)
        assert "root:" not in message and SECRET not in message
        assert len(message) < 300, len(message)  # a 5,000-character id is not echoed back


@pytest.mark.parametrize(
    "path",
    [
        "/kb/pdf/..%2F..%2F..%2Fetc%2Fpasswd",
        "/kb/pdf/%2Fetc%2Fpasswd",
        "/kb/pdf/../../etc/passwd",
        "/kb/pdf/..%2Foutside",
        f"/kb/pdf/{PDF_ID}%2F..%2F..%2Foutside",
        f"/kb/pdf/{PDF_ID}.pdf",
        "/kb/pdf/..%2Fsources%2Fsources.toml",
        f"/kb/pdf/{DECLARATION_ID}",  # indexed, but not a PDF: its Markdown file is not served
        "/kb/pdf/%00",
    ],
)
def test_the_pdf_route_serves_indexed_pdfs_by_id_only(open_app, index, path):
    status, body = raw_get(open_app, path)
    assert status == 404, (path, status)
    assert SECRET.encode() not in body and b"root:" not in body and not body.startswith(b"%PDF")


def test_the_pdf_route_serves_an_indexed_pdf_and_not_one_named_by_its_absolute_path(open_app, index):
    status, body = raw_get(open_app, f"/kb/pdf/{PDF_ID}")
    assert status == 200 and body.startswith(b"%PDF") and SECRET.encode() not in body
    outside = index.sources_dir.parent / "outside.pdf"
    status, body = raw_get(open_app, "/kb/pdf/" + quote(str(outside), safe=""))
    assert status == 404 and SECRET.encode() not in body


def test_gradio_file_routes_open_no_file_of_the_machine(open_app, index):
    """Gradio's own file routes serve only files it produced (uploads, exports): not the sources,
    not the index, not system files."""
    for target in (
        "/etc/passwd",
        str(index.sources_dir / f"{PDF_ID}.pdf"),
        str(index.sources_dir.parent / "outside.pdf"),
        str(generations.current(index.index_dir) / "registry.sqlite"),
        str(ROOT / "app.py"),
    ):
        for route in ("/gradio_api/file=", "/gradio_api/file/"):
            status, body = raw_get(open_app, route + quote(target))
            assert status in (403, 404), (route, target, status)
            assert SECRET.encode() not in body and b"root:" not in body and not body.startswith(b"%PDF")


# --- the listening address -----------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if width == 8:
                    found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
                else:
                    found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net")
def test_kb_serve_listens_on_loopback_only_by_default(index):
    assert Settings.from_env({}).host == "127.0.0.1"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("KB_HOST", "GRADIO_SERVER_NAME")}
    env.update(KB_PORT=str(port), KB_INDEX_DIR=str(index.index_dir), KB_SOURCES_DIR=str(index.sources_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not listening_addresses(port):
            assert proc.poll() is None and time.monotonic() < deadline, "kb serve did not start"
            time.sleep(0.3)
        assert listening_addresses(port) == {"127.0.0.1"}
        assert httpx.get(f"http://127.0.0.1:{port}/config", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- with KB_AUTH, every route asks for the login ------------------------------------------------

# Routes Gradio leaves open even with a login, and why that is harmless here. A new route (after a
# Gradio upgrade) fails the test below until someone checks it and lists it here or behind the login.
PUBLIC_ROUTES = {
    "/": "the login page when signed out",
    "/login": "the login form's target",
    "/login/": "the login form's target",
    "/logout": "signs out",
    "/openapi.json": "FastAPI's schema of the routes: names and parameters, no data",
    "/svelte/{path:path}": "the page's JavaScript and CSS",
    "/static/{path:path}": "the page's JavaScript and CSS",
    "/assets/{path:path}": "the page's JavaScript and CSS",
    "/favicon.ico": "icon",
    "/theme.css": "colours and fonts",
    "/gradio_api/theme.css": "colours and fonts",
    "/robots.txt": "robots.txt",
    "/pwa_icon": "icon",
    "/pwa_icon/{size}": "icon",
    "/manifest.json": "the app's title and icon",
    "/monitoring/{key}": "Gradio's monitoring page: needs a random key printed only in the terminal",
    "/gradio_api/user": "the signed-in user's name: null when signed out",
    "/gradio_api/user/": "the signed-in user's name: null when signed out",
    "/gradio_api/token": "the session token: null when signed out",
    "/gradio_api/token/": "the session token: null when signed out",
    "/gradio_api/app_id": "a random number identifying this run of the app",
    "/gradio_api/app_id/": "a random number identifying this run of the app",
    "/gradio_api/login_check": "answers 401 when signed out",
    "/gradio_api/login_check/": "answers 401 when signed out",
    "/gradio_api/runs": "run history: disabled (run_history=False), answers 404",
    "/gradio_api/runs/": "run history: disabled (run_history=False), answers 404",
    "/gradio_api/heartbeat/{session_hash}": "keeps a session's connection open; returns no data",
    "/gradio_api/startup-events": "whether the app has started",
    "/gradio_api/custom_component/{id}/{environment}/{type}/{file_name}": "custom components: none here",
    "/gradio_api/stream/{event_id}": "streams input into a running event: needs its random id",
    "/gradio_api/stream/{event_id}/close": "closes such a stream: needs its random id",
    "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist.m3u8": "media streams: none here",
    "/gradio_api/stream/{session_hash}/{run}/{component_id}/{segment_id}.{ext}": "media streams: none here",
    "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist-file": "media streams: none here",
    "/gradio_api/reset": "stops an event's iterator: needs its random event id",
    "/gradio_api/reset/": "stops an event's iterator: needs its random event id",
    "/gradio_api/cancel": "cancels an event: needs its random event id",
    "/gradio_api/vibe-edit": "Gradio's vibe editor: disabled, answers 403",
    "/gradio_api/vibe-edit/": "Gradio's vibe editor: disabled, answers 403",
    "/gradio_api/undo-vibe-edit": "Gradio's vibe editor: disabled, answers 403",
    "/gradio_api/undo-vibe-edit/": "Gradio's vibe editor: disabled, answers 403",
    "/gradio_api/vibe-code": "Gradio's vibe editor: disabled, answers 403",
    "/gradio_api/vibe-code/": "Gradio's vibe editor: disabled, answers 403",
    "/gradio_api/vibe-starter-queries": "Gradio's vibe editor: disabled, answers 403",
    "/gradio_api/vibe-starter-queries/": "Gradio's vibe editor: disabled, answers 403",
}
# Gradio's dependency, the PDF route's, and the token of the CLI's answer route (app.py, kb/cli/served.py)
AUTH_CHECKS = {"login_check", "signed_in", "cli_token"}


def routes(fastapi_app) -> list:
    """Every route of the app, including those of included routers."""
    found = []
    for route in fastapi_app.routes:
        if hasattr(route, "path"):
            found.append(route)
        else:  # Gradio includes its API router
            found.extend(routes(route.original_router))
    return found


def dependencies(dependant) -> set[str]:
    names = set()
    for sub in dependant.dependencies:
        names.add(getattr(sub.call, "__name__", ""))
        names |= dependencies(sub)
    return names


def test_with_a_login_every_route_is_behind_it_or_known_to_be_harmless(login_app):
    demo, _ = login_app
    unchecked = [
        route.path
        for route in routes(demo.server_app)
        if route.path not in PUBLIC_ROUTES
        and not (hasattr(route, "dependant") and dependencies(route.dependant) & AUTH_CHECKS)
    ]
    assert unchecked == [], f"routes open without a login: {unchecked}"


def test_with_a_login_signed_out_requests_are_refused(login_app, index):
    _, url = login_app
    api = ("ask", "documents", "document", "export_briefing")
    data = {
        "ask": ["Which commitments cover online platforms?", "hybrid", 5, {}],
        "documents": [],
        "document": [DECLARATION_ID],
        "export_briefing": [[f"{DECLARATION_ID}:4:0"], {}, "md", "Briefing"],
    }
    refused = []
    with httpx.Client(base_url=url, timeout=30) as http:
        requests = [("GET", path, {}) for path in ("/config", "/gradio_api/info", "/gradio_api/openapi.json",
                                                    "/gradio_api/queue/status", "/gradio_api/upload_progress",
                                                    "/gradio_api/queue/data?session_hash=abc", "/gradio_api/deep_link",
                                                    "/monitoring", "/monitoring/summary", "/gradio_api/dev/reload",
                                                    f"/kb/pdf/{PDF_ID}", "/gradio_api/file=/etc/passwd",
                                                    "/gradio_api/proxy=http://127.0.0.1/")]  # fmt: skip
        for name in api:
            for route in (
                "/gradio_api/call/",
                "/gradio_api/call/v2/",
                "/gradio_api/run/",
                "/gradio_api/api/",
            ):
                requests.append(("POST", route + name, {"json": {"data": data[name]}}))
            requests.append(("GET", f"/gradio_api/call/{name}/0123456789abcdef", {}))
        requests += [
            ("POST", "/gradio_api/upload", {"files": {"files": ("note.txt", b"Test fixture upload")}}),
            (
                "POST",
                "/gradio_api/queue/join",
                {"json": {"data": [DECLARATION_ID], "fn_index": 0, "session_hash": "abc"}},
            ),  # fmt: skip
            (
                "POST",
                "/gradio_api/component_server",
                {"json": {"data": None, "component_id": 1, "fn_name": "x", "session_hash": "abc"}},
            ),  # fmt: skip
            ("POST", "/gradio_api/process_recording", {"files": {"files": ("a.wav", b"RIFF")}}),
            ("POST", "/kb/api/answer", {"json": {"question": "Which commitments cover online platforms?"}}),
        ]
        for method, path, kwargs in requests:
            response = http.request(method, path, **kwargs)
            if response.status_code != 401:
                refused.append((method, path, response.status_code))
            assert "Leaders" not in response.text and "Testland" not in response.text, path
        assert refused == [], f"answered without a login: {refused}"
        # The same requests work once signed in: the 401s above are the login, not broken requests.
        assert http.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]}).status_code == 200
        assert http.get(f"/kb/pdf/{PDF_ID}").content.startswith(b"%PDF")
        event = http.post("/gradio_api/call/documents", json={"data": []}).json()["event_id"]
        assert "Testland" in http.get(f"/gradio_api/call/documents/{event}").text


def test_with_a_login_public_routes_hold_no_document_data(login_app):
    _, url = login_app
    with httpx.Client(base_url=url, timeout=10) as http:
        for path in ("/", "/openapi.json", "/manifest.json", "/gradio_api/user", "/gradio_api/token",
                     "/gradio_api/app_id", "/gradio_api/startup-events", "/gradio_api/vibe-code",
                     "/gradio_api/runs", "/monitoring/guess"):  # fmt: skip
            text = http.get(path).text
            assert "Testland" not in text and "Leaders" not in text and DECLARATION_ID not in text, path
        assert http.get("/gradio_api/vibe-code").status_code == 403


# --- errors: a message, never a stack trace ------------------------------------------------------

INTERNALS = re.compile(r"Traceback|File \"|\.py\b|site-packages|object at 0x|/work/|/usr/lib", re.IGNORECASE)


def test_malformed_api_calls_get_a_message_without_internals(open_app):
    """Wrong types and counts of inputs, through gradio_client and plain HTTP."""
    client = Client(open_app, verbose=False)
    for args, endpoint in (
        (("Which commitments?", "hybrid", "five", {}), "/ask"),
        (("Which commitments?", "nope", 5, {}), "/ask"),
        (("Which commitments?", "hybrid", 5, ["types"]), "/ask"),
        (("Which commitments?", "hybrid", 5, {"since": "yesterday"}), "/ask"),
        (({"id": 1},), "/document"),
        (("not-a-list", None, "md", "t"), "/export_briefing"),
        (([f"{DECLARATION_ID}:4:0"], ["not", "a", "dict"], "md", "t"), "/export_briefing"),
    ):
        with pytest.raises(AppError) as error:
            client.predict(*args, api_name=endpoint)
        assert not INTERNALS.search(str(error.value)), (endpoint, str(error.value))
    with httpx.Client(base_url=open_app, timeout=30) as http:
        for body in (
            {"data": []},
            {"data": ["q"]},
            {"data": ["q", "hybrid", {"x": 1}, {}]},
            {"data": [None] * 9},
        ):
            response = http.post("/gradio_api/call/ask", json=body)
            text = response.text
            if response.status_code == 200:
                text = http.get(f"/gradio_api/call/ask/{response.json()['event_id']}").text
            assert "error" in text and not INTERNALS.search(text), (body, text[:300])
        for body in ("not json", '{"data": "x"}', "{}"):
            response = http.post(
                "/gradio_api/run/ask", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code >= 400 and not INTERNALS.search(response.text), response.text[:300]


def test_a_damaged_index_gets_a_message_without_internals(index, tmp_path):
    """The Chroma store replaced by garbage: the error reaches the client as one line, no traceback."""
    damaged = tmp_path / ".kb"
    shutil.copytree(index.index_dir, damaged)
    for path in (generations.current(damaged) / "chroma").rglob("*"):
        if path.is_file():
            path.write_bytes(b"Test fixture: not a database" * 100)
    demo, url = app.serve(index.with_(index_dir=damaged, port=free_port()), block=False, quiet=True)
    try:
        client = Client(url, verbose=False)
        with pytest.raises(AppError) as error:
            client.predict("Which commitments cover online platforms?", "hybrid", 5, {}, api_name="/ask")
        message = str(error.value)
        assert "\n" not in message and not INTERNALS.search(message), message
    finally:
        demo.close()
