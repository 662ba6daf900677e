"""The applications this process's officers just read or changed, for their next transition.

An officer opens a task, then claims it, then completes it: each step used to read the
application again before its conditional write. The copy kept here lets that write go first;
its guard on the version read proves the copy is still what is stored (every change of an
application's tasks, status or answers increments its version), and a guard that matches nothing
sends the transition back to a fresh read (services.workflow.transitions.transition). So a copy
here never decides anything on its own: at worst it costs the one write that finds it stale.
Kept as BSON bytes: each use decodes its own copy, so threads never share a document.
"""
import threading
from collections import OrderedDict

import bson

from models.application import Application

# Fields an officer's loaders leave out (the outbox, the timeline, the citizen's first answer):
# a transition pushes to them without reading them.
EXCLUDED = ("outbox", "events", "first_response")
SIZE = 256  # applications; a few MB at most

_lock = threading.Lock()
_by_application: OrderedDict[str, bytes] = OrderedDict()
_application_of: dict[str, str] = {}  # task id → application id


def keep(application: Application) -> None:
    """Remember the application as read or as written, without the fields officers' loaders
    leave out."""
    son = application.to_mongo().to_dict()
    for name in EXCLUDED:
        son.pop(name, None)
    data = bson.encode(son)
    key = str(application.pk)
    with _lock:
        _by_application[key] = data
        _by_application.move_to_end(key)
        for task in son.get("tasks") or []:
            _application_of[str(task["id"])] = key
        while len(_by_application) > SIZE:
            dropped, old = _by_application.popitem(last=False)
            for task in bson.decode(old).get("tasks") or []:
                if _application_of.get(str(task["id"])) == dropped:
                    del _application_of[str(task["id"])]


def holding(task_id: str) -> Application | None:
    """A copy of the last application seen here holding this task, if any (maybe stale)."""
    with _lock:
        key = _application_of.get(str(task_id))
        data = _by_application.get(key) if key else None
    if data is None:
        return None
    codec = Application._get_collection().codec_options
    return Application._from_son(bson.decode(data, codec_options=codec))


def forget() -> None:
    """Drop every copy (tests: as if another process had served the officer)."""
    with _lock:
        _by_application.clear()
        _application_of.clear()
