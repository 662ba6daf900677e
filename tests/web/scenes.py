"""Data for the browser tests and `make screenshots`: the seeded catalogue, a family, an
application part-way, and signing a browser in without typing (tokens put in Web Storage)."""
import io
import json
from datetime import UTC, date, datetime, timedelta

from cli.loop import sweep_once
from cli.users import seed_development_accounts
from models.application import Application
from models.user import User
from notifications import relay as outbox
from services.identity import numbers
from services.offers import offers
from tests import loop_support as loop
from tests import material_files as files
from tests import workflow_support as ws
from tests.helpers import make_citizen, make_family_member
from tests.web.support import present, wait

PASSWORD = "onething-dev"
FATHER_ID = numbers.make_id_number("330381", date(1990, 6, 1), 12, "male")
MOTHER_ID = numbers.make_id_number("330381", date(1992, 2, 3), 34, "female")


def seed() -> None:
    ws.load_catalogue()
    seed_development_accounts()


def citizen_tokens(client, phone: str) -> dict:
    code = client.post("/api/v1/auth/otp", json={"phone": phone}, expect=202).get_json()
    return client.post("/api/v1/auth/login", json={"phone": phone, "code": code["debug_code"]},
                       expect=200).get_json()


def staff_tokens(client, username: str) -> dict:
    return client.post("/api/v1/auth/staff-login",
                       json={"username": username, "password": PASSWORD}, expect=200).get_json()


def staff_tokens_of(scene: dict, client, username: str) -> dict:
    """One staff sign-in per account and scene: a password check is slow on purpose."""
    signed = scene.setdefault("staff_tokens", {})
    if username not in signed:
        signed[username] = staff_tokens(client, username)
    return signed[username]


def family(phone: str, *, name: str = "Zhou Lei", spouse: str = "Chen Jing", n: int = 1):
    """A verified citizen with a spouse (every personal answer of the newborn form prefilled)."""
    father = make_citizen(phone=phone, name=name,
                          id_number=numbers.make_id_number("330381", date(1990, 6, n), 12 + n,
                                                            "male"))
    make_family_member(father, "spouse", name=spouse,
                       id_number=numbers.make_id_number("330381", date(1992, 2, n), 34 + n,
                                                         "female"))
    return father


def apply_newborn(client, tokens: dict, *, baby: str = "Zhou Xiaoyu", key: str = "scene") -> dict:
    """The newborn application through the API, with four real uploads."""

    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    ids = []
    for type_code, content, name in (("parent_id_card", files.jpeg(), "id.jpg"),
                                     ("household_register", files.jpeg(colour=(1, 2, 3)), "h.jpg"),
                                     ("marriage_certificate", files.png(), "m.png"),
                                     ("birth_registration_form", files.pdf(), "f.pdf")):
        response = client.post("/api/v1/materials", headers=headers,
                               data={"type": type_code, "file": (io.BytesIO(content), name)},
                               content_type="multipart/form-data")
        assert response.status_code in (200, 201), response.get_data(as_text=True)  # 200: kept
        ids.append(response.get_json()["id"])
    body = {"bundle": "newborn", "subject": {"kind": "newborn"},
            "form": ws.newborn_form(newborn_name=baby), "materials": ids}
    return client.post("/api/v1/applications", json=body, expect=201,
                       headers={**headers, "Idempotency-Key": key}).get_json()


def finish(client, application_id: str, matter: str) -> None:
    """An officer of the matter's department claims and completes its task through the API."""
    department = ws.NEWBORN_STEPS[matter][0]
    token = staff_tokens(client, f"officer.{department}")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    queue = client.get("/api/v1/workbench/tasks", headers=headers, expect=200,
                       query_string={"status": "pending"}).get_json()
    task = next(t["id"] for t in queue if t["matter"] == matter
                and t["application"]["id"] == application_id)
    client.post(f"/api/v1/workbench/tasks/{task}/claim", headers=headers, expect=200)
    client.post(f"/api/v1/workbench/tasks/{task}/complete", headers=headers, expect=200,
                json={"outputs": ws.outputs_for(matter)})


def relay() -> None:
    """Move outbox intents into the inbox now (what the worker does each round)."""

    outbox.relay_pending(limit=1000)


def _on_client(browser, base: str, client: str) -> None:
    """On a page of the client's origin and path, so its Web Storage can be written (a page
    of it already open will do: one load fewer)."""
    if not browser.driver.current_url.startswith(f"{base}/{client}/"):
        browser.driver.get(f"{base}/{client}/")


