"""Service logging: JSON lines with business fields, HTTP chatter at DEBUG, secrets masked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from contracts.steps import StepState
from sync_engine import logbook
from threadline import tracing
from threadline.logs import configure, fields


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, given back as it was (pytest's capture handlers included)."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_json_writes_one_object_a_line_with_the_records_fields(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", "json")
    traceparent = tracing.start_trace("eco.received", "ECO-2026-50007")
    logbook.eco_planned("ECO-2026-50007", 23, traceparent)
    logbook.step_moved(
        eco="ECO-2026-50007",
        step="ECO-2026-50007/erp.routing/P300/ITEM-3",
        kind="erp.routing",
        plant="P300",
        target="ITEM-3",
        supplier=None,
        to=StepState.BLOCKED,
        traceparent=traceparent,
        code="WORK_CENTER_INACTIVE",
        message="work center WC-7 is inactive",
    )
    planned, blocked = lines(capsys)
    trace = tracing.trace_id(traceparent)
    assert planned["message"] == "ECO-2026-50007 planned into 23 steps"
    assert planned["level"] == "INFO"
    assert (planned["eco"], planned["trace_id"]) == ("ECO-2026-50007", trace)
    assert blocked["message"] == (
        "ECO-2026-50007 erp.routing P300 ITEM-3 blocked: WORK_CENTER_INACTIVE "
        "(work center WC-7 is inactive)"
    )
    assert blocked["level"] == "WARNING"
    assert {k: blocked[k] for k in ("eco", "step", "plant", "trace_id")} == {
        "eco": "ECO-2026-50007",
        "step": "ECO-2026-50007/erp.routing/P300/ITEM-3",
        "plant": "P300",
        "trace_id": trace,
    }
    assert "supplier" not in blocked


def test_a_record_inside_a_span_carries_its_trace_id(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", "json")
    with tracing.span("reconcile") as span:
        logging.getLogger("sync_engine.reconcile").info("plant P100 reconciled")
    (record,) = lines(capsys)
    assert record["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert "eco" not in record


def test_http_request_lines_only_at_debug(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", "json")
    for name in ("httpx", "httpcore.http11", "uvicorn.access"):
        logging.getLogger(name).info("GET http://erp/plants/P100/boms 200")
    logging.getLogger("httpx").warning("connection pool full")
    assert [r["message"] for r in lines(capsys)] == ["connection pool full"]

    configure("DEBUG", "json")
    logging.getLogger("httpx").info("GET http://erp/plants/P100/boms 200")
    (record,) = lines(capsys)
    assert record["level"] == "DEBUG"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_credentials_are_masked_in_messages_and_tracebacks(
    root: logging.Logger, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    configure("INFO", log_format)
    log = logging.getLogger("collector")
    log.info("headers: Authorization: Bearer s3cr3t-token-1")
    log.info("retrying with password=hunter2-pw and token=abc-token-2")
    log.info("Cookie: theme=dark; session=cookie-value-3")
    try:
        raise RuntimeError("refused Authorization: Basic dXNlcjpwYXNz")
    except RuntimeError:
        log.exception("request failed")
    written = capsys.readouterr().err
    for secret in ("s3cr3t-token-1", "hunter2-pw", "abc-token-2", "cookie-value-3", "dXNlcjpwYXNz"):
        assert secret not in written
    assert written.count("***") >= 5


def test_an_unknown_format_or_field_is_refused(root: logging.Logger) -> None:
    with pytest.raises(ValueError, match="log format 'xml'"):
        configure("INFO", "xml")
    with pytest.raises(ValueError, match="not a log field: ecos"):
        fields(ecos="ECO-1")
