"""The launcher's supervision: prefixed output, restarts with backoff, orderly stop, no orphan."""
import io
import signal
import subprocess
import sys
import textwrap
import threading
import time

from common.supervisor import Program, Supervisor
from tests.processes import ROOT, wait_until


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def supervisor(**options) -> tuple[Supervisor, io.BytesIO]:
    out = io.BytesIO()
    return Supervisor(out=out, **options), out


def running_in_background(sup: Supervisor) -> threading.Thread:
    # The tests' children need no parent-death signal tied to this thread: they are stopped.
    thread = threading.Thread(target=sup.run, kwargs={"poll": 0.02}, daemon=True)
    thread.start()
    return thread


def test_each_line_of_a_child_is_prefixed_with_its_name():
    sup, out = supervisor()
    code = sup.run_once(Program("greeter", python("""
        import sys
        print("one", flush=True)
        print("two", file=sys.stderr, flush=True)
    """)))

    assert code == 0
    lines = out.getvalue().decode().splitlines()
    assert any(line.endswith("greeter         | one") for line in lines)
    assert any(line.endswith("greeter         | two") for line in lines)


def test_a_child_that_dies_is_restarted_with_a_doubling_backoff_and_each_restart_is_logged():
    sup, out = supervisor(backoff_first=0.2, backoff_max=0.8)
    child = sup.start(Program("crasher", python("import sys; sys.exit(3)")))
    thread = running_in_background(sup)
    try:
        wait_until(lambda: child.restarts >= 4, timeout=30)
    finally:
        sup.stop()
        thread.join(5)

    said = out.getvalue().decode()
    assert "crasher (pid" in said and "exit code 3" in said
    delays = [float(part.split(" s (restart")[0]) for part in
              said.split("restarting in ")[1:]]
    assert delays[:4] == [0.2, 0.4, 0.8, 0.8]
    assert "crasher restarted (pid" in said


def test_stopping_terminates_every_child_and_kills_one_that_ignores_sigterm():
    sup, out = supervisor(grace=1.0, grace_last=1.0)
    stubborn = sup.start(Program("stubborn", python("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(600)
    """)))
    polite = sup.start(Program("polite", python("import time; time.sleep(600)"),
                               stop_last=True))
    wait_until(lambda: b"ready" in out.getvalue(), timeout=30)

    took = sup.stop()

    assert not stubborn.running and not polite.running
    assert stubborn.process.returncode == -signal.SIGKILL
    assert polite.process.returncode == -signal.SIGTERM
    assert 1.0 <= took < 4.0
    assert "stubborn (pid" in out.getvalue().decode()
    assert "did not stop in time: killed" in out.getvalue().decode()


def test_children_die_with_a_supervisor_that_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from common.supervisor import Program, Supervisor
        sup = Supervisor()
        child = sup.start(Program("sleeper", [sys.executable, "-c",
                                              "import time; time.sleep(600)"]))
        print("CHILD", child.pid, flush=True)
        sup.run()
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = ""
        while not line.startswith("CHILD"):
            line = parent.stdout.readline()
            assert line, "the supervisor exited before starting its child"
        child_pid = int(line.split()[1])
        assert alive(child_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        started = time.monotonic()
        wait_until(lambda: not alive(child_pid), timeout=15)
        assert time.monotonic() - started < 5
    finally:
        if parent.poll() is None:
            parent.kill()
