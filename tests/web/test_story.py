"""The article's story in two real browsers at once: a father applies for his newborn at /app/
with four uploads, six departments' officers work their tasks at /workbench/, and his
application page lights up department by department without a reload."""
import re
import time

from models.application import Application
from tests import material_files as files
from tests import workflow_support as ws
from tests.web import scenes
from tests.web.support import DESKTOP, PHONE, click, find, present, set_field, type_into, wait

PHONE_NUMBER = "13812345678"
# Departments in an order their tasks become pending, each with its matters on this application.
OFFICERS = [
    ("health", ["birth_medical_certificate"]),
    ("community_health", ["vaccination_certificate"]),
    ("public_security", ["newborn_household_registration"]),
    ("medical_insurance", ["maternity_insurance_benefit", "medical_insurance_enrolment"]),
    ("taxation", ["medical_insurance_payment"]),
    ("hrss", ["citizen_card"]),
]


def write_files(tmp_path):
    paths = {}
    for type_code, content, name in (("parent_id_card", files.jpeg(), "id-card.jpg"),
                                     ("household_register", files.jpeg(colour=(9, 99, 199)),
                                      "hukou.jpg"),
                                     ("marriage_certificate", files.jpeg(colour=(199, 9, 9)),
                                      "marriage.jpg"),
                                     ("birth_registration_form", files.pdf(), "birth-form.pdf")):
        path = tmp_path / name
        path.write_bytes(content)
        paths[type_code] = str(path)
    return paths


def citizen_signs_in(driver, phone: str) -> None:
    type_into(driver, 'input[name="phone"]', phone)
    click(driver, "#send-code")
    hint = find(driver, "#dev-code-hint").text
    type_into(driver, 'input[name="code"]', re.search(r"\d{6}", hint).group(0))
    click(driver, "#sign-in")


def officer_signs_in(driver, base: str, department: str) -> None:
    driver.get(f"{base}/workbench/#/sign-in")
    type_into(driver, 'input[name="username"]', f"officer.{department}")
    type_into(driver, 'input[name="password"]', scenes.PASSWORD)
    click(driver, "#staff-sign-in")
    find(driver, "#queue-table")


def officer_completes(driver, application_id: str, matter: str) -> None:
    asked = [time.monotonic()]

    def open_task(d):
        rows = [r for r in d.find_elements("css selector", f'tr[data-matter="{matter}"]')
                if application_id in r.text and r.get_attribute("data-status") == "pending"]
        if rows:
            rows[0].find_element("css selector", "a.task-link").click()
            return True
        if time.monotonic() - asked[0] > 1:  # not in the queue yet: look again, as a person would
            asked[0] = time.monotonic()
            d.find_element("css selector", "#refresh-queue").click()
        return False
    wait(driver, open_task, timeout=30)
    click(driver, "#claim")
    find(driver, "#complete-form")
    for name, value in ws.outputs_for(matter).items():
        set_field(driver, name, value)
    click(driver, "#complete")
    wait(driver, lambda d: d.find_element("css selector", "h1 + .status, .spread .status")
         .get_attribute("data-status") == "completed")
    driver.get(driver.current_url.split("#")[0] + "#/tasks")
    find(driver, "#queue-table")


def test_a_father_applies_and_watches_six_departments_finish_live(live_server, notification_worker,
                                                                  seeded, browsers, tmp_path,
                                                                  client):
    base = live_server.url
    father = browsers(PHONE, "en")
    officer = browsers(DESKTOP, "en")
    app_driver, wb = father.driver, officer.driver

    # Anyone may look at a life event; applying asks for sign-in, then for the real name.
    app_driver.get(f"{base}/app/#/bundles/newborn")
    assert len(find(app_driver, "svg.graph").find_elements("css selector", "g.node")) == 7
    click(app_driver, "#apply-link")
    citizen_signs_in(app_driver, PHONE_NUMBER)
    find(app_driver, "#real-name-form")
    type_into(app_driver, 'input[name="name"]', "Zhou Lei")
    type_into(app_driver, 'input[name="id_number"]', scenes.FATHER_ID)
    click(app_driver, "#verify-real-name")

    # The joint form: what the system knows is prefilled; he answers the rest.
    find(app_driver, "#apply-form")
    assert "Zhou Lei" in find(app_driver, '[data-field="applicant_name"]').text
    answers = {**ws.newborn_form(), "spouse_name": "Chen Jing",
               "spouse_id_number": scenes.MOTHER_ID}
    for name, value in answers.items():
        set_field(app_driver, name, value)
    for type_code, path in write_files(tmp_path).items():
        upload = f'.upload[data-material="{type_code}"] input[type=file]'
        present(app_driver, upload).send_keys(path)
    wait(app_driver, lambda d: len(d.find_elements(
        "css selector", '.upload [data-upload-state="done"]')) == 4, timeout=30)
    assert len(app_driver.find_elements("css selector", ".upload img.preview")) == 3

    # One tap, tapped twice: one application.
    app_driver.execute_script(
        "const b = document.getElementById('submit-application'); b.click(); b.click();")
    wait(app_driver, lambda d: "#/applications/" in d.current_url, timeout=30)
    application_id = app_driver.current_url.rsplit("/", 1)[1]
    find(app_driver, '#application-graph g.node[data-key="birth_medical_certificate"]')
    assert Application.objects(bundle="newborn").count() == 1
    app_driver.execute_script("window.__sameDocument = 'still here';")

    # Six departments work their tasks; each finish shows on the father's page by itself.
    for department, matters in OFFICERS:
        officer_signs_in(wb, base, department)
        for matter in matters:
            officer_completes(wb, application_id, matter)
            wait(app_driver, lambda d, m=matter: d.find_element(
                "css selector", f'#application-graph g.node[data-key="{m}"]')
                .get_attribute("data-status") == "completed", timeout=30)
        click(wb, "#sign-out")
        find(wb, "#staff-sign-in")
        assert wb.execute_script("return sessionStorage.length") == 0

    wait(app_driver, lambda d: d.find_element("css selector", "h1 + p .status")
         .get_attribute("data-status") == "completed", timeout=30)
    assert app_driver.execute_script("return window.__sameDocument") == "still here"
    assert "Public Security Bureau" in find(app_driver, "#timeline").text

    # Signing out forgets the tokens and revokes the session.
    tokens = app_driver.execute_script(
        "return JSON.parse(localStorage.getItem('onething.app.session'))")
    app_driver.get(f"{base}/app/#/me")
    click(app_driver, "#sign-out")
    wait(app_driver, lambda d: d.execute_script(
        "return localStorage.getItem('onething.app.session')") is None)
    wait(app_driver, lambda d: client.post("/api/v1/auth/refresh", json={
        "refresh_token": tokens["refresh_token"]}).status_code == 401)  # revoked by the logout
    for browser in (father, officer):
        browser.collect()
        assert browser.requested, "the browser's requests were not recorded"
        for url in browser.requested:
            assert tokens["access_token"] not in url and tokens["refresh_token"] not in url
            assert "token" not in url.lower(), url
