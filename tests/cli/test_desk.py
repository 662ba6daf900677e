"""`flask desk sweep`: conversations waiting too long are flagged to their region's agents."""
from datetime import timedelta

from models.base import utcnow
from models.conversation import Conversation
from tests.helpers import make_agent, make_citizen


def test_the_sweep_flags_a_long_wait_once(app, desk_open):
    make_agent()
    waiting = Conversation(owner=str(make_citizen().id), status="waiting_for_staff",
                           region="330381", waiting_since=utcnow() - timedelta(hours=2)).save()
    runner = app.test_cli_runner()

    first = runner.invoke(args=["desk", "sweep"])
    second = runner.invoke(args=["desk", "sweep"])

    assert first.exit_code == 0 and "flagged 1 conversation" in first.output, first.output
    assert "flagged 0 conversation" in second.output
    assert Conversation.objects.get(id=waiting.id).outbox_pending is True
