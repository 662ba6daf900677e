"""Every page of both clients in both languages: no serious or critical accessibility
violation (axe-core), and a citizen's name made of markup stays text everywhere it shows."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.web import scenes
from tests.web.support import DESKTOP, PHONE, find, run_axe, wait

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def scene(client, seeded):
    return scenes.story(client)


def test_every_page_passes_axe_in_both_languages(live_server, scene, client, browsers):
    phone, desktop = browsers(PHONE), browsers(DESKTOP)
    for who in {page[1] for page in scenes.PAGES} - {"anonymous", "citizen"}:
        scenes.staff_tokens_of(scene, client, who)  # signed in before the browsers share out
    # 长辈版: the app's pages again, bigger.
    large = [p for p in scenes.PAGES[:8] if p[0] == "app"] + [
        p for p in scenes.PAGES if p[2] in ("/offers", "/applications/{finished}")]
    visits = {
        phone: [(page, locale, False) for locale in ("zh-CN", "en")
                for page in scenes.PAGES if page[0] == "app"]
        + [(page, "zh-CN", True) for page in large],
        desktop: [(page, locale, False) for locale in ("zh-CN", "en")
                  for page in scenes.PAGES if page[0] == "workbench"],
    }

    def check(browser) -> dict:
        found = {}
        for page, locale, bigger in visits[browser]:
            scenes.visit(browser, live_server.url, page, scene, client, locale, large=bigger)
            assert browser.driver.execute_script("return document.documentElement.lang") == locale
            violations = run_axe(browser.driver)
            if violations:
                found[f"{locale}{' large' if bigger else ''} {page[0]}{page[2]}"] = violations
        return found

    # The phone and the desktop browser each go through their pages at the same time.
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(check, (phone, desktop)))
    found = {**results[0], **results[1]}
    assert not found, found


def test_a_name_made_of_markup_is_shown_as_text_on_every_page(live_server, client, seeded,
                                                              browsers):
    scene = scenes.story(client, phone="13900000002", name=XSS, baby=XSS, spouse=XSS)
    phone, desktop = browsers(PHONE, "en"), browsers(DESKTOP, "en")
    shown = {
        ("app", "citizen", "/", ".subject-name"),
        ("app", "citizen", "/applications", ".subject-name"),
        ("app", "citizen", "/applications/{application}", ".subject-name"),
        ("app", "citizen", "/me", "#my-name"),
        ("app", "citizen", "/me/family", ".member-name"),
        ("app", "citizen", "/bundles/newborn/apply", '[data-field="applicant_name"] .known-value'),
        ("workbench", "officer.medical_insurance", "/tasks/{task}", ".subject-name"),
        ("app", "citizen", "/offers", ".offer-value"),
        ("app", "citizen", "/", ".offer-value"),
        ("app", "citizen", "/applications/{finished}", ".rating-comment"),
        ("workbench", "officer.health", "/rectifications", ".rating-comment"),
        ("workbench", "agent", "/desk", ".citizen-name"),
        ("workbench", "agent", "/desk/{conversation}", ".citizen-name"),
        ("workbench", "agent", "/desk/{conversation}", ".subject-name"),
    }
    for page in sorted(shown):
        browser = phone if page[0] == "app" else desktop
        browser.driver.execute_script("window.alerted = []; window.alert = (m) => alerted.push(m);"
                                      if browser.driver.current_url.startswith("http") else "")
        scenes.visit(browser, live_server.url, page, scene, client, "en")
        driver = browser.driver
        wait(driver, lambda d, css=page[3]: any(
            XSS in e.text for e in d.find_elements("css selector", css)))
        assert driver.find_elements("css selector", 'img[src="x"], img[src$="/x"]') == [], page
        assert driver.execute_script("return document.querySelectorAll('[onerror]').length") == 0
    for browser in (phone, desktop):
        browser.collect()
        assert not [c for c in browser.console if "alert" in c["message"]]
        assert not [u for u in browser.requested if u.endswith("/x")], "the markup loaded an image"


def test_each_staff_role_sees_and_opens_only_its_own_pages(live_server, client, seeded,
                                                          browsers):
    desktop = browsers(DESKTOP, "en")
    driver = desktop.driver
    menus = {"officer.health": ["#/tasks", "#/rectifications", "#/figures", "#/handoffs"],
             "clerk.ruian-hospital": ["#/station", "#/station/applications", "#/handoffs"],
             "agent": ["#/desk"],
             "admin": ["#/figures", "#/handoffs", "#/admin/staff", "#/admin/deliveries"]}
    forbidden = {"officer.health": "/desk", "clerk.ruian-hospital": "/rectifications",
                 "agent": "/figures", "admin": "/rectifications"}
    homes = {"officer.health": "#/tasks", "clerk.ruian-hospital": "#/station",
             "agent": "#/desk", "admin": "#/admin/staff"}
    for username, menu in menus.items():
        scenes.sign_in(desktop, live_server.url, "workbench", scenes.staff_tokens(client, username),
                       "en")
        driver.get(f"{live_server.url}/workbench/#{forbidden[username]}")
        wait(driver, lambda d, u=username: d.current_url.endswith(homes[u]))
        find(driver, "main h1")

        def links(d):
            return [a.get_attribute("href").split("/workbench/", 1)[1]
                    for a in d.find_elements("css selector", "#nav a")]
        wait(driver, lambda d, m=menu: links(d) == m)
        assert driver.current_url.endswith(homes[username])
