"""The web clients: the citizen's app at /app/ and the staff workbench at /workbench/.

Static files only, served by the app itself (same origin); the pages call the public JSON API
/api/v1 from the browser. Nothing here imports services/, models/, notifications/ or assistant/.
"""
from pathlib import Path

from flask import Blueprint, redirect, request, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"

# No inline script or style: every script and stylesheet is a file of ours, same origin.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",  # blob: previews of a file before it is uploaded
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
])

blp = Blueprint("web", __name__)


@blp.after_request
def secure_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=()"
    # Pages and modules change with each release; the browser checks back (ETag) every time.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _client(name: str):
    return send_from_directory(STATIC / name, "index.html")


@blp.get("/app")
@blp.get("/workbench")
def without_slash():
    return redirect(request.path + "/", code=308)


@blp.get("/app/")
def citizen_app():
    return _client("app")


@blp.get("/workbench/")
def workbench():
    return _client("workbench")


@blp.get("/web/<path:filename>")
def shared_file(filename):
    """The clients' modules, texts, styles and vendored files."""
    return send_from_directory(STATIC, filename)
