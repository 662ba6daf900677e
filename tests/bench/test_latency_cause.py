"""The bench's account of a missed push-latency target names how the worker was woken."""
from bench.figures import NO_CHANGE_STREAMS, latency_cause

MISSED = {"p99_ms": 340.0, "met": False, "missing": 0, "push_statuses": {"delivered": 10},
          "commit_to_relay_ms": {"p50": 80.0, "p99": 250.0},
          "relay_to_fcm_ms": {"p50": 45.0, "p99": 140.0},
          "worker_rounds": {"busy_rounds": 10, "p50_ms": 130.0, "max_ms": 900.0,
                            "items_p50": 6, "items_max": 14}}


def test_a_worker_with_change_streams_on_is_said_to_be_woken_not_to_sleep(tmp_path):
    log = tmp_path / "worker.log"
    log.write_text('{"message": "notification worker started"}\n')

    cause = latency_cause(MISSED, {"APP_ENV": "production"}, log)

    assert "woken by a change stream" in cause
    assert "NOTIFICATION_POLL_SECONDS" not in cause


def test_a_worker_refused_a_change_stream_is_said_to_poll(tmp_path):
    log = tmp_path / "worker.log"
    log.write_text(f'{{"message": "{NO_CHANGE_STREAMS} (40573): the worker polls instead"}}\n')

    cause = latency_cause(MISSED, {"APP_ENV": "production"}, log)

    assert "polls every NOTIFICATION_POLL_SECONDS=0.1 s" in cause
    assert "refused" in cause


def test_a_worker_with_change_streams_off_is_said_to_poll_at_its_setting(tmp_path):
    env = {"APP_ENV": "production", "NOTIFICATION_WAKE_ON_CHANGES": "false",
           "NOTIFICATION_POLL_SECONDS": "0.5"}

    cause = latency_cause(MISSED, env, tmp_path / "absent.log")

    assert "polls every NOTIFICATION_POLL_SECONDS=0.5 s" in cause
