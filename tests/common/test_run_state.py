"""var/run.json: how a command run by hand finds the database of the `make run` beside it."""
import os
import subprocess
import sys

from common import run_state


def test_the_run_file_of_a_live_launcher_is_found_beside_its_database_folder(tmp_path):
    path = run_state.path_for(tmp_path / "db")
    assert path == tmp_path / "run.json"
    run_state.write(path, {"pid": os.getpid(), "mongodb_uri": "mongodb://127.0.0.1:1/"})

    assert run_state.running(tmp_path / "db")["mongodb_uri"] == "mongodb://127.0.0.1:1/"


def test_a_run_file_left_by_a_launcher_that_died_is_ignored(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    path = run_state.path_for(tmp_path / "db")
    run_state.write(path, {"pid": int(gone.stdout), "mongodb_uri": "mongodb://127.0.0.1:1/"})

    assert run_state.running(tmp_path / "db") is None
    path.write_text("{half a file")
    assert run_state.running(tmp_path / "db") is None


def test_a_launcher_removes_only_its_own_run_file(tmp_path):
    path = run_state.path_for(tmp_path / "db")
    run_state.write(path, {"pid": os.getpid(), "mongodb_uri": "mongodb://127.0.0.1:1/"})

    run_state.remove(path, os.getpid() + 1)
    assert path.exists()
    run_state.remove(path, os.getpid())
    assert not path.exists()
