"""A mini-program platform stand-in on 127.0.0.1 for WeChat and Alipay: signing in (WeChat's
code2Session, Alipay's alipay.system.oauth.token) with codes the test issues, and subscription
messages (WeChat's stable_token and subscribe/send, Alipay's templatemessage.send).

    with MiniProgramPlatformStandin() as platform:
        app.config.update(platform.settings())
        code = platform.issue_code("wechat", "openid-1")   # the mini-program's wx.login()
        ... platform.requests ...    # every request: method, path, query, params, headers, raw
        ... platform.sent ...        # the subscription messages accepted, in order
        platform.unavailable = True           # 503 until set back
        platform.refuse_subscriptions = True  # WeChat answers 43101 to sends
        platform.tamper_answers = True        # Alipay answers changed after they were signed

Alipay's answers are signed with the stand-in's own platform key (`platform_key`), whose public
half `settings()` gives as the configured public key, as Alipay's console would.
"""
import base64
import json
import secrets
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from standins.server import HOST, Handler, Standin

WECHAT_APP = ("wx-standin-app", "wx-standin-secret")
ALIPAY_APP = "2021000000000000"
ALIPAY_SEND = "alipay.open.app.mini.templatemessage.send"
# One token for every instance: the app caches it per app id across stand-ins.
WECHAT_ACCESS_TOKEN = "wx-token"


class _PlatformHandler(Handler):
    def _serve(self, params: dict, raw: bytes) -> None:
        standin = self.standin
        parts = urlsplit(self.path)
        path = parts.path
        request = {"method": self.command, "path": path, "query": dict(parse_qsl(parts.query)),
                   "params": params, "headers": dict(self.headers), "raw": raw}
        with standin._lock:
            standin.requests.append(request)
        if standin.unavailable:
            return self.reply(503, {"error": "unavailable"})
        if path == "/sns/jscode2session" and self.command == "GET":
            return self.reply(200, standin.wechat(params))
        if path == "/cgi-bin/stable_token" and self.command == "POST":
            return self.reply(200, standin.wechat_token(json.loads(raw or b"{}")))
        if path == "/cgi-bin/message/subscribe/send" and self.command == "POST":
            return self.reply(200, standin.wechat_send(request["query"],
                                                       json.loads(raw or b"{}")))
        if path == "/gateway.do" and self.command == "POST":
            return self.reply_text(200, standin.signed(standin.alipay(params)))
        return self.reply(404, {"error": "not found"})

    def reply_text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._serve(dict(parse_qsl(urlsplit(self.path).query)), b"")

    def do_POST(self):  # noqa: N802
        raw = self.body()
        form = self.headers.get("Content-Type", "").startswith("application/x-www-form")
        self._serve(dict(parse_qsl(raw.decode(), keep_blank_values=True)) if form else {}, raw)


