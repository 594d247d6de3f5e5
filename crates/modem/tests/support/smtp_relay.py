"""A small SMTP server for the e-mail-to-SMS driver's tests (standard library only).

It listens on 127.0.0.1 on a free port and prints `LISTENING <port>` once it accepts
connections. Every accepted message is printed as one JSON line:
{"from": "...", "to": ["..."], "data": "..."}.

The recipient's domain chooses the answer to RCPT TO, so a test can provoke each case:
  busy.test    451 (temporary failure)
  refuse.test  550 (permanent failure)
  silent.test  no answer at all (the client must time out)
  anything else 250

Python's `smtpd` module is deprecated and gone from 3.12, hence asyncio streams.
"""

import asyncio
import json
import sys


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def address_of(argument):
    """The address inside `FROM:<a@b>` or `TO:<a@b> SIZE=...`."""
    start = argument.find("<")
    end = argument.find(">", start + 1)
    if start < 0 or end < 0:
        return argument.split(":", 1)[-1].strip()
    return argument[start + 1 : end]


async def session(reader, writer):
    def reply(text):
        writer.write((text + "\r\n").encode())

    reply("220 relay.test ESMTP test relay")
    sender = None
    recipients = []
    try:
        while True:
            await writer.drain()
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                reply("250-relay.test")
                reply("250 8BITMIME")
            elif verb == "HELO":
                reply("250 relay.test")
            elif verb == "NOOP":
                reply("250 2.0.0 OK")
            elif verb == "RSET":
                sender, recipients = None, []
                reply("250 2.0.0 OK")
            elif verb == "MAIL":
                sender, recipients = address_of(argument), []
                reply("250 2.1.0 OK")
            elif verb == "RCPT":
                recipient = address_of(argument)
                domain = recipient.rpartition("@")[2].lower()
                if domain == "busy.test":
                    reply("451 4.3.0 mailbox busy, try again later")
                elif domain == "refuse.test":
                    reply("550 5.1.1 no such user here")
                elif domain == "silent.test":
                    await writer.drain()
                    # Hold the connection open without answering until the client leaves.
                    while await reader.read(1024):
                        pass
                    return
                else:
                    recipients.append(recipient)
                    reply("250 2.1.5 OK")
            elif verb == "DATA":
                if sender is None or not recipients:
                    reply("503 5.5.1 need MAIL and RCPT first")
                    continue
                reply("354 end data with <CR><LF>.<CR><LF>")
                await writer.drain()
                lines = []
                while True:
                    raw = await reader.readline()
                    if not raw:
                        return
                    if raw in (b".\r\n", b".\n"):
                        break
                    text = raw.decode("utf-8", "replace")
                    if text.startswith(".."):
                        text = text[1:]
                    lines.append(text)
                emit(json.dumps({"from": sender, "to": recipients, "data": "".join(lines)}))
                sender, recipients = None, []
                reply("250 2.0.0 queued")
            elif verb == "QUIT":
                reply("221 2.0.0 bye")
                await writer.drain()
                return
            else:
                reply("502 5.5.2 command not implemented")
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    emit(f"LISTENING {port}")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
