from models.connection import ensure_indexes
from models.user import User


def test_an_index_whose_definition_changed_is_rebuilt_at_start():
    users = User._get_collection()
    users.drop_index("username_1")
    users.create_index("username", name="username_1")  # an older, non-unique definition

    ensure_indexes()

    rebuilt = users.index_information()["username_1"]
    assert rebuilt.get("unique") is True
