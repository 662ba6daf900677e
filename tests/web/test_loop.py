"""The government's own loop in real browsers: an offer accepted in one tap, a finished
application rated, a low rating answered and resolved by its department's officer, and a person
at the service desk answering a citizen whose chat shows it without a reload."""
from models.application import Application
from models.conversation import Conversation
from tests import workflow_support as ws
from tests.helpers import make_material
from tests.web import scenes
from tests.web.support import DESKTOP, PHONE, click, find, type_into, wait


def test_an_offer_is_accepted_in_one_tap_and_becomes_one_application(live_server, client,
                                                                     seeded, browsers):
    mother = scenes.family("13900000031", name="Chen Jing", spouse="Zhou Lei", n=3)
    tokens = scenes.citizen_tokens(client, "13900000031")
    for kind in ws.NEWBORN_MATERIALS:  # her vault has what the newborn needs
        make_material(mother, kind)
    offer = scenes.offer(mother, baby="Zhou Xiaoyu", key="tap-offer")
    phone = browsers(PHONE, "en")
    driver = phone.driver
    scenes.sign_in(phone, live_server.url, "app", tokens, "en")
    driver.get(f"{live_server.url}/app/#/")

    card = find(driver, f'#home-offers .offer[data-offer="{offer.id}"]')
    assert "Zhou Xiaoyu" in card.text
    # Tapped twice, as a hurried thumb does: one application.
    driver.execute_script(
        "const b = document.querySelector('.offer-accept'); b.click(); b.click();")

    wait(driver, lambda d: "#/applications/" in d.current_url)
    application_id = driver.current_url.rsplit("/", 1)[1]
    find(driver, '#application-graph g.node[data-key="birth_medical_certificate"]')
    made = Application.objects(applicant=str(mother.id), status="in_progress")
    assert [str(a.id) for a in made] == [application_id]
    driver.get(f"{live_server.url}/app/#/offers")
    wait(driver, lambda d: d.find_element("css selector", ".offer").get_attribute(
        "data-status") == "accepted")


def test_an_offer_missing_answers_opens_the_joint_form_with_what_it_knows(live_server, client,
                                                                        seeded, browsers):
    mother = scenes.family("13900000032", name="Chen Jing", spouse="Zhou Lei", n=4)
    tokens = scenes.citizen_tokens(client, "13900000032")
    offer = scenes.offer(mother, baby="Zhou Xiaoxue", key="partial-offer", complete=False)
    phone = browsers(PHONE, "en")
    scenes.sign_in(phone, live_server.url, "app", tokens, "en")
    phone.driver.get(f"{live_server.url}/app/#/offers")

    click(phone.driver, ".offer-accept")

    wait(phone.driver, lambda d: f"apply?offer={offer.id}" in d.current_url)
    find(phone.driver, "#offer-lead")
    known = find(phone.driver, '[data-field="newborn_name"] .known-value')
    assert known.text == "Zhou Xiaoxue"
    assert Application.objects(applicant=str(mother.id)).count() == 0


def test_a_citizen_rates_a_finished_application_once(live_server, client, seeded, browsers):
    scene = scenes.story(client, phone="13900000033")
    phone = browsers(PHONE, "en")
    driver = phone.driver
    scenes.sign_in(phone, live_server.url, "app", scene["citizen"], "en")
    driver.get(f"{live_server.url}/app/#/applications/{scene['finished']}")

    find(driver, "#rating-form")
    click(driver, '#rating-score input[value="4"]')
    type_into(driver, 'textarea[name="comment"]', "Quick, and nobody sent me home for a paper.")
    click(driver, "#send-rating")

    wait(driver, lambda d: "Satisfied" in d.find_element("css selector", "#rating").text
         and not d.find_elements("css selector", "#rating-form"))
    ratings = client.get(f"/api/v1/applications/{scene['finished']}/ratings",
                         headers=scenes.bearer(scene["citizen"]), expect=200).get_json()
    assert [(r["score"], r["comment"]) for r in ratings if not r["task"]] == [
        (4, "Quick, and nobody sent me home for a paper.")]
    driver.refresh()  # given once: no second prompt
    find(driver, "#rating .rating-given")
    assert not driver.find_elements("css selector", "#rating-form")


