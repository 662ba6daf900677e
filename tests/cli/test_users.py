"""`flask users ...` and the development accounts of `flask seed`."""
from common import crypto
from models.catalogue import Department
from models.user import User
from tests import workflow_support as ws


def test_the_development_seed_creates_an_officer_per_department_a_clerk_and_an_admin(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "seed-dev"])
    assert result.exit_code == 0, result.output
    usernames = set(User.objects.scalar("username"))
    assert {"officer.public_security", "officer.health", "officer.hrss",
            "clerk.ruian-hospital", "admin"} <= usernames
    tokens = client.post("/api/v1/auth/staff-login", json={
        "username": "officer.public_security", "password": "onething-dev"},
        expect=200).get_json()
    assert tokens["user"]["department"] == "public_security"
    again = runner.invoke(args=["users", "seed-dev"])
    assert "all development accounts exist" in again.output
    assert User.objects.count() == len(usernames)


def test_the_development_seed_has_officers_in_shangcheng_and_above_ruian_and_shangcheng(
        app, client):
    ws.load_catalogue()
    app.test_cli_runner().invoke(args=["users", "seed-dev"])
    regions = dict(User.objects(role="officer").scalar("username", "region"))
    assert regions["officer.public_security"] == "330381"
    assert regions["officer.public_security.330102"] == "330102"
    assert regions["officer.hrss.330102"] == "330102"
    assert regions["officer.public_security.330300"] == "330300"  # Wenzhou: city-level matters
    assert regions["officer.transport.330000"] == "330000"  # the province: ETC
    assert "officer.health.330300" not in regions  # no city-level health matter
    tokens = client.post("/api/v1/auth/staff-login", json={
        "username": "officer.public_security.330102", "password": "onething-dev"},
        expect=200).get_json()
    assert tokens["user"]["region"] == "330102"


def test_seeded_departments_decide_which_officers_exist(app):
    Department(code="education", name={"zh-CN": "教育局", "en": "Education"}).save()
    app.test_cli_runner().invoke(args=["users", "seed-dev"])
    officers = set(User.objects(role="officer").scalar("username"))
    assert officers == {"officer.education"}


def test_development_accounts_are_never_created_in_production(app, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    result = app.test_cli_runner().invoke(args=["users", "seed-dev"])
    assert result.exit_code != 0 and User.objects.count() == 0


def test_create_staff_makes_an_account_that_signs_in(app, client):
    Department(code="taxation", name={"zh-CN": "税务", "en": "Taxation"},
               regions=["330381"]).save()
    result = app.test_cli_runner().invoke(args=[
        "users", "create-staff", "--username", "officer.tax.9", "--role", "officer",
        "--department", "taxation", "--region", "330381", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    user = User.objects.get(username="officer.tax.9")
    assert crypto.verify_secret(user.password_hash, "a-long-password")
    client.post("/api/v1/auth/staff-login", json={"username": "officer.tax.9",
                                                  "password": "a-long-password"}, expect=200)


def test_create_staff_explains_what_is_wrong(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create-staff", "--username", "clerk.9", "--role", "clerk",
        "--password", "a-long-password"])
    assert result.exit_code != 0 and "station" in result.output
    assert User.objects.count() == 0


def test_the_development_agent_signs_in_to_the_desk_of_ruian(app, client):
    app.test_cli_runner().invoke(args=["users", "seed-dev"])
    tokens = client.post("/api/v1/auth/staff-login", json={
        "username": "agent", "password": "onething-dev"}, expect=200).get_json()
    assert tokens["user"]["role"] == "agent" and tokens["user"]["region"] == "330381"
    desk = client.with_headers(Authorization=f"Bearer {tokens['access_token']}")
    desk.get("/api/v1/workbench/conversations", expect=200)
    desk.get("/api/v1/workbench/tasks", expect=403)  # nothing of the officers' workbench


def test_create_staff_makes_agents_of_a_region(app):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["users", "create-staff", "--username", "agent.2", "--role",
                                  "agent", "--password", "a-long-password"])
    assert refused.exit_code != 0 and "region" in refused.output
    made = runner.invoke(args=["users", "create-staff", "--username", "agent.2", "--role",
                               "agent", "--region", "330102", "--password", "a-long-password"])
    assert made.exit_code == 0, made.output
    assert User.objects.get(username="agent.2").region == "330102"
