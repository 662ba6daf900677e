"""Where a running `make run` keeps its database: a small JSON file beside the database's folder
(var/run.json for var/db), so a command run by hand beside it uses that database."""
import contextlib
import json
import os
from pathlib import Path


def path_for(embedded_db_path: str | Path) -> Path:
    """The run file of the launcher whose embedded database lives in this folder."""
    return Path(embedded_db_path).resolve().parent / "run.json"


def write(path: Path, state: dict) -> None:
    """Replace the run file whole (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n")
    partial.replace(path)


def remove(path: Path, pid: int) -> None:
    """Remove the run file if it is still this launcher's."""
    state = read(path)
    if state is not None and state.get("pid") == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def read(path: Path) -> dict | None:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def running(embedded_db_path: str | Path) -> dict | None:
    """The state of the launcher running on this database folder, if it is still alive (a file
    left by a launcher that was killed names a dead process and is ignored)."""
    state = read(path_for(embedded_db_path))
    if state is None or not state.get("mongodb_uri") or not _alive(state.get("pid")):
        return None
    return state
