"""The citizen's forms in a real browser: the page checks answers, the server's 422 shows beside
its field, uploads explain 413 and 415 in words, a supplement is answered in place; and a station
clerk applies for a citizen who consents with a texted code."""
import re
from datetime import date

from models.application import Application
from services.identity import numbers
from services.workflow import assisted
from tests import material_files as files
from tests import workflow_support as ws
from tests.helpers import make_citizen
from tests.web import scenes
from tests.web.support import DESKTOP, PHONE, click, find, present, set_field, type_into, wait

# Passes every check a page can make (shape, date, check digit), but no province has code 99.
NOWHERE_ID = "99010119920203068" + numbers.id_check_character("99010119920203068")


def test_the_page_and_the_server_explain_what_is_wrong_beside_each_answer(live_server, client,
                                                                          seeded, browsers,
                                                                          tmp_path):
    make_citizen(phone="13900000011", name="Wang Fang", id_number=scenes.FATHER_ID)
    browser = browsers(PHONE, "en")
    driver = browser.driver
    scenes.sign_in(browser, live_server.url, "app", scenes.citizen_tokens(client, "13900000011"),
                   "en")
    driver.get(f"{live_server.url}/app/#/bundles/newborn/apply")
    find(driver, "#apply-form .upload")

    # Nothing answered: the page itself says what is missing, beside each field.
    click(driver, "#submit-application")
    error = find(driver, '[data-field="newborn_name"] .field-error')
    assert "Baby's name is required" in error.text
    assert driver.switch_to.active_element.get_attribute("name") == "newborn_name"

    # 413 and 415 in words.
    text_file = tmp_path / "photo.jpg"
    text_file.write_text("not a picture at all")
    big = tmp_path / "huge.pdf"
    big.write_bytes(files.pdf() + b"\0" * (9 * 1024 * 1024))
    present(driver, '.upload[data-material="parent_id_card"] input[type=file]').send_keys(
        str(text_file))
    message = find(driver, '.upload[data-material="parent_id_card"] .field-error', timeout=30)
    assert "photo.jpg" in message.text and "JPEG" in message.text
    present(driver, '.upload[data-material="birth_registration_form"] input[type=file]').send_keys(
        str(big))
    message = find(driver, '.upload[data-material="birth_registration_form"] .field-error',
                   timeout=30)
    assert "too large" in message.text and "9.0 MB" in message.text
    assert "8.0 MB" in message.text  # the published limit: refused before it was sent

    # An answer only the server can judge: its 422 appears beside that answer.
    for name, value in {**ws.newborn_form(), "spouse_name": "Li Na",
                        "spouse_id_number": NOWHERE_ID}.items():
        set_field(driver, name, value)
    for type_code in ws.NEWBORN_MATERIALS:
        path = tmp_path / f"{type_code}.jpg"
        path.write_bytes(files.jpeg())
        present(driver, f'.upload[data-material="{type_code}"] input[type=file]').send_keys(
            str(path))
    wait(driver, lambda d: len(d.find_elements(
        "css selector", '.upload [data-upload-state="done"]')) == 4, timeout=30)
    click(driver, "#submit-application")
    error = find(driver, '[data-field="spouse_id_number"] .field-error')
    assert "region code" in error.text
    assert Application.objects.count() == 0


def test_a_supplement_is_answered_in_place(live_server, client, seeded, browsers, tmp_path):
    scene = scenes.story(client, phone="13900000012")
    browser = browsers(PHONE, "en")
    driver = browser.driver
    scenes.visit(browser, live_server.url, ("app", "citizen", "/applications/{application}",
                                            "#supplement-form"), scene, client, "en")
    assert "blurred" in find(driver, "#supplement-form").text
    photo = tmp_path / "clear.jpg"
    photo.write_bytes(files.jpeg(colour=(10, 200, 10)))
    present(driver, '#supplement-form input[type=file]').send_keys(str(photo))
    wait(driver, lambda d: d.find_elements("css selector",
                                           '#supplement-form [data-upload-state="done"]'))
    click(driver, "#send-supplement")
    wait(driver, lambda d: not d.find_elements("css selector", "#supplement-form"))
    # The police's task is back with them, and the page says so without a reload.
    assert find(driver, '#tasks [data-matter="newborn_household_registration"]') \
        .get_attribute("data-status") in ("pending", "claimed")
    assert find(driver, "h1 + p .status").get_attribute("data-status") == "in_progress"