def test_an_officer_answers_and_resolves_a_low_rating(live_server, client, seeded, browsers):
    scene = scenes.story(client, phone="13900000034", name="Zhou Lei")
    desktop = browsers(DESKTOP, "en")
    driver = desktop.driver
    scenes.sign_in(desktop, live_server.url, "workbench",
                   scenes.staff_tokens(client, "officer.health"), "en")
    driver.get(f"{live_server.url}/workbench/#/rectifications")

    case = find(driver, "#rectifications .rectification")
    assert "Zhou Lei" in case.text  # the comment, as the citizen wrote it
    type_into(driver, "#rectifications textarea", "We are sorry: the form is now on the ward.")
    click(driver, '#rectifications button[data-action="reply"]')
    find(driver, ".notice-ok")
    click(driver, '.tabs button[data-status="replied"]')
    type_into(driver, "#rectifications textarea", "Midwives hand the form over at birth now.")
    click(driver, '#rectifications button[data-action="resolve"]')
    wait(driver, lambda d: "may rate again" in d.find_element("css selector", ".notice-ok").text)

    ratings = client.get(f"/api/v1/applications/{scene['finished']}/ratings",
                         headers=scenes.bearer(scene["citizen"]), expect=200).get_json()
    [rated] = [r for r in ratings if r["task"]]
    assert rated["rectification"]["status"] == "resolved" and rated["may_rate_again"]
    assert rated["rectification"]["reply"]["text"] == "We are sorry: the form is now on the ward."


def test_an_agent_claims_and_answers_and_the_citizens_chat_shows_it_live(
        live_server, notification_worker, client, seeded, browsers):
    scenes.family("13900000035", name="Zhou Lei", spouse="Chen Jing", n=5)
    tokens = scenes.citizen_tokens(client, "13900000035")
    citizen, agent = browsers(PHONE, "en"), browsers(DESKTOP, "en")
    app, wb = citizen.driver, agent.driver
    scenes.sign_in(citizen, live_server.url, "app", tokens, "en")
    app.get(f"{live_server.url}/app/#/assistant")
    type_into(app, 'input[name="text"]', "I want to talk to a person")
    click(app, ".chat-form button[type=submit]")
    wait(app, lambda d: d.find_elements("css selector", ".handoff-card"))
    assert "number 1" in find(app, ".handoff-card").text
    app.execute_script("window.__sameDocument = 'still here';")
    conversation = Conversation.objects(status="waiting_for_staff").get()

    scenes.sign_in(agent, live_server.url, "workbench", scenes.staff_tokens(client, "agent"),
                   "en")
    wb.get(f"{live_server.url}/workbench/#/desk")
    click(wb, f'.desk-item[data-conversation="{conversation.id}"]')
    assert "I want to talk to a person" in find(wb, "#transcript").text
    click(wb, "#desk-claim")
    type_into(wb, 'textarea[name="text"]', "Hello, I am Li from the desk. How can I help?")
    click(wb, "#desk-send")
    wait(wb, lambda d: "Hello, I am Li" in d.find_element("css selector", "#transcript").text)

    wait(app, lambda d: any("Hello, I am Li from the desk" in e.text for e in d.find_elements(
        "css selector", "#chat li.from-staff")), timeout=30)
    assert app.execute_script("return window.__sameDocument") == "still here"
    assert "with you" in find(app, "#desk-status").text
    click(wb, "#desk-close")
    wait(wb, lambda d: not d.find_elements("css selector", "#desk-close"))
    for browser in (citizen, agent):
        browser.collect()
        assert not [u for u in browser.requested if "token" in u.lower()
                    or tokens["access_token"] in u]
