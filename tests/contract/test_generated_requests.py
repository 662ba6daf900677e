"""A seeded slice of `make fuzz` (about 1,000 generated cases, the same ones each run): a 5xx,
an answer that breaks its documented schema or a status no one documented fails the suite."""
from tests.contract import generated_requests


def test_a_thousand_generated_requests_as_every_role_meet_the_contract(app):
    tally = generated_requests.run(app, examples=2, stateful_examples=20, steps=8,
                                   deterministic=True)

    print(tally.report())  # the figures, for `pytest -s`
    assert tally.cases >= 900, tally.report()
    assert set(tally.by_role) == set(generated_requests.ROLES), tally.report()
    assert tally.stateful_steps > 0, tally.report()
    assert tally.counts == {"5xx": 0, "undocumented status": 0, "schema violation": 0}, \
        tally.report()
