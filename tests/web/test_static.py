"""The web clients' files, without a browser: served with their security headers, the layer's
imports, no inline script or style, no HTML built from data, texts in both languages."""
import ast
import json
import re

from tests.web.support import ROOT

WEB = ROOT / "web"
STATIC = WEB / "static"
SCRIPTS = sorted(STATIC.rglob("*.js"))


def test_web_imports_nothing_below_the_api():
    for path in WEB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in {"services", "models", "notifications",
                                                  "assistant", "api"}, f"{path}: {name}"


def test_pages_are_served_with_a_content_security_policy(client):
    for path in ("/app/", "/workbench/", "/web/app/main.js", "/web/i18n/en.json"):
        response = client.get(path, expect=200)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/app", expect=308).headers["Location"].endswith("/app/")
    assert client.get("/web/../config/__init__.py").status_code == 404


def test_no_inline_script_or_style_and_no_html_from_data():
    for page in (STATIC / "app" / "index.html", STATIC / "workbench" / "index.html"):
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page
        assert " style=" not in html and "<style" not in html
        assert not re.search(r"\son[a-z]+=", html), page
    for script in SCRIPTS:
        source = script.read_text()
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                       "eval(", "new Function", "setAttribute('style'"):
            assert banned not in source, f"{script.name}: {banned}"


def test_every_text_the_pages_use_exists_in_both_languages():
    zh = json.loads((STATIC / "i18n" / "zh-CN.json").read_text())
    en = json.loads((STATIC / "i18n" / "en.json").read_text())
    assert zh.keys() == en.keys()
    used = set()
    for script in SCRIPTS:
        used |= set(re.findall(r"\bt\('([a-z_.0-9]+)'", script.read_text()))
        used |= set(re.findall(r"'((?:nav|queue|staff|deliveries|task|station)\.[a-z_]+)'",
                               script.read_text()))
    assert used - zh.keys() == set()
