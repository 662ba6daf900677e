"""Stand-in servers for outside services, on 127.0.0.1: FCM, SMS, mini-programs, webhooks."""