def test_a_station_clerk_applies_for_a_citizen_who_consents(live_server, client, seeded,
                                                           browsers, tmp_path):
    scenes.family("13900000013", name="Lin Mei")
    browser = browsers(DESKTOP, "en")
    driver = browser.driver
    scenes.visit(browser, live_server.url, ("workbench", "clerk.ruian-hospital", "/station",
                                            "#send-consent"), {}, client, "en")
    type_into(driver, 'input[name="phone"]', "13900000013")
    click(driver, "#send-consent")
    code = re.search(r"\d{6}", find(driver, "#consent-debug-code").text).group(0)
    type_into(driver, 'input[name="code"]', code)
    click(driver, "#verify-consent")
    find(driver, "#assisted-form")
    set_field(driver, "bundle", "newborn")
    present(driver, '#assisted-form [name="newborn_name"]')  # the newborn's form is drawn
    set_field(driver, "subject", "newborn")
    for name, value in ws.newborn_form(newborn_name="Lin Xiaobao").items():
        set_field(driver, name, value)
    for type_code in ws.NEWBORN_MATERIALS:
        path = tmp_path / f"{type_code}.jpg"
        path.write_bytes(files.jpeg())
        present(driver, f'.upload[data-material="{type_code}"] input[type=file]').send_keys(
            str(path))
        click(driver, f'#original-{type_code}')
    wait(driver, lambda d: len(d.find_elements(
        "css selector", '.upload [data-upload-state="done"]')) == 4, timeout=30)
    click(driver, "#assisted-submit")
    result = find(driver, "#assisted-result", timeout=30)
    assert "Lin Xiaobao" in result.text
    made = Application.objects.get()
    assert made.channel == "station"
    assert sorted(assisted.describe([made])[0]["originals_checked"]) == sorted(
        ws.NEWBORN_MATERIALS)
    # The clerk's page kept the consent in memory only.
    browser.collect()
    assert not [u for u in browser.requested if "consent" in u.lower() and "?" in u]


def test_the_assistant_answers_in_the_chat_with_cards_to_tap(live_server, client, seeded,
                                                            browsers):
    scenes.family("13900000014")
    browser = browsers(PHONE, "zh-CN")
    driver = browser.driver
    scenes.visit(browser, live_server.url, ("app", "citizen", "/assistant", "#chat li"),
                 {"citizen": scenes.citizen_tokens(client, "13900000014")}, client, "zh-CN")
    type_into(driver, 'input[name="text"]', "生孩子要办什么")
    click(driver, ".chat-form button[type=submit]")
    wait(driver, lambda d: len(d.find_elements("css selector", "#chat .from-assistant")) >= 2,
         timeout=60)
    link = find(driver, '#chat a[href="#/bundles/newborn"]')
    link.click()
    find(driver, "svg.graph")


def test_an_officer_asks_for_more_and_another_rejects_with_a_reason(live_server, client, seeded,
                                                                   browsers):
    scene = scenes.story(client, phone="13900000015")
    browser = browsers(DESKTOP, "en")
    driver = browser.driver
    scenes.visit(browser, live_server.url, ("workbench", "officer.medical_insurance",
                                            "/tasks/{task}", "#supplement-form"), scene, client,
                 "en")
    click(driver, "#sup-m-marriage_certificate")
    type_into(driver, 'textarea[name="supplement-reason"]', "The certificate's seal is cut off")
    click(driver, "#ask-supplement")
    wait(driver, lambda d: d.find_element("css selector", ".spread .status")
         .get_attribute("data-status") == "needs_supplement")
    asked = Application.objects.get(id=scene["application"]).supplement
    assert asked is not None

    scenes.family("13900000016", name="Xu Ming", n=2)
    scenes.apply_newborn(client, scenes.citizen_tokens(client, "13900000016"), baby="Xu Tian",
                         key="another")
    health = scenes.staff_tokens(client, "officer.health")
    scenes.sign_in(browser, live_server.url, "workbench", health, "en")
    driver.get(f"{live_server.url}/workbench/#/tasks")
    click(driver, 'tr[data-matter="birth_medical_certificate"][data-status="pending"] a')
    click(driver, "#claim")
    type_into(driver, 'textarea[name="reason"]', "The hospital has no record of this birth")
    driver.execute_script("window.confirm = () => true;")
    click(driver, "#reject")
    wait(driver, lambda d: d.find_element("css selector", ".spread .status")
         .get_attribute("data-status") == "rejected")
    assert Application.objects(status="rejected").count() == 1


def test_a_spouse_confirms_on_her_family_page_what_her_husband_asked(live_server, client,
                                                                     seeded, browsers):
    husband = make_citizen(phone="13900000015", name="Zhou Lei", id_number=scenes.FATHER_ID)
    wife_id = numbers.make_id_number("330381", date(1992, 2, 3), 34, "female")
    make_citizen(phone="13900000016", name="Chen Jing", id_number=wife_id)
    asked = client.as_(husband).post("/api/v1/me/family", json={
        "relation": "spouse", "name": "Chen Jing", "id_number": wife_id}, expect=201).get_json()
    assert asked["status"] == "pending"
    browser = browsers(PHONE, "zh-CN")
    driver = browser.driver
    scenes.sign_in(browser, live_server.url, "app", scenes.citizen_tokens(client, "13900000016"),
                   "zh-CN")
    driver.get(f"{live_server.url}/app/#/me/family")

    request = find(driver, f'#family-requests [data-request="{asked["id"]}"]')
    assert "Zhou Lei" in request.text and "配偶" in request.text
    click(driver, f'#family-requests [data-request="{asked["id"]}"] button.primary')
    wait(driver, lambda d: not d.find_elements("css selector", "#family-requests li"))

    listed = client.as_(husband).get("/api/v1/me/family", expect=200).get_json()
    assert [m["status"] for m in listed] == ["confirmed"]
