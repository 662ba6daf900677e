"""A mini-program platform stand-in on 127.0.0.1: WeChat's code2Session and Alipay's
alipay.system.oauth.token, for codes the test issues.

    with MiniProgramPlatformStandin() as platform:
        app.config.update(platform.settings())
        code = platform.issue_code("wechat", "openid-1")   # the mini-program's wx.login()
        ... platform.requests ...                         # what the server sent, in order
        platform.unavailable = True                       # 503 until set back
"""
import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

WECHAT_APP = ("wx-standin-app", "wx-standin-secret")
ALIPAY_APP = "2021000000000000"


class MiniProgramPlatformStandin:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.codes: dict[tuple[str, str], dict] = {}  # (platform, code) → {"subject", "key"}
        self.used: set[tuple[str, str]] = set()
        self.requests: list[dict] = []
        self.unavailable = False
        self.alipay_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def settings(self) -> dict:
        private_pem = self.alipay_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        return {"MINIPROGRAM_ADAPTER": "http", "MINIPROGRAM_PLATFORMS": {
            "wechat": {"base_url": self.url, "app_id": WECHAT_APP[0], "app_secret": WECHAT_APP[1]},
            "alipay": {"base_url": self.url, "app_id": ALIPAY_APP, "private_key": private_pem},
        }}

    def issue_code(self, platform: str, subject: str, session_key: str | None = None) -> str:
        """A one-time code for a platform user, as the mini-program's login API would give."""
        code = secrets.token_hex(8)
        self.codes[(platform, code)] = {"subject": subject,
                                        "key": session_key or secrets.token_urlsafe(16)}
        return code

    def session_key(self, platform: str, code: str) -> str:
        return self.codes[(platform, code)]["key"]

    def __enter__(self) -> "MiniProgramPlatformStandin":
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="miniprogram-standin").start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _redeem(self, platform: str, code: str) -> tuple[str, dict | None]:
        with self._lock:
            if (platform, code) in self.used:
                return "used", None
            grant = self.codes.get((platform, code))
            if grant is None:
                return "invalid", None
            self.used.add((platform, code))
            return "ok", grant

    def wechat(self, params: dict) -> dict:
        if (params.get("appid"), params.get("secret")) != WECHAT_APP:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        outcome, grant = self._redeem("wechat", params.get("js_code", ""))
        if outcome == "used":
            return {"errcode": 40163, "errmsg": "code been used"}
        if outcome == "invalid":
            return {"errcode": 40029, "errmsg": "invalid code"}
        return {"openid": grant["subject"], "session_key": grant["key"]}

    def _signature_ok(self, params: dict) -> bool:
        signed = {k: v for k, v in params.items() if k != "sign" and v != ""}
        content = "&".join(f"{k}={signed[k]}" for k in sorted(signed)).encode()
        try:
            self.alipay_key.public_key().verify(base64.b64decode(params.get("sign", "")),
                                                content, padding.PKCS1v15(), hashes.SHA256())
            return True
        except Exception:
            return False

    def alipay(self, params: dict) -> dict:
        if params.get("app_id") != ALIPAY_APP or not self._signature_ok(params):
            return {"error_response": {"code": "40002", "msg": "Invalid Arguments",
                                       "sub_code": "isv.invalid-signature"}}
        outcome, grant = self._redeem("alipay", params.get("code", ""))
        if outcome != "ok":
            return {"error_response": {"code": "40002", "msg": "Invalid Arguments",
                                       "sub_code": f"isv.code-{outcome}"}}
        return {"alipay_system_oauth_token_response": {
            "user_id": grant["subject"], "access_token": grant["key"], "expires_in": 1296000}}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, answer: dict) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, params: dict) -> None:
                path = urlsplit(self.path).path
                standin.requests.append({"method": self.command, "path": path, "params": params})
                if standin.unavailable:
                    return self._reply(503, {"error": "unavailable"})
                if path == "/sns/jscode2session" and self.command == "GET":
                    return self._reply(200, standin.wechat(params))
                if path == "/gateway.do" and self.command == "POST":
                    return self._reply(200, standin.alipay(params))
                return self._reply(404, {"error": "not found"})

            def do_GET(self):  # noqa: N802
                self._serve(dict(parse_qsl(urlsplit(self.path).query)))

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._serve(dict(parse_qsl(body, keep_blank_values=True)))

            def log_message(self, *args):
                pass

        return Handler
