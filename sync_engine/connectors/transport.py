"""aiohttp's connection pool under httpx's API, with httpx's own error classes.

``httpx_aiohttp.AiohttpTransport`` maps every aiohttp connection error to
``httpx.ConnectTimeout``, and leaves a bare ``asyncio.TimeoutError`` unmapped; the
connectors tell a timeout (``TIMEOUT``) from an unreachable system (``CONNECTION_ERROR``),
so this transport raises what httpcore would have raised.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class AioTransport(AiohttpTransport):
    """``AiohttpTransport`` whose errors are the ones httpcore raises for the same failure."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ServerTimeoutError):
                raise
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(cause), request=request) from cause
            raise httpx.RemoteProtocolError(str(cause), request=request) from cause
        except TimeoutError as exc:
            raise httpx.ReadTimeout("no answer in time", request=request) from exc
