// An SMSC the tests steer, built on node-smpp's server (npm `smpp`, pinned in
// package.json): the driver's tests (crates/smpp-driver/tests) and the end-to-end tests
// run textgate against it, so what textgate sends and reads is checked by an SMPP
// implementation nobody on the team wrote.
//
// It listens on a port the kernel picks and prints "listening PORT". Everything it sees is
// one JSON line on stdout. It reads commands, one JSON object per line, on stdin:
//   {"cmd":"deliver", "source":"15551234567", "data_coding":8, "esm_class":64, "hex":"..."}
//       a text from a phone (short_message as hex) on the newest session
//   {"cmd":"throttle", "count":N}   the next N submits get ESME_RTHROTTLED
//   {"cmd":"refuse", "status":N, "count":N}   the next N submits get that status
//   {"cmd":"hold", "on":true}       submits are not answered until "hold" is off
//   {"cmd":"close"}                 every connection is dropped without an unbind
//   {"cmd":"receipts", "stat":"UNDELIV", "err":"034"}   what later receipts say
//   {"cmd":"ping", "id":N}          answered with {"event":"pong","id":N} once earlier
//                                   lines were handled
// With SMSC_TLS_KEY and SMSC_TLS_CERT naming PEM files it speaks SMPP over TLS.
// Binds are accepted for system_id "textgate" with password "secret" (ESME_RINVPASWD
// otherwise). A submit asking for a receipt (registered_delivery bit 0) gets one, with
// both the optional parameters and the text of SMPP 3.4 Appendix B.
'use strict';
const readline = require('readline');
const smpp = require('smpp');

function say(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

const sessions = new Set();
let newest = null;
let throttle = 0;
let refuse = { status: 0, count: 0 };
let hold = false;
const held = [];
let receiptStat = 'DELIVRD';
let receiptErr = '000';
let nextId = 0x5a000;

function hex(buffer) {
  return Buffer.isBuffer(buffer) ? buffer.toString('hex') : null;
}

// message_payload as node-smpp decoded it (by data_coding, as it does short_message).
function payloadText(payload) {
  if (payload === undefined || payload === null) return null;
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return hex(payload);
  return Buffer.isBuffer(payload.message) ? hex(payload.message) : payload.message;
}

function answer(session, pdu) {
  if (throttle > 0) {
    throttle -= 1;
    session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
    say({ event: 'answered', status: smpp.ESME_RTHROTTLED });
    return;
  }
  if (refuse.count > 0) {
    refuse.count -= 1;
    session.send(pdu.response({ command_status: refuse.status }));
    say({ event: 'answered', status: refuse.status });
    return;
  }
  const id = (nextId++).toString(16).toUpperCase();
  session.send(pdu.response({ message_id: id }));
  say({ event: 'answered', status: 0, message_id: id });
  if (pdu.registered_delivery & 1) {
    session.deliver_sm({
      source_addr: pdu.destination_addr,
      destination_addr: pdu.source_addr,
      esm_class: 0x04,
      short_message: 'id:' + id + ' sub:001 dlvrd:' + (receiptStat === 'DELIVRD' ? '001' : '000') +
        ' submit date:2612031200 done date:2612031201 stat:' + receiptStat + ' err:' + receiptErr + ' text:',
      receipted_message_id: id,
      message_state: receiptStat === 'DELIVRD' ? 2 : 5,
    }, (resp) => say({ event: 'receipt_resp', message_id: id, command_status: resp.command_status }));
  }
}

const fs = require('fs');
const serverOptions = { debug: false };
if (process.env.SMSC_TLS_KEY && process.env.SMSC_TLS_CERT) {
  serverOptions.key = fs.readFileSync(process.env.SMSC_TLS_KEY);
  serverOptions.cert = fs.readFileSync(process.env.SMSC_TLS_CERT);
}

const server = smpp.createServer(serverOptions, (session) => {
  sessions.add(session);
  session.on('close', () => {
    sessions.delete(session);
    if (newest === session) newest = null;
    say({ event: 'closed' });
  });
  session.on('error', (e) => say({ event: 'session_error', message: String(e && e.message) }));
  const bind = (kind) => (pdu) => {
    const ok = pdu.system_id === 'textgate' && pdu.password === 'secret';
    say({ event: 'bind', kind, system_id: pdu.system_id, ok });
    if (!ok) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    // Texts from phones go to a session that may receive them.
    if (kind !== 'transmitter') newest = session;
    session.send(pdu.response({ system_id: 'node-smsc' }));
  };
  session.on('bind_transceiver', bind('transceiver'));
  session.on('bind_transmitter', bind('transmitter'));
  session.on('bind_receiver', bind('receiver'));
  session.on('enquire_link', (pdu) => {
    say({ event: 'enquire_link' });
    session.send(pdu.response());
  });
  session.on('submit_sm', (pdu) => {
    const sm = pdu.short_message || {};
    say({
      event: 'submit_sm',
      destination_addr: pdu.destination_addr,
      dest_addr_ton: pdu.dest_addr_ton,
      esm_class: pdu.esm_class,
      data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery,
      udh: Array.isArray(sm.udh) ? sm.udh.map(hex).join(',') : null,
      message: Buffer.isBuffer(sm.message) ? hex(sm.message) : sm.message,
      payload: payloadText(pdu.message_payload),
      sar_segment_seqnum: pdu.sar_segment_seqnum,
    });
    if (hold) {
      held.push([session, pdu]);
      return;
    }
    answer(session, pdu);
  });
  session.on('unbind', (pdu) => {
    say({ event: 'unbind' });
    session.send(pdu.response());
    session.close();
  });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    say({ event: 'bad_command', line });
    return;
  }
  switch (command.cmd) {
    case 'deliver': {
      if (!newest) {
        say({ event: 'no_session' });
        return;
      }
      newest.deliver_sm({
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: command.source,
        destination_addr: '12345',
        esm_class: command.esm_class || 0,
        data_coding: command.data_coding || 0,
        short_message: Buffer.from(command.hex, 'hex'),
      }, (resp) => say({ event: 'deliver_sm_resp', tag: command.tag, command_status: resp.command_status }));
      say({ event: 'delivered', tag: command.tag });
      break;
    }
    case 'throttle':
      throttle = command.count;
      break;
    case 'refuse':
      refuse = { status: command.status, count: command.count };
      break;
    case 'hold':
      hold = command.on;
      if (!hold) {
        for (const [session, pdu] of held.splice(0)) answer(session, pdu);
      }
      break;
    case 'close':
      held.splice(0);
      for (const session of sessions) session.socket.destroy();
      break;
    case 'receipts':
      receiptStat = command.stat;
      receiptErr = command.err || '000';
      break;
    case 'ping':
      break;
    default:
      say({ event: 'bad_command', line });
      return;
  }
  if (command.cmd === 'ping') say({ event: 'pong', id: command.id });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
