"""A command's secrets (the API key, the ${env:...} values its manifests use) are its own: its
client masks them in every error it raises, whichever field of an answer quoted them, and a
second command in the same process starts with none of the first one's (issue 24)."""

from __future__ import annotations

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.errors import BadResponse
from reconciler.redact import REDACTED, Secrets

KEY, ENV_VALUE = "k3y-VALUE-42", "hf_env_VALUE_7"


def echoing_client(secrets: Secrets) -> YottaClient:
    """A client whose list answer quotes the key as an id and an env value in a name (twice
    the same id: a malformed answer, reported with both)."""

    def answer(request: httpx.Request) -> httpx.Response:
        listed = [{"id": KEY, "name": f"web {ENV_VALUE}"}, {"id": KEY, "name": "x"}]
        return httpx.Response(200, json={"code": 10000, "message": "ok", "data": listed})

    return YottaClient(KEY, "http://127.0.0.1:9", secrets=secrets,
                       http=httpx.Client(transport=httpx.MockTransport(answer)))


@pytest.mark.parametrize("operation", ["list", "list_each"])
def test_an_answer_quoting_a_secret_outside_its_message_is_masked(operation: str) -> None:
    client = echoing_client(Secrets([ENV_VALUE]))
    with pytest.raises(BadResponse) as raised:
        client.list() if operation == "list" else client.list_each(lambda d: d)
    shown = str(raised.value)
    assert "listed as both" in shown and REDACTED in shown  # the quoting error, masked
    assert KEY not in shown and ENV_VALUE not in shown


def test_a_second_command_does_not_inherit_the_first_ones_secrets() -> None:
    first = echoing_client(Secrets([ENV_VALUE]))
    with pytest.raises(BadResponse):
        first.list()
    # another command in the same process: its own key, its own (empty) env values
    second = YottaClient("another-key-77", "http://127.0.0.1:9", secrets=Secrets())
    assert second.secrets.redact(f"{KEY} {ENV_VALUE}") == f"{KEY} {ENV_VALUE}"
    assert first.secrets.redact(f"{KEY} {ENV_VALUE}") == f"{REDACTED} {REDACTED}"
