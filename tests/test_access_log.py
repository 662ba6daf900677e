"""gunicorn's access log, as `make serve` configures it, over requests carrying a signed material
link and a token in the query string (and a link as referer): neither is ever written. The
canary runs in one process without gunicorn, so this is where its access log is searched."""
import datetime
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

import manage

LINK = "canary-signed-link-7f3a9c"
TOKEN = "canary-access-token-51d2e8"


def serve_logger(path) -> Logger:
    """gunicorn's logger from the very command line `make serve` runs, its access log to a file."""
    argv = manage.api("serve", SimpleNamespace(PORT=5000)).argv
    options = argv[argv.index("gunicorn") + 1:]
    config = Config()
    parsed = config.parser().parse_args(options)
    for name, value in vars(parsed).items():
        if value is not None and name in config.settings and name != "args":
            config.set(name, value)
    config.set("accesslog", str(path))
    return Logger(config)


def test_the_serve_access_log_writes_no_signed_link_and_no_token(tmp_path):
    log_file = tmp_path / "access.log"
    logger = serve_logger(log_file)
    requests = [
        f"/api/v1/materials/6751f0c2a1b2c3d4e5f60719/content?link={LINK}&download=1",
        f"/api/v1/me?access_token={TOKEN}",
        f"/api/v1/me/events?token={TOKEN}",
    ]
    for uri in requests:
        path, _, query = uri.partition("?")
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": uri, "PATH_INFO": path,
                   "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "canary",
                   "HTTP_REFERER": f"https://h5.example.gov.cn/app/?link={LINK}"}
        response = SimpleNamespace(status="200 OK", sent=12, headers=[])
        request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {TOKEN}")])
        logger.access(response, request, environ, datetime.timedelta(milliseconds=7))
    for handler in logger.access_log.handlers:
        handler.flush()

    written = log_file.read_text()
    assert written.count("\n") == len(requests)  # control: each request was logged
    assert "/api/v1/materials/6751f0c2a1b2c3d4e5f60719/content" in written
    assert LINK not in written and TOKEN not in written
