"""Fixtures of the workflow's service tests: a verified parent and an officer per department."""
import pytest

from tests import workflow_support as ws
from tests.helpers import make_officer


@pytest.fixture
def parent():
    return ws.make_parent()


@pytest.fixture
def officers():
    return {d: make_officer(d) for d in ws.NEWBORN_DEPARTMENTS}
