"""`flask loop sweep`: the service loop's jobs in one command, safe to repeat."""
from models.figures import FigureBucket
from tests import loop_support as loop
from tests import workflow_support as ws


def test_one_sweep_invites_counts_and_reports_and_a_second_finds_nothing(app):
    ws.load_catalogue()
    loop.finished_newborn(ws.make_parent())
    runner = app.test_cli_runner()

    first = runner.invoke(args=["loop", "sweep"])
    second = runner.invoke(args=["loop", "sweep"])

    assert first.exit_code == 0, first.output
    assert "rating_invitations 1" in first.output and "applications_counted 1" in first.output
    assert "rating_invitations 0" in second.output and "applications_counted 0" in second.output
    assert FigureBucket.objects.count() > 0
