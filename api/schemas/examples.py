"""An example for every request body of the OpenAPI document, keyed by its schema's name.

Each is a request the API accepts (a test validates every one against its schema); a body
schema without an example here fails that test, so a new route comes with one.
The secrets below (`# nosec B105`) are made-up placeholders shown in the documentation.
"""

ID_NUMBER = "330381199003071018"  # a made-up number that passes the GB 11643 checksum
SPOUSE_ID_NUMBER = "33038119900307100X"
PHONE = "13800138000"
NAME = {"zh-CN": "新生儿出生一件事", "en": "A baby is born"}
DESCRIPTION = {"zh-CN": "一张表、一次办、一小时。", "en": "One form, one visit, one hour."}
MATTER = {
    "code": "newborn_name_registration", "name": {"zh-CN": "新生儿取名登记", "en": "Name the baby"},
    "description": DESCRIPTION, "department": "public_security", "level": "county",
    "region": "330381",
    "fields": [{"name": "newborn_name", "type": "string", "required": True,
                "label": {"zh-CN": "新生儿姓名", "en": "Baby's name"}, "personal": "name"}],
    "materials": ["parent_id_card"],
    "outputs": [{"name": "registration_number", "label": {"zh-CN": "登记号",
                                                          "en": "Registration number"},
                 "pattern": "^\\d{8}$"}],
    "promised": {"value": 15, "unit": "minutes"},
    "statutory": {"value": 5, "unit": "working_days"},
    "synonyms": ["取名", "baby name"],
}
BUNDLE = {
    "code": "newborn_lite", "name": NAME, "description": DESCRIPTION, "life_event": "birth",
    "subject": "newborn",
    "steps": [{"matter": "birth_medical_certificate"},
              {"matter": "newborn_household_registration",
               "depends_on": ["birth_medical_certificate"]}],
    "synonyms": ["生孩子"], "visits_after": 0,
}
NEWBORN_FORM = {"newborn_name": "王小明", "newborn_gender": "male",
                "newborn_birth_date": "2026-12-01", "contact_phone": PHONE}

REQUEST_EXAMPLES = {
    "ApplicationCreate": {"bundle": "newborn", "subject": {"kind": "newborn"},
                          "form": NEWBORN_FORM, "materials": ["6751f0c2a1b2c3d4e5f60718"],
                          "region": "330381"},
    "AssistedApplicationCreate": {"consent": "c-6751f0c2", "bundle": "newborn",
                                  "subject": {"kind": "newborn"}, "form": NEWBORN_FORM,
                                  "materials": ["6751f0c2a1b2c3d4e5f60718"],
                                  "originals_checked": ["parent_id_card"]},
    "BundleCreate": BUNDLE,
    "BundleUpdate": {"synonyms": ["生孩子", "生娃"], "visits_after": 0},
    "ClientCredentials": {"grant_type": "client_credentials", "client_id": "hospital-his",
                          "client_secret": "s3cr3t-from-the-admin", "scope": "life_events:write"},  # nosec B105
    "DeskMessageCreate": {"text": "您好，我是瑞安市便民服务中心的工作人员，请问有什么可以帮您？"},
    "DeviceCreate": {"token": "fcm-registration-token-from-the-phone", "platform": "android",  # nosec B105
                     "locale": "zh-CN"},
    "FamilyMemberCreate": {"relation": "spouse", "name": "李红", "id_number": SPOUSE_ID_NUMBER},
    "LifeEventCreate": {"event_id": "his-2026-000123", "type": "birth", "bundle": "newborn",
                        "occurred_at": "2026-12-01T08:30:00Z", "region": "330381",
                        "people": [{"role": "mother", "id_number": SPOUSE_ID_NUMBER,
                                    "name": "李红"}],
                        "facts": {"birth_hospital": "瑞安市人民医院"}},
    "LocalImplementationUpdate": {"promised": {"value": 30, "unit": "minutes"}},
    "Login": {"phone": PHONE, "code": "123456"},
    "MaterialLinkCreate": {"task": "6751f0c2a1b2c3d4e5f60719"},
    "MaterialReview": {"decision": "verified", "task": "6751f0c2a1b2c3d4e5f60719"},
    "MaterialUpload": {"file": "(the photo or PDF, as a file part)", "type": "parent_id_card"},
    "MatterCreate": MATTER,
    "MatterUpdate": {"promised": {"value": 10, "unit": "minutes"}},
    "MeUpdate": {"name": "王伟", "locale": "zh-CN", "proactive_offers": True,
                 "region": "330381"},
    "MessageCreate": {"text": "生孩子要办哪些手续？", "locale": "zh-CN"},
    "MiniProgramBind": {"ticket": "bind-ticket-from-the-403", "phone": PHONE, "code": "123456"},
    "MiniProgramLogin": {"platform": "wechat", "code": "code-from-wx.login"},
    "OfferAccept": {"form": {"contact_phone": PHONE}, "materials": []},
    "OtpRequest": {"phone": PHONE, "purpose": "login"},
    "PartnerCreate": {"name": "瑞安市人民医院 HIS", "client_id": "hospital-his",
                      "scopes": ["life_events:write", "webhooks"],
                      "webhook_url": "https://his.example.org/onething/webhook",
                      "events": ["application.completed"]},
    "PartnerUpdate": {"active": False},
    "PreferencesUpdate": {"channels": {"push": True, "miniprogram": True, "sms": False},
                          "quiet_hours": {"start": "22:00", "end": "07:00"},
                          "timezone": "Asia/Shanghai"},
    "RatingCreate": {"score": 5, "tags": ["fast"], "comment": "一次都没跑，很方便。"},
    "RealName": {"name": "王伟", "id_number": ID_NUMBER},
    "RectificationText": {"text": "对您多跑一趟深表歉意，我们已调整材料清单。"},
    "Refresh": {"refresh_token": "the-refresh-token-of-the-last-sign-in"},  # nosec B105
    "StaffCreate": {"username": "officer.public_security.2", "password": "a-long-passphrase",  # nosec B105
                    "role": "officer", "name": "陈警官", "locale": "zh-CN",
                    "department": "public_security", "region": "330381"},
    "StaffLogin": {"username": "officer.public_security", "password": "onething-dev"},  # nosec B105
    "StaffUpdate": {"active": False},
    "StationConsentCreate": {"phone": PHONE},
    "StationConsentVerify": {"phone": PHONE, "code": "123456"},
    "StationScanFile": {"file": "(the scanned page, as a file part)"},
    "SubscriptionRecord": {"platform": "wechat", "accepted": ["tmpl-application-progress"],
                           "rejected": []},
    "SupplementAnswer": {"materials": ["6751f0c2a1b2c3d4e5f60718"],
                         "form": {"residence_address": "瑞安市安阳街道万松路 1 号"}},
    "SupplementRequest": {"materials": ["marriage_certificate"], "fields": [],
                          "reason": "结婚证照片不清晰，请重新上传。"},
    "TaskComplete": {"outputs": {"citizen_id_number": ID_NUMBER}, "note": "绿色通道办结"},
    "TaskReject": {"reason": "出生医学证明信息与申请不符。"},
    "WebhookReplay": {"since": "2026-12-01T00:00:00Z"},
}
