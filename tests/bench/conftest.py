"""The bench's own tests need no database: its verdicts are pure functions."""
import pytest


@pytest.fixture(autouse=True)
def app_context():
    """Overrides the suite's per-test database clean-up: nothing here touches the database."""
    yield
