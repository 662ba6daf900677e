"""Server-sent events: the citizen's new notifications, live, resumable with Last-Event-ID."""
import json

from flask import Response, current_app, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_user
from api.schemas.notifications import NotificationSchema
from common.i18n import current_locale
from models.user import USER_ROLES
from services.errors import ValidationFailed
from services.identity import revocation
from services.inbox import event_hub, notifications

blp = Blueprint("events", __name__, url_prefix="/api/v1/me",
                description="A live feed of the signed-in citizen's notifications")

RECONNECT_MS = 2000


def _last_event_id() -> int | None:
    # EventSource sends the header on reconnect; a client that cannot set headers may use
    # ?last_event_id= instead.
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationFailed("Last-Event-ID must be an event id from this stream.",
                               "Last-Event-ID 必须是本事件流中的事件编号。",
                               errors={"Last-Event-ID": ["Not a valid event id."]})
    return int(raw)


@blp.route("/events")
class Events(MethodView):
    @auth_required(role=USER_ROLES)
    @blp.doc(parameters=[{
        "in": "query", "name": "last_event_id", "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]{0,12}$"},
        "description": "for a client that cannot send the Last-Event-ID header"}])
    @blp.doc(responses={"200": {
        "description": "`text/event-stream`: `event: notification`, `id`: the notification's "
                       "`seq`, `data`: the notification as in the inbox. The first block carries "
                       "only `id`: where the stream starts (resume from it). Comments are "
                       "heartbeats. The stream ends after a while; reconnect with Last-Event-ID.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
    def get(self):
        """My new notifications as server-sent events"""
        principal, locale = current_user(), current_locale.get()
        latest, after = notifications.latest_seq(principal.id), _last_event_id()
        if after is None or after > latest:  # what is new from this moment on
            after = latest

        def allowed() -> bool:  # a token revoked meanwhile ends its stream
            return not revocation.is_revoked(subject_id=principal.id,
                                             session_id=principal.session,
                                             issued_ms=principal.issued_ms)

        config = current_app.config
        feed = event_hub.hub().stream(user_id=principal.id, cursor=after, behind=after < latest,
                                      allowed=allowed).events(
            max_seconds=float(config["SSE_MAX_SECONDS"]),
            heartbeat_seconds=float(config["SSE_HEARTBEAT_SECONDS"]))
        schema = NotificationSchema()

        def stream():
            current_locale.set(locale)
            # The id the stream starts after: a client that came without Last-Event-ID resumes
            # from here next time, and loses nothing that happened between two connections.
            yield f"retry: {RECONNECT_MS}\nid: {after}\n: connected\n\n"
            for notification in feed:
                if notification is None:
                    yield ": heartbeat\n\n"
                    continue
                data = json.dumps(schema.dump(notification), ensure_ascii=False)
                yield f"id: {notification.seq}\nevent: notification\ndata: {data}\n\n"

        return Response(stream_with_context(stream()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
