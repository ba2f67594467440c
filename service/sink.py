"""The built-in SMTP sink for development: every message it receives becomes a .eml file in the outbox."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class OutboxHandler:
    """aiosmtpd handler that writes each accepted message to its own file, atomically."""

    def __init__(self, outbox: Path):
        self.outbox = outbox
        outbox.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        """Store the message with its envelope recipients, then accept it."""
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
        header = "".join(f"X-Envelope-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos).encode()
        temporary = self.outbox / f".{name}.tmp"
        temporary.write_bytes(header + envelope.original_content)
        temporary.rename(self.outbox / name)
        return "250 Message accepted for delivery"


def run_sink(outbox: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Serve until interrupted."""
    controller = Controller(OutboxHandler(outbox), hostname=host, port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
