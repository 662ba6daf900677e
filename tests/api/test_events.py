"""GET /me/events: the citizen's new notifications as server-sent events, live and resumable."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from common.embedded_db import free_port
from manage import gunicorn_argv
from notifications import relay
from services.identity import revocation
from services.identity.tokens import issue_access_token
from tests.helpers import make_citizen
from tests.notifications.support import application_with, completed
from tests.processes import ROOT, port_open, wait_until

EVENTS = "/api/v1/me/events"


def parse(stream_text: str) -> list[dict]:
    """Server-sent events as dicts: {"id", "event", "data"} for events, {"comment"} otherwise."""
    events = []
    for block in stream_text.split("\n\n"):
        if not block.strip():
            continue
        event: dict = {}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                event.setdefault("comments", []).append(value)
            elif field == "data":
                event["data"] = json.loads(value)
            else:
                event[field] = value
        events.append(event)
    return events


def notifications_in(events):
    return [e for e in events if e.get("event") == "notification"]


def read_stream(client, **headers) -> list[dict]:
    response = client.get(EVENTS, headers=headers, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    return parse("".join(chunk.decode() for chunk in response.response))


@pytest.fixture
def short_streams(app, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 1.0)
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 0.05)
    monkeypatch.setitem(app.config, "SSE_HEARTBEAT_SECONDS", 0.3)


def stored(citizen, count=1):
    items = [completed(citizen, matter=f"m{n}") for n in range(count)]
    application_with(citizen, items)
    relay.relay_pending()
    return [i["id"] for i in items]


def test_a_notification_stored_while_listening_arrives_live(app, as_citizen, citizen,
                                                            short_streams):
    earlier = stored(citizen)
    response = as_citizen.get(EVENTS, buffered=False)  # connected: what is older is not sent
    chunks = iter(response.response)
    first = next(chunks).decode()
    stored(citizen)

    events = parse(first + "".join(chunk.decode() for chunk in chunks))

    [event] = notifications_in(events)  # only what is new since connecting
    assert event["id"] == "2" and event["data"]["seq"] == 2
    assert event["data"]["id"] not in earlier
    assert event["data"]["title"] and event["data"]["type"] == "task_completed"


def test_reconnecting_with_last_event_id_sends_what_was_missed(as_citizen, citizen,
                                                               short_streams):
    ids = stored(citizen, 3)

    events = notifications_in(read_stream(as_citizen, **{"Last-Event-ID": "1"}))

    assert [e["data"]["id"] for e in events] == ids[1:]
    assert [e["id"] for e in events] == ["2", "3"]


def test_the_stream_sends_heartbeats_and_ends_so_clients_reconnect(as_citizen, short_streams):
    started = time.monotonic()
    events = read_stream(as_citizen)

    comments = [c for e in events for c in e.get("comments", [])]
    assert events[0]["retry"] == "2000"
    assert "heartbeat" in comments
    assert time.monotonic() - started < 30  # it ended by itself (bound: SSE_MAX_SECONDS)


def test_each_citizen_hears_only_their_own(client, citizen, short_streams):
    other = make_citizen()
    stored(other)

    events = notifications_in(read_stream(client.as_(citizen), **{"Last-Event-ID": "0"}))

    assert events == []


def test_a_bad_last_event_id_is_refused(as_citizen, client):
    as_citizen.get(EVENTS, headers={"Last-Event-ID": "abc"}, expect=422)
    client.get(EVENTS, expect=401)


@pytest.mark.slow
def test_a_notification_stored_by_another_process_reaches_the_stream(app, citizen, monkeypatch):
    """No in-process queue: the stream reads the database, whichever process wrote."""
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 20.0)
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 0.1)
    application_with(citizen, [completed(citizen)])  # waits in the outbox for another process
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token, _ = issue_access_token(citizen)
    url = f"http://127.0.0.1:{server.server_port}{EVENTS}"
    try:
        with requests.get(url, headers={"Authorization": f"Bearer {token}"}, stream=True,
                          timeout=30) as response:
            assert response.status_code == 200
            subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi:app",
                            "notifications", "relay"], cwd=ROOT, check=True, timeout=60,
                           env={**os.environ, "APP_ENV": "test", "LOG_LEVEL": "WARNING"},
                           capture_output=True)
            text = ""
            for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
                text += chunk
                if notifications_in(parse(text)):
                    break
    finally:
        server.shutdown()

    [event] = notifications_in(parse(text))
    assert event["data"]["seq"] == 1


def test_the_stream_says_at_once_which_id_it_starts_after(as_citizen, citizen, short_streams):
    stored(citizen, 2)

    first = read_stream(as_citizen)[0]

    assert first["id"] == "2"  # resuming from it loses nothing and repeats nothing
    assert notifications_in(read_stream(as_citizen, **{"Last-Event-ID": first["id"]})) == []


def test_signing_out_everywhere_ends_the_open_stream(app, as_citizen, citizen, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 60.0)
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 0.05)
    response = as_citizen.get(EVENTS, buffered=False)
    chunks = iter(response.response)
    next(chunks)  # connected
    started = time.monotonic()

    revocation.revoke_subject(str(citizen.id))
    rest = "".join(chunk.decode() for chunk in chunks)

    assert time.monotonic() - started < 30  # ended by the revocation, not by SSE_MAX_SECONDS
    assert notifications_in(parse(rest)) == []
    as_citizen.get(EVENTS, expect=401)  # and it cannot be opened again


@pytest.mark.slow
def test_make_serve_holds_a_hundred_streams_and_still_answers(app, tmp_path):
    """64 open streams took every thread of make serve's four workers (16 each); its gevent
    workers hold them as greenlets. One worker here, a hundred streams."""
    citizens = [make_citizen() for _ in range(100)]
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        gunicorn_argv(f"127.0.0.1:{port}", workers=1), cwd=ROOT, stdout=log,
        stderr=subprocess.STDOUT, env={**os.environ, "APP_ENV": "test", "LOG_LEVEL": "WARNING",
                                       "MONGODB_URI": app.config["MONGODB_URI"],
                                       "SSE_MAX_SECONDS": "60", "SSE_POLL_SECONDS": "0.1"})
    sockets = []
    try:
        wait_until(lambda: port_open(port), timeout=60)
        for citizen in citizens:
            token, _ = issue_access_token(citizen)
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(f"GET {EVENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         f"Authorization: Bearer {token}\r\n\r\n".encode())
            sockets.append(sock)
        for sock in sockets:
            assert b"200 OK" in sock.recv(4096).split(b"\r\n", 1)[0]

        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        [notified] = stored(citizens[-1])
        text = b""
        while notified.encode() not in text:
            text += sockets[-1].recv(65536)
    finally:
        for sock in sockets:
            sock.close()
        server.terminate()
        server.wait(30)
