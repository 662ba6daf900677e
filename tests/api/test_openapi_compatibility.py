"""The contract of API.md does not shrink: every path, method, status code and schema field of the
OpenAPI document as it stood before the restructuring is still there (additions are fine)."""
import json
from pathlib import Path

BEFORE = Path(__file__).parent / "data" / "openapi_v1_before.json"


def _operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {(path, method): op for path, item in doc["paths"].items()
            for method, op in item.items() if method in {"get", "post", "put", "patch", "delete"}}


def _missing_fields(before: dict, after: dict, where: str) -> list[str]:
    missing = []
    for name, schema in before.items():
        if name not in after:
            missing.append(f"{where}: schema {name}")
            continue
        gone = set(schema.get("properties", {})) - set(after[name].get("properties", {}))
        missing += [f"{where}: {name}.{field}" for field in sorted(gone)]
    return missing


def test_no_path_method_status_or_field_of_the_v1_contract_is_gone(client):
    before = json.loads(BEFORE.read_text())
    after = client.get("/api/openapi.json", expect=200).get_json()

    missing = []
    now = _operations(after)
    for key, operation in _operations(before).items():
        if key not in now:
            missing.append(f"operation {key[1].upper()} {key[0]}")
            continue
        # The catch-all `default` gave way to every error named by its code (README changelog).
        gone = set(operation.get("responses", {})) - set(now[key].get("responses", {})) - {
            "default"}
        missing += [f"{key[1].upper()} {key[0]} answers {code}" for code in sorted(gone)]
    missing += _missing_fields(before["components"]["schemas"], after["components"]["schemas"],
                               "components")
    assert not missing, "\n".join(missing)
