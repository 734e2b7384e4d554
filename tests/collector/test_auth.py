from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.auth import ProducerGrant, TokenConfigError, Tokens, load_tokens
from collector.errors import Rejected
from threadline.settings import Settings

SECRET = "s3cret-token-value"


def test_tokens_from_the_variable_and_the_file_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"file-token": {"producer": "erp", "sources": ["/erp/"]}}))
    settings = Settings(
        collector_tokens=json.dumps({SECRET: {"producer": "engine", "sources": ["/threadline/"]}}),
        collector_tokens_file=path,
    )
    tokens = load_tokens(settings)
    assert tokens.authenticate(f"Bearer {SECRET}").producer == "engine"
    assert tokens.authenticate("bearer file-token").producer == "erp"
    assert SECRET not in repr(tokens) and "file-token" not in repr(tokens)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", f"Bearer {SECRET}x"])
def test_anything_but_a_known_bearer_token_is_401(header: str | None) -> None:
    tokens = Tokens({SECRET: ProducerGrant(producer="engine", sources=("/threadline/",))})
    with pytest.raises(Rejected) as caught:
        tokens.authenticate(header)
    assert caught.value.status == 401
    assert SECRET not in json.dumps(caught.value.document())


def test_a_malformed_token_document_names_no_token() -> None:
    settings = Settings(collector_tokens=json.dumps({SECRET: {"producer": "", "sources": []}}))
    with pytest.raises(TokenConfigError) as caught:
        load_tokens(settings)
    assert SECRET not in str(caught.value)


def test_grants_check_source_prefixes_and_extra_types() -> None:
    grant = ProducerGrant(producer="erp", sources=("/erp/", "/plm/"), types=("com.acme.",))
    assert grant.allows_source("/erp/P100") and grant.allows_source("/plm/x")
    assert not grant.allows_source("/threadline/engine")
    assert grant.allows_type("com.acme.order.v1") and not grant.allows_type("com.other.v1")
    assert not ProducerGrant(producer="e", sources=("/",)).allows_type("com.acme.order.v1")