def sign_in(browser, base: str, client: str, tokens: dict, locale: str = "zh-CN",
            large: bool = False) -> None:
    """Put a session in the browser's Web Storage as the sign-in page would."""

    storage, key = (("localStorage", "onething.app.session") if client == "app"
                    else ("sessionStorage", "onething.workbench.session"))
    _on_client(browser, base, client)
    session = {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
               "user": tokens["user"]}
    browser.driver.execute_script(
        f"{storage}.setItem(arguments[0], arguments[1]);"
        "localStorage.setItem('onething.locale', arguments[2]);"
        "localStorage.setItem('onething.app.large', arguments[3]);",
        key, json.dumps(session), locale, "1" if large else "0")
    browser.driver.get("about:blank")  # the next page starts afresh and reads the storage




# Every page of both clients: (client, who, path, what shows once it is drawn). `who` is
# "anonymous", "citizen", or a staff username; paths may name {application} and {task}.
PAGES = [
    ("app", "anonymous", "/", ".bundle-card"),
    ("app", "anonymous", "/sign-in", "#send-code"),
    ("app", "anonymous", "/bundles/newborn", "svg.graph"),
    ("app", "citizen", "/", "#my-apps ~ div .app-item, #my-apps + div .app-item"),
    ("app", "citizen", "/bundles/newborn", ".checklist .status"),
    ("app", "citizen", "/bundles/newborn/apply", "#apply-form .upload"),
    ("app", "citizen", "/applications", ".app-item"),
    ("app", "citizen", "/applications/{application}", "#timeline li"),
    ("app", "citizen", "/inbox", "#inbox-list .notification"),
    ("app", "citizen", "/assistant", "#chat li"),
    ("app", "citizen", "/me", "#my-name"),
    ("app", "citizen", "/me/family", "#family-list .family-member"),
    ("app", "citizen", "/me/notifications", "#save-preferences"),
    ("app", "citizen", "/offers", "#offers-list .offer"),
    ("app", "citizen", "/applications/{finished}", "#rating-form"),
    ("workbench", "anonymous", "/sign-in", "#staff-sign-in"),
    ("workbench", "officer.medical_insurance", "/tasks", "#queue-table table"),
    ("workbench", "officer.medical_insurance", "/tasks/{task}", "#complete-form"),
    ("workbench", "officer.medical_insurance", "/handoffs", "#handoffs"),
    ("workbench", "clerk.ruian-hospital", "/station", "#send-consent"),
    ("workbench", "clerk.ruian-hospital", "/station/applications", "#station-applications"),
    ("workbench", "admin", "/admin/staff", "#staff table"),
    ("workbench", "admin", "/admin/deliveries", "#deliveries"),
    ("workbench", "officer.health", "/rectifications", "#rectifications .rectification"),
    ("workbench", "officer.health", "/figures", "#ratings-summary"),
    ("workbench", "agent", "/desk", "#desk-queue .desk-item"),
    ("workbench", "agent", "/desk/{conversation}", "#transcript li"),
]


