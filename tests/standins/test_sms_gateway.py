"""The SMS gateway stand-in: what it tells the load generator of the codes it received."""
import json
import urllib.request

from notifications.sms import HttpSms
from standins.sms_gateway import SmsGatewayStandin


def test_the_sms_stand_in_tells_the_load_generator_the_code_it_received():
    with SmsGatewayStandin(key="k", secret="s") as gateway:
        HttpSms(gateway.url, "k", "s", 5).send("13800001234",
                                               "【一件事】您的验证码是 482913，5 分钟内有效")

        with urllib.request.urlopen(f"{gateway.url}/_standin/code?to=13800001234") as answer:
            assert json.load(answer) == {"code": "482913"}
