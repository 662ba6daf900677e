"""The real firebase-admin SDK against the FCM stand-in: what goes out and what answers mean."""
import json

import pytest
from firebase_admin import messaging

from notifications import fcm as push
from notifications.fcm import PushMessage


def message(token="device-1", body="Public Security Bureau completed “Newborn household "
            "registration”; issued: Baby's citizen ID number.", **kw) -> PushMessage:
    fields = {"token": token, "notification_id": "n-1", "type": "task_completed",
              "application_id": "a-1", "title": "Public Security Bureau finished", "body": body}
    return PushMessage(**{**fields, **kw})


def test_a_push_carries_only_ids_and_the_localized_texts(fcm):
    [result] = fcm_module_send([message()])

    assert result.outcome == "sent" and result.message_id.startswith("projects/")
    [received] = fcm.messages
    assert received["token"] == "device-1"
    assert received["data"] == {"notification_id": "n-1", "type": "task_completed",
                                "application_id": "a-1"}
    assert received["notification"] == {"title": "Public Security Bureau finished",
                                        "body": message().body}
    assert received["project"] == "onething-standin"
    # The SDK signed in through the service account's token endpoint with its own key.
    assert fcm.token_requests >= 1


def test_a_long_text_is_shortened_to_stay_within_fcms_size_limit(fcm):
    [result] = fcm_module_send([message(body="户口登记" * 2000)])

    assert result.outcome == "sent"
    [received] = fcm.messages
    assert received["payload_bytes"] <= 4096
    assert received["notification"]["body"].endswith("…")


def test_fcm_reporting_a_token_unregistered_says_so(fcm):
    fcm.unregister("gone")

    results = fcm_module_send([message("gone"), message("alive")])

    assert [r.outcome for r in results] == ["unregistered", "sent"]


def test_quota_exhausted_is_retried_after_what_fcm_asks(fcm):
    fcm.quota(retry_after=7)

    [result] = fcm_module_send([message()])

    assert (result.outcome, result.quota, result.retry_after) == ("retry", True, 7.0)


def test_fcm_unavailable_is_retried_later_not_by_the_sdk_in_the_meantime(fcm):
    fcm.unavailable(count=1)

    [result] = fcm_module_send([message()])

    assert result.outcome == "retry" and result.error == "UnavailableError"
    assert fcm.stats()["answered"] == {"503": 1}  # one request: our worker owns the backoff
    assert fcm_module_send([message()])[0].outcome == "sent"


def test_messages_go_in_batches_of_at_most_500(fcm, monkeypatch):
    sizes = []
    real_send_each = messaging.send_each

    def recording(messages, *args, **kwargs):
        sizes.append(len(messages))
        return real_send_each(messages, *args, **kwargs)

    monkeypatch.setattr(messaging, "send_each", recording)
    monkeypatch.setattr(fcm_gateway(), "batch_size", 2)  # 500 threads would be a lot for a test

    results = fcm_module_send([message(f"device-{n}") for n in range(5)])

    assert sizes == [2, 2, 1] and all(r.outcome == "sent" for r in results)
    assert fcm_gateway().batch_size == 2
    with pytest.raises(ValueError):
        real_send_each([messaging.Message(topic="t")] * 501, app=fcm_gateway().app)


def test_without_credentials_pushes_are_only_logged(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "FCM_CREDENTIALS", "")
    push.close_gateways()

    [result] = push.push_gateway().send([message("secret-device-token-123456")])

    assert result.outcome == "sent"
    assert "secret-device-token-123456" not in caplog.text


def test_the_service_account_can_be_given_inline(app, fcm, monkeypatch):
    inline = json.dumps(fcm.service_account())
    monkeypatch.setitem(app.config, "FCM_CREDENTIALS", inline)

    assert fcm_module_send([message()])[0].outcome == "sent"


def fcm_gateway():
    return push.push_gateway()


def fcm_module_send(messages):
    return push.push_gateway().send(messages)
