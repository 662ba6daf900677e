"""The database server's CPU while each command of this process ran, by command and collection.

Meant for one sequential client (a script driving the app in its own process against a
throwaway server): what the server did while a command was out was that command's work."""
import time
from collections import defaultdict

from pymongo import monitoring

from bench import processes


class ServerCpuByCommand(monitoring.CommandListener):
    """Register it (pymongo.monitoring.register) before any client is made; set `pid` to the
    server's and `counting` while measuring. `spent[(command, collection)]` is [ns, commands]."""

    def __init__(self):
        self.pid, self.counting, self.own_seconds = None, False, 0.0
        self.running: dict[int, tuple] = {}
        self.spent: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0])

    def server_ns(self) -> int:
        """The server's run time so far; the reading's own CPU (in this process) is kept apart
        from the API's."""
        began = time.process_time()
        total = processes.server_ns(self.pid)
        self.own_seconds += time.process_time() - began
        return total

    def started(self, event):
        target = event.command.get(event.command_name)
        # By request: a background thread's command (the revocation refresher's) may interleave.
        self.running[event.request_id] = (
            (event.command_name, target if isinstance(target, str) else ""),
            self.server_ns() if self.counting else 0)

    def succeeded(self, event):
        command, began = self.running.pop(event.request_id, (None, 0))
        if self.counting and command is not None and began:
            entry = self.spent[command]
            entry[0] += self.server_ns() - began
            entry[1] += 1

    failed = succeeded