def story(client, *, phone: str = "13900000001", name: str = "Zhou Lei",
          baby: str = "Zhou Xiaoyu", spouse: str = "Chen Jing") -> dict:
    """A family part-way through the newborn application: two matters done, the police asking
    for a clearer household register, the maternity benefit claimed by its officer. Before it,
    their first child's application, finished, one matter of it rated 1 with a comment (a case
    at the hospital's desk); an offer waiting; and the parent asking the assistant for a
    person."""
    father = family(phone, name=name, spouse=spouse)
    tokens = citizen_tokens(client, phone)
    finished = finished_application(client, tokens, baby=f"{baby} I",
                                    comment=f"{name}: 窗口让我回家拿户口本，多跑了一趟。")
    offer(father, baby=baby, key=f"scene-{phone}")
    conversation = ask_for_a_person(client, tokens)
    application = apply_newborn(client, tokens, baby=baby)
    finish(client, application["id"], "birth_medical_certificate")
    finish(client, application["id"], "vaccination_certificate")
    police = {"Authorization": "Bearer " + staff_tokens(client, "officer.public_security")[
        "access_token"]}
    registration = _pending(client, police, application["id"], "newborn_household_registration")
    client.post(f"/api/v1/workbench/tasks/{registration}/claim", headers=police, expect=200)
    client.post(f"/api/v1/workbench/tasks/{registration}/supplement-request", headers=police,
                expect=200, json={"materials": ["household_register"],
                                  "reason": "The photo of the household register is blurred"})
    insurance = {"Authorization": "Bearer " + staff_tokens(client, "officer.medical_insurance")[
        "access_token"]}
    task = _pending(client, insurance, application["id"], "maternity_insurance_benefit")
    client.post(f"/api/v1/workbench/tasks/{task}/claim", headers=insurance, expect=200)
    sweep_once()  # the reform figures and ratings counted, as the loop's sweep does
    relay()
    return {"application": application["id"], "task": task, "citizen": tokens,
            "finished": finished, "conversation": conversation}


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def finished_application(client, tokens: dict, *, baby: str, comment: str,
                         key: str = "scene-finished") -> str:
    """A newborn application every department finished, its birth certificate rated 1."""
    application = apply_newborn(client, tokens, baby=baby, key=key)
    # The development officers work it through the services: the same transitions as their
    # clicks, without a password check per department.
    officers = {d: User.objects.get(username=f"officer.{d}") for d in ws.NEWBORN_DEPARTMENTS}
    loop.finish(Application.objects.get(id=application["id"]), officers)
    done = client.get(f"/api/v1/applications/{application['id']}", headers=bearer(tokens),
                      expect=200).get_json()
    task = next(t["id"] for t in done["tasks"] if t["matter"] == "birth_medical_certificate")
    client.post(f"/api/v1/applications/{application['id']}/ratings", headers=bearer(tokens),
                json={"task": task, "score": 1, "comment": comment}, expect=201)
    return application["id"]


def offer(citizen, *, baby: str, key: str, complete: bool = True):
    """A hospital's birth report made into the citizen's offer; complete: every answer the
    joint form needs is in it, so accepting needs nothing more."""
    form = ws.newborn_form(newborn_name=baby) if complete else {"newborn_name": baby}
    return offers.make_offer(
        citizen_id=str(citizen.id), key=key, source="life_event", bundle="newborn",
        subject={"kind": "newborn"}, region="330381",
        prefill={"form": form, "facts": {"birth_certificate_number": "R330381009"}},
        expires_at=datetime.now(UTC) + timedelta(days=30))


def ask_for_a_person(client, tokens: dict, text: str = "我要人工服务") -> str:
    """The citizen asks the assistant for a person: the conversation waits at the desk."""
    answer = client.post("/api/v1/assistant/messages", headers=bearer(tokens),
                         json={"text": text, "locale": "zh-CN"}, expect=200).get_json()
    assert answer["nlu"]["intent"] == "handoff_human", answer
    return answer["conversation_id"]


def _pending(client, headers, application_id: str, matter: str) -> str:
    queue = client.get("/api/v1/workbench/tasks", headers=headers, expect=200,
                       query_string={"status": "pending"}).get_json()
    return next(t["id"] for t in queue if t["matter"] == matter
                and t["application"]["id"] == application_id)


def visit(browser, base: str, page: tuple, scene: dict, client, locale: str,
          large: bool = False) -> None:
    """Open one page of PAGES as its user, in `locale`, and wait until it is drawn."""

    app, who, path, ready = page
    if who == "anonymous":
        _on_client(browser, base, app)
        browser.driver.execute_script(
            "localStorage.clear(); sessionStorage.clear();"
            "localStorage.setItem('onething.locale', arguments[0]);"
            "localStorage.setItem('onething.app.large', arguments[1]);",
            locale, "1" if large else "0")
        browser.driver.get("about:blank")  # the next page starts afresh and reads the storage
    else:
        tokens = scene["citizen"] if who == "citizen" else staff_tokens_of(scene, client, who)
        sign_in(browser, base, app, tokens, locale, large)
    browser.driver.get(f"{base}/{app}/#{path.format(**scene)}")
    try:
        present(browser.driver, ready, timeout=30)
    except Exception:
        browser.collect()
        main = browser.driver.execute_script(
            "return (document.querySelector('main') || document.body).innerText")
        raise AssertionError(f"{app}{path} ({locale}) never showed {ready!r}: {main[:500]!r}; "
                             f"console: {browser.console[-5:]}") from None
    wait(browser.driver, lambda d: d.execute_script(
        "return !document.querySelector('main[aria-busy]') && document.fonts.status === 'loaded'"
        " && document.documentElement.lang === arguments[0]", locale))
