"""The reform figures through the API: what completions saved, how citizens rated them, at a
read cost that does not grow with the history; bad filters named."""
import pytest

from services.ratings import ratings
from tests import loop_support as loop
from tests import workflow_support as ws

REFORM = "/api/v1/stats/reform"


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def read(client, **query):
    return client.get(REFORM, query_string=query, expect=200)


def test_completions_count_with_their_savings_and_ratings_and_the_read_cost_stays(client):
    staff = loop.officers()
    parent = ws.make_parent(1)
    first = loop.finished_newborn(parent, staff)
    loop.sweep()
    cost = int(read(client, bundle="newborn").headers["X-DB-Commands"])
    ratings.rate(application_id=str(first.id), citizen=parent, score=5)
    ratings.rate(application_id=str(first.id), citizen=parent, score=2,
                 task=first.task_for("citizen_card").id)
    for n in range(2, 5):
        loop.finished_newborn(ws.make_parent(n), staff)
    loop.submit_newborn(ws.make_parent(9))
    loop.sweep()

    answer = read(client, bundle="newborn", region="330381")
    figures = answer.get_json()
    assert int(answer.headers["X-DB-Commands"]) == cost
    assert (figures["applications"], figures["completed"]) == (5, 4)
    assert figures["forms_saved"] == 4 * 4 and figures["trips_saved"] == 4 * 6
    assert figures["materials_saved"] == 4 * 20
    assert (figures["ratings"], figures["satisfaction"]) == (2, 0.5)
    assert figures["completed_within_hour_share"] == 1.0
    assert figures["median_minutes_to_complete"] <= figures["p90_minutes_to_complete"]
    elsewhere = read(client, bundle="newborn", region="330102").get_json()
    assert (elsewhere["applications"], elsewhere["satisfaction"]) == (0, None)
    today = read(client, **{"from": "2000-01-01"}).get_json()
    assert today["applications"] == 5


@pytest.mark.parametrize("query, field", [
    ({"bundle": "newbron"}, "bundle"), ({"region": "Ruian"}, "region"),
    ({"from": "2026-13-01"}, "from"), ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
    ({"from": "1999-12-31"}, "from"),
])
def test_bad_filters_are_named(client, query, field):
    answer = client.get(REFORM, query_string=query, expect=422).get_json()
    assert field in answer["errors"]
