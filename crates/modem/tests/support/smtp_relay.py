"""A small SMTP server for the e-mail-to-SMS driver's tests (standard library only).

It listens on 127.0.0.1 on a free port and prints `LISTENING <port>` once it accepts
connections. Every accepted message is printed as one JSON line:
{"from": "...", "to": ["..."], "data": "..."}.

The recipient's domain chooses the answer to RCPT TO, so a test can provoke each case:
  busy.test    451 (temporary failure)
  refuse.test  550 (permanent failure)
  silent.test  no answer at all (the client must time out)
  anything else 250

With `--login USER:PASSWORD` it offers AUTH PLAIN and LOGIN and takes only that login
(535 otherwise), for the tests of a relay that wants one.

Python's `smtpd` module is deprecated and gone from 3.12, hence asyncio streams.
"""

import asyncio
import base64
import json
import sys

# The one login taken, as (user, password), when the relay wants one.
LOGIN = None


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
                if LOGIN is not None:
                    reply("250-AUTH PLAIN LOGIN")
                reply("250 8BITMIME")
            elif verb == "AUTH" and LOGIN is not None:
                mechanism, _, initial = argument.partition(" ")
                if mechanism.upper() == "PLAIN":
                    if not initial:
                        reply("334 ")
                        await writer.drain()
                        initial = (await reader.readline()).decode().strip()
                    parts = decode(initial).split("\0")
                    given = (parts[1], parts[2]) if len(parts) == 3 else None
                elif mechanism.upper() == "LOGIN":
                    reply("334 VXNlcm5hbWU6")
                    await writer.drain()
                    user = decode((await reader.readline()).decode().strip())
                    reply("334 UGFzc3dvcmQ6")
                    await writer.drain()
                    password = decode((await reader.readline()).decode().strip())
                    given = (user, password)
                else:
                    reply("504 5.5.4 unrecognized authentication type")
                    continue
                if given == LOGIN:
                    reply("235 2.7.0 authentication successful")
                else:
                    reply("535 5.7.8 authentication credentials invalid")
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


def decode(text):
    try:
        return base64.b64decode(text).decode("utf-8", "replace")
    except ValueError:
        return ""


async def main():
    global LOGIN
    if len(sys.argv) == 3 and sys.argv[1] == "--login":
        user, _, password = sys.argv[2].partition(":")
        LOGIN = (user, password)
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    emit(f"LISTENING {port}")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
