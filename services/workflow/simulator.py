"""A development simulator: every department's queue worked as its officers would, with delays.

It claims pending tasks through the workflow verbs (so a real officer who claims first simply
wins), waits a realistic handling time scaled by `speed`, and lets the matter's adapter complete
or reject the task. Tasks it had claimed when it stopped are picked up again when it restarts.
"""
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from models.application import OPEN_APPLICATION_STATUSES, Application, TaskStatus
from models.user import User
from services.errors import DomainError
from services.identity.tokens import Principal
from services.workflow import adapters as department_adapters
from services.workflow import handling

log = logging.getLogger(__name__)

BATCH = 200  # pending tasks looked at per pass


@dataclass
class Held:
    """A task the simulator has claimed and will finish at `ready_at` (monotonic seconds)."""

    task_id: str
    application_id: str
    matter: str
    department: str
    officer: Principal
    ready_at: float


class Simulator:
    def __init__(self, *, speed: float = 1.0, departments: Iterable[str] | None = None,
                 rng: random.Random | None = None, report: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.departments = set(departments or ()) or None
        self.rng = rng or random.Random()  # nosec B311  # simulated officers
        self.report = report or (lambda line: log.info("%s", line))
        self.clock = clock
        self.held: dict[str, Held] = {}
        self._accounts: dict[tuple, Principal] = {}

    # What there is to do -----------------------------------------------------------------

    def _account(self, task: dict) -> Principal:
        """The adapter's account in the task's department and region."""
        key = (task["department"], task.get("region"))
        if key not in self._accounts:
            self._accounts[key] = department_adapters.account_for(*key)
        return self._accounts[key]

    def _open_tasks(self, status: TaskStatus) -> Iterable[tuple[str, dict]]:
        """(application id, task) of open applications' tasks in a status, oldest first."""
        condition: dict = {"status": status.value}
        if self.departments:
            condition["department"] = {"$in": sorted(self.departments)}
        cursor = Application._get_collection().find(
            {"status": {"$in": [s.value for s in OPEN_APPLICATION_STATUSES]},
             "tasks": {"$elemMatch": condition}},
            {"tasks.id": 1, "tasks.status": 1, "tasks.matter": 1, "tasks.department": 1,
             "tasks.region": 1, "tasks.claimed_by": 1},
        ).sort("created_at", 1).limit(BATCH)
        for application in cursor:
            for task in application.get("tasks", []):
                if task.get("status") == status.value and (
                        not self.departments or task.get("department") in self.departments):
                    yield str(application["_id"]), task

    def _delay(self, matter: str) -> float:
        typical = department_adapters.adapter_for(matter).typical_seconds
        return typical * self.rng.uniform(0.6, 1.4) / self.speed

    def _hold(self, application_id: str, task: dict, officer: Principal) -> None:
        self.held[task["id"]] = Held(
            task_id=task["id"], application_id=application_id, matter=task["matter"],
            department=task["department"], officer=officer,
            ready_at=self.clock() + self._delay(task["matter"]))

    def resume(self) -> int:
        """Take back tasks the simulator's accounts had claimed when it last stopped."""
        accounts = {str(pk) for pk in User.objects(
            __raw__=department_adapters.ACCOUNT_QUERY).scalar("id")}
        resumed = 0
        for application_id, task in self._open_tasks(TaskStatus.CLAIMED):
            if task.get("claimed_by") in accounts and task["id"] not in self.held:
                self._hold(application_id, task, self._account(task))
                resumed += 1
        return resumed

    # One pass ----------------------------------------------------------------------------

    def claim_pending(self) -> int:
        """Claim every pending task in the queues; the ones someone else takes first are skipped."""

        claimed = 0
        for application_id, task in list(self._open_tasks(TaskStatus.PENDING)):
            officer = self._account(task)
            try:
                handling.claim_task(task_id=task["id"], officer=officer)
            except DomainError:
                continue  # an officer (or another simulator) was quicker, or it moved on
            self._hold(application_id, task, officer)
            claimed += 1
            self.report(f"{_stamp()}  {task['department']:<18} claimed    {task['matter']}")
        return claimed

    def finish_ready(self) -> int:
        """Complete (or reject) every held task whose handling time has passed."""
        finished = 0
        now = self.clock()
        for held in sorted(self.held.values(), key=lambda h: h.ready_at):
            if held.ready_at > now:
                continue
            del self.held[held.task_id]
            try:
                application = department_adapters.act(task_id=held.task_id,
                                                      officer=held.officer, rng=self.rng)
            except DomainError as exc:
                # Withdrawn, put on hold for a supplement, or finished by someone else.
                self.report(f"{_stamp()}  {held.department:<18} dropped    {held.matter} "
                            f"({exc.error})")
                continue
            task = application.task(held.task_id)
            verb = "completed" if task is not None and task.status == "completed" else "rejected"
            names = ", ".join(sorted((task.outputs or {}) if task is not None else ()))
            self.report(f"{_stamp()}  {held.department:<18} {verb:<10} {held.matter}"
                        + (f" -> {names}" if names else ""))
            finished += 1
        return finished

    def tick(self) -> int:
        """One pass over the queues: claim what is pending, finish what is ready."""
        return self.claim_pending() + self.finish_ready()

    def next_ready_in(self) -> float | None:
        if not self.held:
            return None
        return max(0.0, min(h.ready_at for h in self.held.values()) - self.clock())

    # Running -----------------------------------------------------------------------------

    def run(self, *, once: bool = False, poll: float = 1.0,
            sleep: Callable[[float], None] = time.sleep) -> None:
        """Work the queues until stopped; `once`: finish what is pending now, then return."""
        self.resume()
        self.claim_pending()
        while True:
            self.finish_ready()
            if once and not self.held:
                return
            wait = self.next_ready_in()
            sleep(min(poll, wait) if wait is not None else poll)
            if not once:
                self.claim_pending()


def _stamp() -> str:
    return datetime.now(UTC).astimezone().strftime("%H:%M:%S")
