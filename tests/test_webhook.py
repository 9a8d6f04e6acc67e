"""The webhook service: signatures, bad input, durable recording, dedupe, resume, retries."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest

from bot.service import settings as settings_mod
from bot.service.app import create_app
from bot.core.github_data import TransientError
from bot.service.webhook import signature_ok
from conftest import deliver, sign, without_sha
from helpers import GOOD
from test_handlers import pr_event


def service(app):
    return app.extensions["challenge_bot"].service


def test_github_signature_test_vector():
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_ok("It's a Secret to Everybody", b"Hello, World!", header)
    assert not signature_ok("It's a Secret to Everybody", b"Hello, World?", header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha256=nothex", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", sign(b"other body"), sign(b"{}", "wrong secret"), "sha256=é"],
)
def test_missing_wrong_and_malformed_signatures_are_401(client, header):
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d", "Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    response = client.post("/webhook", data=b"{}", headers=headers)
    assert (response.status_code, response.json) == (401, {"error": "missing or invalid X-Hub-Signature-256"})


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b'{"action": "opened", "pull_req', "application/json", 400, "body is not JSON"),
        (b"payload=%7B%7D", "application/x-www-form-urlencoded", 415, "set the webhook content type to application/json"),
        (b"\xff\xfe not json", "application/json", 400, "body is not JSON"),
        (b"[1, 2]", "application/json", 400, "body is not a JSON object"),
        (b"", "application/json", 400, "body is not JSON"),
    ],
)
def test_bad_bodies(client, body, content_type, status, error):
    response = deliver(client, "pull_request", body=body, content_type=content_type)
    assert (response.status_code, response.json) == (status, {"error": error})


def test_oversized_body_is_413(client):
    body = b"{" + b" " * (25 * 1024 * 1024) + b"}"
    response = deliver(client, "pull_request", body=body)
    assert (response.status_code, response.json) == (413, {"error": "payload too large"})


def test_missing_headers_are_400(client):
    body = b"{}"
    response = client.post("/webhook", data=body, headers={"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"})
    assert (response.status_code, response.json) == (400, {"error": "X-GitHub-Event and X-GitHub-Delivery headers are required"})


def test_ping_unknown_events_and_unhandled_actions(client, app):
    assert (deliver(client, "ping", {"zen": "hi"}).status_code, deliver(client, "ping", {"zen": "hi"}).json) == (200, {"status": "pong"})
    assert deliver(client, "star", {"action": "created"}, delivery="d-2").json == {"status": "ignored"}
    assert deliver(client, "pull_request", {"action": "labeled", "pull_request": {}}, delivery="d-3").json == {"status": "ignored"}
    assert app.extensions["challenge_bot"].store.counts() == {}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"action": "opened"}, "missing field repository.full_name"),
        ({"action": "opened", "repository": {"full_name": "o/r"}, "pull_request": {"number": "7"}}, "field pull_request.number has the wrong type (str)"),
        ({"action": "opened", "repository": {"full_name": 42}, "pull_request": {"number": 7}}, "field repository.full_name has the wrong type (int)"),
        ({"action": "opened", "repository": [], "pull_request": {"number": 7}}, "missing field repository.full_name"),
    ],
)
def test_payloads_missing_fields_are_dropped_not_crashed(client, app, payload, reason):
    response = deliver(client, "pull_request", payload)
    assert (response.status_code, response.json) == (202, {"status": "dropped", "reason": reason})
    assert app.extensions["challenge_bot"].store.counts() == {}


def test_fields_missing_deeper_are_dropped_by_the_worker(client, app):
    payload = {"action": "opened", "repository": {"full_name": "octo/kb"}, "installation": {"id": 1}, "pull_request": {"number": 7, "head": {}}}
    assert deliver(client, "pull_request", payload).json == {"status": "queued"}
    assert service(app).drain() == 1
    row = app.extensions["challenge_bot"].store.get("d-1")
    assert (row["status"], row["last_error"]) == ("dropped", "missing field pull_request.head.sha")


def test_the_same_delivery_ten_times_is_processed_once(client, app, fake_gateway):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    payload = pr_event(fake_gateway, number)
    answers = [deliver(client, "pull_request", payload, delivery="same").json["status"] for _ in range(10)]
    assert answers == ["queued"] + ["duplicate"] * 9
    assert service(app).drain() == 1
    assert len(fake_gateway.runs) == 1 and len(fake_gateway.comments[number]) == 1
    assert deliver(client, "pull_request", payload, delivery="same").json == {"status": "duplicate"}
    assert service(app).drain() == 0


def test_unfinished_deliveries_are_resumed_after_a_crash(make_app, fake_gateway):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    first = make_app()
    assert deliver(first.test_client(), "pull_request", pr_event(fake_gateway, number)).status_code == 202
    # The process claimed the delivery, then died before finishing it.
    store = first.extensions["challenge_bot"].store
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE deliveries SET status='working', owner=?, lease_until=1e12", (store.owner.rsplit(":", 1)[0] + ":deadbeef",))
    assert service(first).drain() == 0  # leased by the dead run: not claimed twice meanwhile
    restarted = make_app(workers=1)  # the same store
    assert service(restarted).wait_idle(10)
    assert restarted.extensions["challenge_bot"].store.get("d-1")["status"] == "done"
    assert len(fake_gateway.runs) == 1


def test_transient_failures_are_retried_and_the_last_one_is_shown(client, app, fake_gateway, snapshot):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    bot = app.extensions["challenge_bot"]
    bot.service.backoff = 0
    calls = []

    def flaky(n):
        calls.append(n)
        raise TransientError("GitHub answered 502", 502)

    fake_gateway.changed_files = flaky
    deliver(client, "pull_request", pr_event(fake_gateway, number))
    assert bot.service.drain() == 5  # max_attempts
    row = bot.store.get("d-1")
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 5, "TransientError: GitHub answered 502")
    (check,) = fake_gateway.runs
    assert (check.conclusion, check.title) == ("failure", "The review could not be completed")
    assert without_sha(check.summary, fake_gateway.pull_request(number).head_sha) == snapshot(name="check-run-summary")


def test_a_bug_in_a_handler_fails_the_delivery_and_keeps_the_worker(client, app, fake_gateway):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    fake_gateway.changed_files = lambda n: 1 / 0
    deliver(client, "pull_request", pr_event(fake_gateway, number))
    deliver(client, "star", {"action": "created"}, delivery="d-2")
    assert service(app).drain() == 1
    assert app.extensions["challenge_bot"].store.get("d-1")["last_error"] == "ZeroDivisionError: division by zero"
    assert fake_gateway.runs[0].title == "The review could not be completed"


def test_healthz(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok", "deliveries": {}})


def test_settings_come_from_the_environment_at_creation(tmp_path):
    with pytest.raises(settings_mod.SettingsError, match="GITHUB_WEBHOOK_SECRET is not set"):
        create_app(environ={})
    with pytest.raises(settings_mod.SettingsError, match="GITHUB_APP_ID and GITHUB_PRIVATE_KEY"):
        create_app(environ={"GITHUB_WEBHOOK_SECRET": "x", "CHALLENGE_BOT_DB": str(tmp_path / "d")})
    with pytest.raises(settings_mod.SettingsError, match="CHALLENGE_BOT_WORKERS must be a number, got 'many'"):
        settings_mod.load({"GITHUB_WEBHOOK_SECRET": "x", "CHALLENGE_BOT_WORKERS": "many"})
    loaded = settings_mod.load({"GITHUB_WEBHOOK_SECRET": "x", "GITHUB_API_URL": "https://ghe.example/api/v3/", "CHALLENGE_BOT_WORKERS": "2"})
    assert (loaded.api_url, loaded.workers, loaded.db_path) == ("https://ghe.example/api/v3", 2, "challenge-bot.sqlite3")


def test_logs_are_json_lines_with_the_delivery(client, app, fake_gateway, capsys):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    deliver(client, "pull_request", pr_event(fake_gateway, number), delivery="log-me")
    service(app).drain()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    done = [line for line in lines if line.get("outcome") == "reviewed"]
    assert len(done) == 1
    assert {k: done[0][k] for k in ("delivery", "event", "action", "repository", "pr", "msg")} == {
        "delivery": "log-me", "event": "pull_request", "action": "opened", "repository": "octo/kb", "pr": str(number), "msg": "done"
    }


def test_a_worker_thread_survives_a_store_outage(app, client, fake_gateway):
    import time as time_mod

    from bot.service import workers as service_mod

    svc = service(app)
    real_claim, failures = svc.store.claim, []

    def flaky_claim():
        if not failures:
            failures.append(1)
            raise OSError("disk I/O error")
        return real_claim()

    svc.store.claim = flaky_claim
    pause = service_mod.ERROR_PAUSE
    service_mod.ERROR_PAUSE = 0.05
    try:
        svc.workers = 1
        svc.start()
        number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
        assert deliver(client, "pull_request", pr_event(fake_gateway, number)).json == {"status": "queued"}
        deadline = time_mod.monotonic() + 10
        while svc.store.counts().get("done") != 1 and time_mod.monotonic() < deadline:
            time_mod.sleep(0.05)
    finally:
        svc.stop()
        service_mod.ERROR_PAUSE = pause
    assert failures == [1] and svc.store.counts() == {"done": 1}


def test_other_methods_on_the_webhook_are_405_with_allow(client):
    response = client.get("/webhook")
    assert (response.status_code, response.json, response.headers["Allow"]) == (
        405, {"error": "The method is not allowed for the requested URL."}, "POST")


def test_a_bug_while_recording_is_a_500_in_json_and_logged(client, app, capsys):
    class Broken:
        def record(self, *args, **kwargs):
            raise KeyError("a bug")

    app.extensions["challenge_bot"].store = Broken()
    response = deliver(client, "pull_request", {"action": "opened", "number": 1, "pull_request": {"number": 1},
                                                "repository": {"full_name": "o/r"}, "installation": {"id": 1}})
    assert (response.status_code, response.json) == (500, {"error": "internal error"})
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [(e["msg"], e["status"], "KeyError: 'a bug'" in e["traceback"]) for e in logged] == [
        ("internal error while receiving a delivery", 500, True)]


def _raw_post(app, body: bytes, length: str | None, signed: bytes | None = None) -> tuple[str, dict]:
    """POST a ping straight through WSGI, as gunicorn hands it over: with or without a Content-Length
    (a chunked body: no length, the input ends where the body does); signed as ``signed`` if given."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhook", "SERVER_NAME": "bot", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "CONTENT_TYPE": "application/json",
               "HTTP_X_GITHUB_EVENT": "ping", "HTTP_X_GITHUB_DELIVERY": "raw-1", "HTTP_X_HUB_SIGNATURE_256": sign(signed or body)}
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    seen = []
    answer = b"".join(app(environ, lambda status, headers: seen.append(status)))
    return seen[0], json.loads(answer)


