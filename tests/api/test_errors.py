"""The one error shape, request ids and languages, driven through real routes."""

SHAPE = {"code", "status", "error", "message", "errors"}


def test_unknown_route_is_404_in_the_one_shape(client):
    body = client.get("/api/v1/no-such-thing", expect=404).get_json()
    assert set(body) == SHAPE
    assert body["error"] == "not_found" and body["status"] == "Not Found"


def test_wrong_method_is_405_and_says_what_is_allowed(client):
    response = client.post("/healthz", expect=405)
    assert set(response.get_json()) == SHAPE
    assert "GET" in response.headers["Allow"]


def test_messages_follow_accept_language(client):
    zh = client.get("/nope", headers={"Accept-Language": "zh-CN,zh;q=0.9"}, expect=404)
    en = client.get("/nope", headers={"Accept-Language": "en-GB,en;q=0.8"}, expect=404)
    assert zh.get_json()["message"] == "未找到。"
    assert en.get_json()["message"] == "Not found."
    assert zh.headers["Content-Language"] == "zh-CN"


def test_a_request_id_is_echoed_or_created(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces!"})
    assert made.headers["X-Request-ID"] not in ("", "bad id with spaces!")


def test_each_answer_counts_the_database_commands_it_sent(client):
    client.get("/readyz", expect=200)  # the first reads the loaded holiday schedules, then cached
    assert client.get("/readyz", expect=200).headers["X-DB-Commands"] == "0"  # ping is the driver's
    assert client.get("/healthz", expect=200).headers["X-DB-Commands"] == "0"
