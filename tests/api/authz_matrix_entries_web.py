"""Authorization matrix entries of the web clients' pages: static files, the same for everyone
(the pages call the API, which decides)."""
from tests.api.authz_matrix import Entry, public

ENTRIES: dict[str, Entry] = {
    "GET /app": Entry(lambda world, actor: "/app", public(308)),
    "GET /app/": Entry(lambda world, actor: "/app/", public(200)),
    "GET /workbench": Entry(lambda world, actor: "/workbench", public(308)),
    "GET /workbench/": Entry(lambda world, actor: "/workbench/", public(200)),
    "GET /web/<path:filename>": Entry(lambda world, actor: "/web/app/main.js", public(200)),
}
