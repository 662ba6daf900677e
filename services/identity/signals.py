"""What identity tells whoever listens, without knowing who does (blinker, as Flask ships it)."""
from blinker import Namespace

_signals = Namespace()

# Sent with the citizen (a User) after their real name and ID number were verified and stored.
# A receiver must not fail the verification: identity is correct with no receiver at all.
real_name_verified = _signals.signal("real-name-verified")
