"""Refuse request bodies over a size limit before they are read into memory (413, JSON error body)."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.error_handlers import error_body
from api.errors import PayloadTooLarge


class BodySizeLimit:
    """ASGI middleware: 413 at once for a declared Content-Length over the limit; a body that turns out
    larger while streaming raises PayloadTooLarge in the reader (turned into 413 by the error handlers)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(f"request body exceeds {self.max_bytes} bytes")
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(error_body("payload_too_large", f"request body of {size} bytes exceeds {self.max_bytes}"))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
