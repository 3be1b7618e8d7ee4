"""The real server's logs (gunicorn's access and error logs) never hold a token, even one sent in the wrong place.

Integrations get it wrong: `curl -u TOKEN:` sends the token as a Basic user name, which gunicorn's default access log
format prints (`%(u)s`); others try `?access_token=TOKEN`, which the default request line (`%(r)s`) prints. Both are
refused with 401, and neither may be written down.
"""

from __future__ import annotations

import base64

import pytest
import requests
from reliability_world import Server, fresh_tokens, running

pytestmark = pytest.mark.slow


def test_a_token_sent_in_the_wrong_place_is_refused_and_never_logged(sqlite_url, tmp_path):
    server = Server(sqlite_url, fresh_tokens(), tmp_path)
    token = server.tokens["staff"]
    wrong_places = [
        {"headers": {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}},
        {"headers": {"Authorization": "Basic " + base64.b64encode(f"staff:{token}".encode()).decode()}},
        {"params": {"access_token": token}},
        {"headers": {"Authorization": f"Token {token}"}},
        {"headers": {"Authorization": token}},
    ]
    with running(server):
        for place in wrong_places:
            assert requests.get(server.base + "/v1/governorates", timeout=10, **place).status_code == 401
        good = requests.get(server.base + "/v1/governorates?x=1", headers=server.headers("staff"), timeout=10)
        assert good.status_code in (200, 422)
    log = server.output()
    assert "/v1/governorates" in log  # the access log was written: the search below means something
    assert not server.leaked_tokens(), log[-2000:]