class MiniProgramPlatformStandin(Standin):
    name = "miniprogram-standin"
    handler = _PlatformHandler

    def __init__(self, host: str = HOST, port: int = 0):
        super().__init__(host, port)
        self.codes: dict[tuple[str, str], dict] = {}  # (platform, code) → {"subject", "key"}
        self.used: set[tuple[str, str]] = set()
        self.requests: list[dict] = []
        self.sent: list[dict] = []  # accepted subscription messages: platform, to, template...
        self.unavailable = False
        self.refuse_subscriptions = False
        self.tamper_answers = False
        self.alipay_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # ours
        self.platform_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def settings(self) -> dict:
        private_pem = self.alipay_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        return {"MINIPROGRAM_ADAPTER": "http", "MINIPROGRAM_PLATFORMS": {
            "wechat": {"base_url": self.url, "app_id": WECHAT_APP[0], "app_secret": WECHAT_APP[1]},
            "alipay": {"base_url": self.url, "app_id": ALIPAY_APP, "private_key": private_pem,
                       "public_key": self.platform_key.public_key().public_bytes(
                           serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()},
        }}

    def issue_code(self, platform: str, subject: str, session_key: str | None = None) -> str:
        """A one-time code for a platform user, as the mini-program's login API would give."""
        code = secrets.token_hex(8)
        self.codes[(platform, code)] = {"subject": subject,
                                        "key": session_key or secrets.token_urlsafe(16)}
        return code

    def session_key(self, platform: str, code: str) -> str:
        return self.codes[(platform, code)]["key"]

    def _redeem(self, platform: str, code: str) -> tuple[str, dict | None]:
        with self._lock:
            if (platform, code) in self.used:
                return "used", None
            grant = self.codes.get((platform, code))
            if grant is None:
                return "invalid", None
            self.used.add((platform, code))
            return "ok", grant

    # -- WeChat ------------------------------------------------------------------------------
    def wechat(self, params: dict) -> dict:
        if (params.get("appid"), params.get("secret")) != WECHAT_APP:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        outcome, grant = self._redeem("wechat", params.get("js_code", ""))
        if outcome == "used":
            return {"errcode": 40163, "errmsg": "code been used"}
        if outcome == "invalid":
            return {"errcode": 40029, "errmsg": "invalid code"}
        return {"openid": grant["subject"], "session_key": grant["key"]}

    def wechat_token(self, body: dict) -> dict:
        if (body.get("appid"), body.get("secret")) != WECHAT_APP:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return {"access_token": WECHAT_ACCESS_TOKEN, "expires_in": 7200}

    def wechat_send(self, query: dict, message: dict) -> dict:
        if query.get("access_token") != WECHAT_ACCESS_TOKEN:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if self.refuse_subscriptions:
            return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        with self._lock:
            self.sent.append({"platform": "wechat", "to": message.get("touser"),
                              "template": message.get("template_id"),
                              "data": message.get("data") or {}})
        return {"errcode": 0, "errmsg": "ok", "msgid": 42}

    # -- Alipay ------------------------------------------------------------------------------
    def _signature_ok(self, params: dict) -> bool:
        signed = {k: v for k, v in params.items() if k != "sign" and v != ""}
        content = "&".join(f"{k}={signed[k]}" for k in sorted(signed)).encode()
        try:
            self.alipay_key.public_key().verify(base64.b64decode(params.get("sign", "")),
                                                content, padding.PKCS1v15(), hashes.SHA256())
            return True
        except Exception:
            return False

    def signed(self, answer: dict) -> str:
        """The answer as Alipay sends it: `{"<method>_response": {...}, "sign": "<RSA2 of the
        member's exact JSON text>"}`; with `tamper_answers`, the member changed after signing."""
        [(key, value)] = answer.items()
        content = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        signature = base64.b64encode(self.platform_key.sign(
            content.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        if self.tamper_answers:
            content = content.replace('"user_id":"', '"user_id":"9')
            content = content.replace('"code":"10000"', '"code":"10000","tampered":true')
        return f'{{"{key}":{content},"sign":"{signature}"}}'

    def alipay(self, params: dict) -> dict:
        if params.get("app_id") != ALIPAY_APP or not self._signature_ok(params):
            return {"error_response": {"code": "40002", "msg": "Invalid Arguments",
                                       "sub_code": "isv.invalid-signature"}}
        if params.get("method") == ALIPAY_SEND:
            content = json.loads(params.get("biz_content") or "{}")
            with self._lock:
                self.sent.append({"platform": "alipay",
                                  "to": content.get("to_user_id") or content.get("to_open_id"),
                                  "template": content.get("user_template_id"),
                                  "data": json.loads(content.get("data") or "{}")})
            return {"alipay_open_app_mini_templatemessage_send_response": {
                "code": "10000", "msg": "Success"}}
        outcome, grant = self._redeem("alipay", params.get("code", ""))
        if outcome != "ok":
            return {"error_response": {"code": "40002", "msg": "Invalid Arguments",
                                       "sub_code": f"isv.code-{outcome}"}}
        return {"alipay_system_oauth_token_response": {
            "user_id": grant["subject"], "access_token": grant["key"], "expires_in": 1296000}}
