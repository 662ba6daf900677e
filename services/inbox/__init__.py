"""The citizen's side of notifications: inbox, devices, preferences; admins' failed deliveries."""
