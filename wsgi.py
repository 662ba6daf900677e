"""`app` for gunicorn and the flask command; a refusal to start is one line, not a traceback."""
import sys

import config
from api import create_app
from assistant import conversations

try:
    app = create_app()
except config.StartupError as refusal:
    print(f"One Thing cannot start: {refusal}", file=sys.stderr)
    # 3 is gunicorn's "worker failed to boot": it stops rather than booting it again and again.
    raise SystemExit(3) from None

if "gunicorn" in sys.modules:
    # Serving: gunicorn hands this worker requests only once the module is loaded, so the first
    # citizen's message finds the assistant ready (a flask command skips this second).
    conversations.warm_up()