def test_a_chunked_body_is_read_whole_and_refused_past_25_mib(app):
    assert _raw_post(app, b'{"zen": "hi"}', None) == ("200 OK", {"status": "pong"})
    too_big = b'{"zen": "' + b"x" * (25 * 1024 * 1024) + b'"}'
    assert _raw_post(app, too_big, None) == ("413 Request Entity Too Large", {"error": "payload too large"})


def test_a_body_shorter_than_its_content_length_fails_the_signature(app):
    whole = b'{"zen": "hi", "hook_id": 1}'
    cut = whole[:10]  # the connection broke: fewer bytes than announced
    assert _raw_post(app, cut, str(len(whole)), signed=whole) == ("401 Unauthorized", {"error": "missing or invalid X-Hub-Signature-256"})
    assert _raw_post(app, whole, str(len(whole))) == ("200 OK", {"status": "pong"})


def test_a_bug_behind_another_page_is_a_500_in_json_and_logged(client, app, capsys):
    class Broken:
        location = "sqlite:broken"

        def counts(self):
            raise KeyError("a bug")

    app.extensions["challenge_bot"].store = Broken()
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (500, {"error": "internal error"})
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [(e["msg"], e["status"], "KeyError: 'a bug'" in e["traceback"]) for e in logged] == [("internal error", 500, True)]
    assert (client.get("/nowhere").status_code, client.get("/nowhere").json) == (
        404, {"error": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."})
