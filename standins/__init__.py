"""Stand-ins for the outside services, each a small HTTP server on 127.0.0.1 recording what it
received: FCM (fcm), the SMS gateway (sms_gateway), the mini-program platforms (miniprogram),
partner webhooks (webhooks) and an OpenAI-compatible chat completions API (chat_completions).

The tests, `make bench` and `make demo` use them alike. They import nothing of the application:
only the standard library and the pinned packages.
"""
