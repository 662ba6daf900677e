"""`as_documented(response, "POST /api/v1/auth/otp")`: the answer has a status its operation
documents and a body of the schema documented for that status."""
import pytest

from tests.contract.generated_requests import load_schema


@pytest.fixture(scope="session")
def contract(app):
    return load_schema(app)


@pytest.fixture
def as_documented(contract):
    def check(response, label: str):
        operation = contract.find_operation_by_label(label)
        assert operation is not None, f"{label} is not in the OpenAPI document"
        documented = operation.responses.find_by_status_code(response.status_code)
        assert documented is not None, (
            f"{label} answered {response.status_code}, which it does not document: "
            f"{response.get_data(as_text=True)[:500]}")
        operation.validate_response(response)
        return response
    return check
