// An SMSC for crates/smpp/tests/peer.rs, built on node-smpp's server (npm `smpp`, pinned in
// package.json), so textgate's SMPP codec is checked against an implementation nobody on
// the team wrote. It listens on a port the kernel picks and prints "listening PORT"; then,
// per connection:
// - bind_transceiver: accepted for system_id "textgate" with password "secret"
//   (ESME_RBINDFAIL otherwise); once bound it sends one mobile-originated deliver_sm, a
//   UCS-2 part with a user data header, and reports the answer.
// - submit_sm: answered with a message id (hexadecimal), or ESME_RTHROTTLED for the
//   destination 15550000058; when a receipt was asked for, a delivery receipt follows with
//   both the optional parameters and the text of SMPP 3.4 Appendix B.
// - enquire_link, unbind: answered; an unknown command: generic_nack (node-smpp's own).
// Everything it decoded is printed as one JSON line per event on stdout.
'use strict';
const smpp = require('smpp');

function say(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function hex(buffer) {
  return Buffer.isBuffer(buffer) ? buffer.toString('hex') : null;
}

let nextId = 0xabc000;

const server = smpp.createServer({ debug: false }, (session) => {
  session.on('error', (e) => say({ event: 'session_error', message: String(e && e.message) }));
  session.on('bind_transceiver', (pdu) => {
    const ok = pdu.system_id === 'textgate' && pdu.password === 'secret';
    say({ event: 'bind_transceiver', system_id: pdu.system_id, interface_version: pdu.interface_version, ok });
    if (!ok) {
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      return;
    }
    session.send(pdu.response({ system_id: 'node-smsc' }));
    session.deliver_sm({
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '15551234567',
      destination_addr: '12345',
      esm_class: 0x40,
      data_coding: 8,
      // UDH: concatenation, reference 0x2A, part 1 of 2; then "Hé €" in UCS-2.
      short_message: Buffer.from('0500032a0201' + '004800e9002020ac', 'hex'),
    }, (resp) => say({ event: 'deliver_sm_resp', command_status: resp.command_status, sequence_number: resp.sequence_number }));
  });
  session.on('enquire_link', (pdu) => {
    say({ event: 'enquire_link', sequence_number: pdu.sequence_number });
    session.send(pdu.response());
  });
  session.on('submit_sm', (pdu) => {
    const sm = pdu.short_message || {};
    say({
      event: 'submit_sm',
      sequence_number: pdu.sequence_number,
      source_addr: pdu.source_addr,
      source_addr_ton: pdu.source_addr_ton,
      destination_addr: pdu.destination_addr,
      dest_addr_ton: pdu.dest_addr_ton,
      dest_addr_npi: pdu.dest_addr_npi,
      esm_class: pdu.esm_class,
      data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery,
      udh: Array.isArray(sm.udh) ? sm.udh.map(hex).join(',') : null,
      message: Buffer.isBuffer(sm.message) ? hex(sm.message) : sm.message,
      user_message_reference: pdu.user_message_reference,
    });
    if (pdu.destination_addr === '15550000058') {
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      return;
    }
    const id = (nextId++).toString(16).toUpperCase();
    session.send(pdu.response({ message_id: id }));
    if (pdu.registered_delivery & 1) {
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 0x04,
        short_message: 'id:' + parseInt(id, 16) + ' sub:001 dlvrd:001 submit date:2612031200 done date:2612031201 stat:DELIVRD err:000 text:',
        receipted_message_id: id,
        message_state: 2,
      }, (resp) => say({ event: 'receipt_resp', command_status: resp.command_status }));
    }
  });
  session.on('unknown', (pdu) => {
    say({ event: 'unknown', command_id: pdu.command_id });
    session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    say({ event: 'unbind' });
    session.send(pdu.response());
    session.close();
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
