"""Every kind of notification reads well in Chinese and English and carries no personal data."""
import pytest

from models.notification import NotificationType
from notifications import templates
from tests import workflow_support as ws
from tests.notifications.support import intent


@pytest.fixture(autouse=True)
def catalogue():
    ws.load_catalogue()


def render(type_, **kw):
    defaults = {"matter": "newborn_household_registration", "department": "public_security"}
    return templates.render(intent(type_, "citizen-1", **{**defaults, **kw}))


@pytest.mark.parametrize("kind", [k.value for k in NotificationType])
def test_every_kind_has_a_title_and_body_in_both_languages_with_catalogue_names(kind):
    texts = render(kind)

    for locale in ("zh-CN", "en"):
        assert texts["title"][locale] and texts["body"][locale]
        assert "{" not in texts["title"][locale] + texts["body"][locale]
    assert any(name in texts["body"]["en"] for name in
               ("Public Security Bureau", "Newborn household registration", "A baby is born"))
    assert any(name in texts["body"]["zh-CN"] for name in ("公安局", "新生儿出生户口登记",
                                                           "新生儿出生一件事"))


def test_a_supplement_request_names_the_materials_and_keeps_the_reason_for_the_inbox():
    texts = render("supplement_requested", data={
        "materials": ["marriage_certificate", "household_register"], "fields": ["bank_account"],
        "reason": "The photo of page 2 is blurred"})

    assert texts["body"]["en"] == (
        "Public Security Bureau needs more from you for “Newborn household registration”: "
        "Marriage certificate, Household register and some form answers.")
    assert "blurred" not in texts["body"]["en"] + texts["title"]["en"]
    assert texts["detail"] == {"en": "Reason: The photo of page 2 is blurred",
                               "zh-CN": "原因：The photo of page 2 is blurred"}


def test_the_application_level_texts_name_the_bundle():
    assert render("application_completed")["body"] == {
        "en": "Every matter of your “A baby is born” application is complete.",
        "zh-CN": "您的“新生儿出生一件事”申请所有事项已全部办结。"}


def test_codes_the_catalogue_does_not_know_still_read_sensibly():
    texts = render("task_completed", matter="unknown_matter", department=None,
                   data={"outputs": ["licence_number", "DROP TABLE", 42]})

    assert texts["title"]["en"] == "A department finished"
    assert texts["body"]["en"] == ("A department completed “unknown_matter”; issued: "
                                   "licence number.")


def test_a_staff_message_goes_to_the_inbox_alone_and_its_push_reads_well_without_a_bundle():
    texts = templates.render(intent("staff_message", "citizen-1", bundle=None, data={
        "conversation": "c-1", "message": "您好，请问宝宝出生几天了？"}))

    assert texts["detail"] == {"zh-CN": "您好，请问宝宝出生几天了？",
                               "en": "您好，请问宝宝出生几天了？"}
    assert texts["body"]["en"] == ("A member of our service desk replied in your conversation. "
                                   "Open the app to read it.")
    assert "宝宝" not in texts["body"]["zh-CN"] + texts["title"]["zh-CN"]
