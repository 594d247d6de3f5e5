#!/usr/bin/python3
"""A librarian's client that nobody on the textgate team wrote: slixmpp and its XEP-0050
plugin, as Debian ships them (python3-slixmpp). tests/tests/desk_commands.rs runs it to
drive the gateway's ad-hoc commands: it lists them, runs `status` (one step), and adds a
canned reply through the two-step form of `canned-add`. Each step prints one JSON line.

Usage: adhoc_client.py JID PASSWORD HOST PORT GATEWAY
"""

import asyncio
import json
import logging
import sys

import slixmpp


def out(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def notes(iq):
    return [[kind, text] for kind, text in iq["command"]["notes"]]


class Librarian(slixmpp.ClientXMPP):
    def __init__(self, jid, password, gateway):
        super().__init__(jid, password)
        self.gateway = gateway
        self.failed = False
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0050")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", self.auth_failed)

    def auth_failed(self, _event):
        out("error", reason="authentication failed")
        self.failed = True
        self.disconnect()

    async def start(self, _event):
        try:
            await self.run_commands()
        except Exception as error:  # report any failure as a line, then stop
            out("error", reason=repr(error))
            self.failed = True
        self.disconnect()

    async def run_commands(self):
        self.send_presence()
        await self.get_roster()
        adhoc = self["xep_0050"]

        listed = await adhoc.get_commands(jid=self.gateway, timeout=15)
        nodes = [node for (_jid, node, _name) in listed["disco_items"]["items"]]
        out("list", nodes=nodes)

        status = await adhoc.send_command(self.gateway, "status", timeout=15)
        out("status", status=status["command"]["status"], notes=notes(status))

        first = await adhoc.send_command(self.gateway, "canned-add", timeout=15)
        form = first["command"]["form"]
        out(
            "canned-add form",
            status=first["command"]["status"],
            fields=list(form.get_fields().keys()),
        )
        submit = self["xep_0004"].make_form(ftype="submit")
        submit.add_field(var="name", value="Hours")
        submit.add_field(var="text", value="We are open 9 to 5, Monday to Friday.")
        done = await adhoc.send_command(
            self.gateway,
            "canned-add",
            action="complete",
            payload=submit,
            sessionid=first["command"]["sessionid"],
            timeout=15,
        )
        out("canned-add", status=done["command"]["status"], notes=notes(done))


def main():
    jid, password, host, port, gateway = sys.argv[1:6]
    logging.basicConfig(level=logging.ERROR)
    client = Librarian(jid, password, gateway)
    # The test server offers no TLS; a real desk's server would.
    client["feature_mechanisms"].unencrypted_plain = True
    client.connect(address=(host, int(port)), force_starttls=False, disable_starttls=True)
    client.process(forever=False)
    sys.exit(1 if client.failed else 0)


if __name__ == "__main__":
    main()
