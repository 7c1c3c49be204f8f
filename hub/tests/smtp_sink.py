#!/usr/bin/env python3
"""A local SMTP server for the email tests (aiosmtpd, no TLS, no auth).

Listens on 127.0.0.1 on a free port and prints JSON lines on stdout:
  {"listening": <port>}                         once, when it accepts connections
  {"mail_from", "rcpt_to", "from", "to", "subject", "content_type", "body"}
                                                for each message received, decoded
Exits when its stdin closes, so it never outlives the test that started it.
"""

import asyncio
import json
import sys
import threading
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP


def say(obj):
    print(json.dumps(obj), flush=True)


class Sink:
    async def handle_DATA(self, server, session, envelope):
        # Python's own MIME parser decodes what the hub encoded (RFC 2047
        # subjects, quoted-printable or base64 bodies).
        msg = BytesParser(policy=policy.default).parsebytes(envelope.content)
        say({
            "mail_from": envelope.mail_from,
            "rcpt_to": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "content_type": msg.get_content_type(),
            "body": msg.get_content(),
        })
        return "250 Message accepted"


def exit_when_stdin_closes(loop, stop):
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set)


async def main():
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    server = await loop.create_server(lambda: SMTP(Sink()), "127.0.0.1", 0)
    say({"listening": server.sockets[0].getsockname()[1]})
    threading.Thread(target=exit_when_stdin_closes, args=(loop, stop), daemon=True).start()
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
