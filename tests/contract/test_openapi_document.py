"""The OpenAPI document tells the truth: each error answer in its one shape, every status code an
operation can give, an example for every request body, a description for every operation."""
import jsonschema_rs
import pytest

from api.input_guards import MAX_JSON_DEPTH

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client) -> dict:
    return client.get("/api/openapi.json", expect=200).get_json()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", path, item[method]


def _validator(spec: dict, ref: str):
    return jsonschema_rs.Draft4Validator({"$ref": ref, "components": spec["components"]})


def _resolve(spec: dict, response: dict) -> dict:
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def _expected_codes(path: str, operation: dict) -> set[str]:
    expected = {"422", "503"}
    if operation.get("security"):
        expected |= {"401", "403"}
    if "{" in path:
        expected.add("404")
    if "requestBody" in operation:
        expected |= {"400", "413", "422"}
    headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
    if headers.get("Idempotency-Key", {}).get("required"):
        expected.add("428")
    if "If-Match" in headers:
        expected.add("412")
    return expected


def test_every_operation_documents_each_status_code_it_can_give(spec):
    missing = []
    for name, path, operation in _operations(spec):
        codes = set(operation["responses"])
        assert "default" not in codes, f"{name}: errors are named, not left to a default"
        missing += [f"{name}: {code}" for code in sorted(_expected_codes(path, operation) - codes)]
    assert not missing, "\n".join(missing)


def test_every_error_answer_is_documented_in_the_one_error_shape(spec):
    wrong = []
    for name, _, operation in _operations(spec):
        for code, response in operation["responses"].items():
            if int(code) < 400:
                continue
            content = _resolve(spec, response).get("content", {}).get("application/json", {})
            if content.get("schema") != {"$ref": "#/components/schemas/Error"}:
                wrong.append(f"{name} {code}: {content.get('schema')}")
            elif not _validator(spec, "#/components/schemas/Error").is_valid(
                    content.get("example")):
                wrong.append(f"{name} {code}: its example is not an error answer")
    assert not wrong, "\n".join(wrong)


def test_the_published_error_schema_accepts_real_error_answers_and_requires_the_slug(client,
                                                                                    spec):
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "error", "message", "errors"}
    validator = _validator(spec, "#/components/schemas/Error")
    answers = [
        client.get("/api/v1/me", expect=401),
        client.get("/api/v1/bundles/no_such_bundle", expect=404),
        client.post("/api/v1/auth/otp", json={"phone": "1"}, expect=422),
        client.post("/api/v1/auth/otp", data="[" * (MAX_JSON_DEPTH + 1),
                    content_type="application/json", expect=400),
        client.post("/api/v1/auth/staff-login", data='{"username": "\\ud800", "password": "x"}',
                    content_type="application/json", expect=422),
    ]
    for answer in answers:
        body = answer.get_json()
        assert body["error"], body
        assert validator.is_valid(body), [e.message for e in validator.iter_errors(body)]


def test_every_request_body_has_an_example_the_api_accepts(spec):
    wrong = []
    for name, _, operation in _operations(spec):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if "example" not in content:
                wrong.append(f"{name} {media_type}: no example")
                continue
            validator = _validator(spec, content["schema"]["$ref"])
            wrong += [f"{name}: {e.message}" for e in validator.iter_errors(content["example"])]
    assert not wrong, "\n".join(wrong)


def test_every_operation_has_a_summary_and_a_description_naming_its_callers(spec):
    wrong = []
    for name, _, operation in _operations(spec):
        if not operation.get("summary"):
            wrong.append(f"{name}: no summary")
        description = operation.get("description", "")
        said = "Bearer token of" if operation.get("security") else "Open to anyone"
        if said not in description:
            wrong.append(f"{name}: the description does not say who may call")
    assert not wrong, "\n".join(wrong)


def test_the_roles_named_in_a_description_are_the_ones_let_in(spec):
    operation = spec["paths"]["/api/v1/applications"]["post"]
    assert "Bearer token of: citizen." in operation["description"]
    assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}
