"""`app` for gunicorn and the flask command; a refusal to start is one line, not a traceback."""
import sys

import config
from api import create_app

try:
    app = create_app()
except config.StartupError as refusal:
    print(f"One Thing cannot start: {refusal}", file=sys.stderr)
    # 3 is gunicorn's "worker failed to boot": it stops rather than booting it again and again.
    raise SystemExit(3) from None
