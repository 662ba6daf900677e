"""The service desk's rules: opening hours, the region's queue, one agent per conversation, staff
messages through the notification relay, closing, the handoff records, the sweep."""
from datetime import UTC, datetime, timedelta

import pytest

from assistant import knowledge
from models.conversation import Conversation
from models.handoff import Handoff
from models.notification import Notification
from notifications import relay
from services.desk import conversations as desk
from services.desk import handoffs, hours, sweeper
from services.errors import InvalidState, NotFound, ValidationFailed
from services.identity import staff_accounts
from tests.assistant.conversation_support import say
from tests.helpers import make_agent, make_citizen, make_officer
from tests.workflow_support import load_catalogue

SHANGHAI = timedelta(hours=8)


def local(text: str) -> datetime:
    """A moment given in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - SHANGHAI


@pytest.fixture(autouse=True)
def catalogue():
    knowledge.forget()
    load_catalogue()


def handed_over(citizen=None, text: str = "转人工") -> str:
    return say(citizen or make_citizen(), text)["conversation_id"]


# ── Hours ─────────────────────────────────────────────────────────────────────────────────────

def test_the_desk_is_open_on_working_days_between_its_hours():
    assert hours.is_open(local("2025-06-10T10:00"))  # a Tuesday
    assert not hours.is_open(local("2025-06-10T08:59"))
    assert not hours.is_open(local("2025-06-10T17:00"))
    assert not hours.is_open(local("2025-06-14T10:00"))  # a Saturday
    assert not hours.is_open(local("2025-10-01T10:00"))  # National Day


def test_people_are_back_the_next_working_morning():
    assert hours.next_opening(local("2025-06-10T10:00")) == local("2025-06-10T10:00")
    assert hours.next_opening(local("2025-06-10T07:00")) == local("2025-06-10T09:00")
    assert hours.next_opening(local("2025-06-13T18:00")) == local("2025-06-16T09:00")  # Fri
    assert hours.next_opening(local("2025-09-30T18:00")) == local("2025-10-09T09:00")


def test_the_hours_are_settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_OPENS", "08:30")
    monkeypatch.setitem(app.config, "DESK_CLOSES", "20:00")
    assert hours.is_open(local("2025-06-10T19:30")) and hours.is_open(local("2025-06-10T08:30"))
    assert hours.hours().text() == "08:30–20:00"


def test_a_wait_counts_only_while_the_desk_is_open():
    # Ten minutes before closing, twenty after the next morning's opening.
    waited = hours.open_time_between(local("2025-06-10T16:50"), local("2025-06-11T09:20"))
    assert waited == timedelta(minutes=30)
    assert hours.open_time_between(local("2025-06-13T18:00"), local("2025-06-16T08:00")) == \
        timedelta(0)


# ── The queue and one agent ───────────────────────────────────────────────────────────────────

def test_agents_see_their_regions_queue_oldest_waiting_first(desk_open):
    first, second = handed_over(), handed_over()
    agent, elsewhere = make_agent(), make_agent("330102")

    found, total = desk.list_conversations(agent=agent)
    assert [str(c.id) for c in found] == [first, second] and total == 2
    assert desk.list_conversations(agent=elsewhere) == ([], 0)
    with pytest.raises(NotFound):
        desk.get_conversation(agent=elsewhere, conversation_id=first)
    with pytest.raises(NotFound):
        desk.claim(agent=elsewhere, conversation_id=first)


def test_a_citizens_chosen_region_decides_which_desk_serves_them(desk_open):
    citizen = make_citizen(region="330102")
    conversation = handed_over(citizen)
    assert Conversation.objects.get(id=conversation).region == "330102"
    assert desk.list_conversations(agent=make_agent())[1] == 0
    assert desk.list_conversations(agent=make_agent("330102"))[1] == 1


def test_only_one_agent_holds_a_conversation(desk_open):
    conversation = handed_over()
    first, second = make_agent(), make_agent()

    taken = desk.claim(agent=first, conversation_id=conversation)
    assert taken.status == "with_staff" and taken.agent == str(first.id)
    assert desk.claim(agent=first, conversation_id=conversation).agent == str(first.id)
    with pytest.raises(InvalidState) as refused:
        desk.claim(agent=second, conversation_id=conversation)
    assert refused.value.error == "conversation_claimed"
    with pytest.raises(InvalidState):
        desk.write(agent=second, conversation_id=conversation, words="我来")
    with pytest.raises(InvalidState):
        desk.close(agent=second, conversation_id=conversation)
    assert Handoff.objects.get().status == "claimed"


def test_writing_needs_the_conversation_taken_first(desk_open):
    conversation = handed_over()
    with pytest.raises(InvalidState) as refused:
        desk.write(agent=make_agent(), conversation_id=conversation, words="您好")
    assert refused.value.error == "conversation_not_claimed"


def test_a_staff_message_is_stored_with_its_notification_and_relayed_to_the_inbox(desk_open):
    citizen = make_citizen()
    conversation = handed_over(citizen)
    agent = make_agent()
    desk.claim(agent=agent, conversation_id=conversation)

    written = desk.write(agent=agent, conversation_id=conversation,
                         words="您好，我是服务台小王，请问宝宝出生几天了？")
    stored = Conversation.objects.get(id=conversation)
    assert written.turns[-1].role == "staff" and written.turns[-1].staff == str(agent.id)
    assert stored.outbox_pending and stored.outbox[0]["type"] == "staff_message"

    assert relay.relay_pending() == 1
    note = Notification.objects.get(recipient=str(citizen.id))
    assert note.type == "staff_message" and note.data == {"conversation": conversation}
    assert note.detail["zh-CN"] == "您好，我是服务台小王，请问宝宝出生几天了？"
    assert "小王" not in note.body["zh-CN"] + note.title["zh-CN"]  # push carries no words
    fresh = Conversation.objects.get(id=conversation)
    assert fresh.outbox == [] and fresh.outbox_pending is False


def test_closing_gives_the_conversation_back_to_the_assistant(desk_open):
    citizen = make_citizen()
    conversation = handed_over(citizen)
    agent = make_agent()
    desk.claim(agent=agent, conversation_id=conversation)
    closed = desk.close(agent=agent, conversation_id=conversation)

    assert closed.status == "closed" and closed.closed_by == str(agent.id)
    assert closed.handoff_id is None and Handoff.objects.get().status == "closed"
    assert closed.turns[-1].role == "assistant" and "结束" in closed.turns[-1].text
    with pytest.raises(InvalidState):
        desk.close(agent=agent, conversation_id=conversation)
    again = say(citizen, "转人工", conversation)
    assert again["reply"]["cards"][0]["status"] == "waiting_for_staff"
    assert Handoff.objects.count() == 2


def test_a_waiting_conversation_may_be_closed_by_any_agent_of_the_region(desk_open):
    conversation = handed_over()
    assert desk.close(agent=make_agent(), conversation_id=conversation).status == "closed"


def test_the_closed_list_shows_the_last_days_and_reads_only_them(app, desk_open):
    agent = make_agent()
    recent, old = handed_over(), handed_over()
    for conversation in (recent, old):
        desk.close(agent=agent, conversation_id=conversation)
    Conversation.objects(id=old).update_one(
        set__closed_at=datetime.now(UTC) - timedelta(days=app.config["DESK_CLOSED_DAYS"] + 1))

    found, total = desk.list_conversations(agent=agent, status="closed")

    assert [str(c.id) for c in found] == [recent] and total == 1
    # Found on the closed ones' own index, within the days' bounds: not every closed one read.
    plan = Conversation.objects(__raw__={"region": agent.region, "status": "closed",
                                         "closed_at": {"$gte": desk.closed_since()}}
                                ).explain()["queryPlanner"]["winningPlan"]
    assert "closed_latest" in str(plan) and "COLLSCAN" not in str(plan)


def test_closed_handoffs_are_those_of_the_last_days(app, desk_open):
    agent, officer = make_agent(), make_officer("public_security")
    recent, old = handed_over(), handed_over()
    for conversation in (recent, old):
        desk.close(agent=agent, conversation_id=conversation)
    Handoff.objects(conversation=old).update_one(
        set__closed_at=datetime.now(UTC) - timedelta(days=app.config["DESK_CLOSED_DAYS"] + 1))

    for staff in (agent, officer):
        assert [h.conversation for h in handoffs.handoffs_for(staff=staff, status="closed")
                ] == [recent]
    # The desk's agents' list reads the last days' only. (An officer's also names their region
    # and departments, which the embedded server's planner takes to another index.)
    plan = handoffs.handoffs_for(staff=agent, status="closed").explain()["queryPlanner"]
    assert "closed_latest" in str(plan["winningPlan"])


def test_an_officers_open_handoffs_are_found_on_their_status_region_and_departments():
    officer = make_officer("public_security")
    theirs, nobodys = handed_over(), handed_over()
    Handoff.objects(conversation=theirs).update_one(set__departments=["public_security"])
    Handoff.objects(conversation=nobodys).update_one(set__departments=[])
    Handoff.objects(conversation=handed_over()).update_one(set__departments=["health"])

    query = handoffs.handoffs_for(staff=officer, status="open")

    assert sorted(h.conversation for h in query) == sorted([theirs, nobodys])
    assert "status_1_region_1_departments_1" in str(query.explain()["queryPlanner"])


# ── The handoff records follow ────────────────────────────────────────────────────────────────

def test_claiming_and_closing_a_handoff_record_moves_its_conversation(desk_open):
    conversation = handed_over()
    handoff = Handoff.objects.get()
    officer = make_officer("public_security")

    handoffs.claim_handoff(handoff_id=str(handoff.id), staff=officer)
    held = Conversation.objects.get(id=conversation)
    assert held.status == "with_staff" and held.agent == str(officer.id)
    with pytest.raises(InvalidState):
        desk.claim(agent=make_agent(), conversation_id=conversation)

    handoffs.close_handoff(handoff_id=str(handoff.id), staff=officer)
    closed = Conversation.objects.get(id=conversation)
    assert closed.status == "closed" and closed.handoff_id is None


# ── The sweep ─────────────────────────────────────────────────────────────────────────────────

def test_a_long_wait_is_flagged_once_to_the_regions_agents(app, desk_open):
    conversation = handed_over()
    agents = [make_agent(), make_agent()]
    make_agent("330102")
    later = datetime.now(UTC) + timedelta(seconds=app.config["DESK_WAIT_ALERT_SECONDS"] + 60)

    assert sweeper.sweep(now=datetime.now(UTC)) == 0  # not long yet
    assert sweeper.sweep(now=later) == 1
    assert sweeper.sweep(now=later) == 0
    relay.relay_pending()
    alerts = Notification.objects(type="conversation_waiting")
    assert sorted(n.recipient for n in alerts) == sorted(str(a.id) for a in agents)
    assert alerts[0].data == {"conversation": conversation, "waited_minutes": 11}
    assert "11" in alerts[0].title["zh-CN"]
    assert Conversation.objects.get(id=conversation).flagged_at is not None


def test_nothing_is_flagged_while_the_desk_is_closed(app, desk_closed):
    handed_over()
    later = datetime.now(UTC) + timedelta(days=3)
    assert sweeper.sweep(now=later) == 0


# ── Agents' accounts ──────────────────────────────────────────────────────────────────────────

def test_an_agent_account_needs_a_region():
    with pytest.raises(ValidationFailed):
        staff_accounts.create_staff(username="agent.2", password="x" * 12, role="agent")
    agent = staff_accounts.create_staff(username="agent.3", password="x" * 12, role="agent",
                                        region="330102")
    assert agent.region == "330102" and agent.is_staff
    assert staff_accounts.region_agents("330102") == [str(agent.id)]
