"""Socket-free checks of the refresh-token store's persistence."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from entra_emulator.state import Clock, RefreshTokenStore  # noqa: E402


def test_refresh_token_store_persists_hashes_and_sessions(tmp_path):
    path = str(tmp_path / "rt.json")
    clock = Clock()
    store = RefreshTokenStore(clock, path)
    token = store.issue("tid", "cid", "A@x.test", 100, scope="s", session={"auth_time": 5.0, "mfa": True,
                                                                            "amr": ["pwd", "mfa"]})
    store.revoke_user("b@x.test")
    store.close()
    text = open(path, encoding="utf-8").read()  # pylint: disable=consider-using-with
    assert token not in text and json.loads(text)["valid_from"]["b@x.test"]
    again = RefreshTokenStore(clock, path)
    record = again.get(token)
    assert (record["upn"], record["auth_time"], record["mfa"], record["amr"]) == ("a@x.test", 5.0, True, ["pwd", "mfa"])
    assert again.status(record) == "ok"
    again.close()
    damaged = tmp_path / "bad.json"
    damaged.write_text("{not json")
    RefreshTokenStore(clock, str(damaged)).close()  # starts, forgets
