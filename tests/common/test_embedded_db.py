import signal
import subprocess
import sys
import textwrap

import pymongo

from common.embedded_db import EmbeddedDatabase
from tests.processes import ROOT, port_open, wait_until


def test_data_written_before_a_restart_is_there_after_it(tmp_path):
    server = EmbeddedDatabase(tmp_path / "db")
    server.start()
    pymongo.MongoClient(server.uri).onething.things.insert_one({"name": "birth certificate"})
    server.stop()
    assert not port_open(server.port)

    again = EmbeddedDatabase(tmp_path / "db", port=server.port)
    again.start()
    try:
        found = pymongo.MongoClient(again.uri).onething.things.find_one({}, {"_id": 0})
        assert found == {"name": "birth certificate"}
    finally:
        again.stop()


def test_the_database_dies_with_a_parent_that_is_killed(tmp_path):
    # The parent starts the server then is SIGKILLed: no atexit runs, the kernel must reap it.
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from common.embedded_db import EmbeddedDatabase
        server = EmbeddedDatabase({str(tmp_path / "db")!r})
        server.start()
        print(server.port, server.process.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    port, child_pid = map(int, parent.stdout.readline().split())
    assert port_open(port)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    wait_until(lambda: not port_open(port), timeout=15)
    wait_until(lambda: not _alive(child_pid), timeout=15)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_the_cache_size_given_is_the_servers_and_none_leaves_its_default(tmp_path):
    sized = EmbeddedDatabase(tmp_path / "db", cache_size="256m").command()
    assert sized[sized.index("--cache-size") + 1] == "256M"
    assert "--cache-size" not in EmbeddedDatabase(":memory:").command()
