//! One PDU (SMPP 3.4 §3.2): a 16-octet header (`command_length`, `command_id`,
//! `command_status`, `sequence_number`, big-endian) and a body whose layout the command id
//! names. [`Pdu::decode`] takes exactly one PDU's octets (the [`crate::Framer`] cuts them
//! from the stream) and [`Pdu::encode`] writes them back.
//!
//! The commands textgate speaks are decoded into fields: the binds and their responses,
//! `unbind`, `enquire_link`, `generic_nack`, `submit_sm` and `deliver_sm` and their
//! responses. Any other command id decodes to [`Body::Other`] with its body kept, so the
//! session can answer it (`generic_nack` with `ESME_RINVCMDID`) instead of dropping the
//! connection.
//!
//! Strings are kept as octets: the specification says ASCII for addresses and ids, and
//! SMSCs send what they like; the caller decides how to read them.

use crate::status::CommandStatus;
use crate::tlv::{self, Tlv};
use crate::wire::{Reader, Writer};

/// The header's size, and the least a `command_length` can say.
pub const HEADER_LEN: usize = 16;

/// `interface_version` for SMPP 3.4 (§5.2.4).
pub const INTERFACE_VERSION_34: u8 = 0x34;

/// Maximum sizes of the C-Octet String fields, NUL included (§4, the field tables).
pub mod max {
    pub const SYSTEM_ID: usize = 16;
    pub const PASSWORD: usize = 9;
    pub const SYSTEM_TYPE: usize = 13;
    pub const ADDRESS_RANGE: usize = 41;
    pub const SERVICE_TYPE: usize = 6;
    pub const ADDRESS: usize = 21;
    pub const TIME: usize = 17;
    pub const MESSAGE_ID: usize = 65;
    /// `short_message` octets (`sm_length` is one octet; §4.4.1 says 0 to 254).
    pub const SHORT_MESSAGE: usize = 254;
}

/// A `command_id` (§5.1.2). Responses have bit 31 set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandId(pub u32);

impl CommandId {
    pub const GENERIC_NACK: CommandId = CommandId(0x8000_0000);
    pub const BIND_RECEIVER: CommandId = CommandId(0x0000_0001);
    pub const BIND_RECEIVER_RESP: CommandId = CommandId(0x8000_0001);
    pub const BIND_TRANSMITTER: CommandId = CommandId(0x0000_0002);
    pub const BIND_TRANSMITTER_RESP: CommandId = CommandId(0x8000_0002);
    pub const QUERY_SM: CommandId = CommandId(0x0000_0003);
    pub const SUBMIT_SM: CommandId = CommandId(0x0000_0004);
    pub const SUBMIT_SM_RESP: CommandId = CommandId(0x8000_0004);
    pub const DELIVER_SM: CommandId = CommandId(0x0000_0005);
    pub const DELIVER_SM_RESP: CommandId = CommandId(0x8000_0005);
    pub const UNBIND: CommandId = CommandId(0x0000_0006);
    pub const UNBIND_RESP: CommandId = CommandId(0x8000_0006);
    pub const BIND_TRANSCEIVER: CommandId = CommandId(0x0000_0009);
    pub const BIND_TRANSCEIVER_RESP: CommandId = CommandId(0x8000_0009);
    pub const OUTBIND: CommandId = CommandId(0x0000_000B);
    pub const ENQUIRE_LINK: CommandId = CommandId(0x0000_0015);
    pub const ENQUIRE_LINK_RESP: CommandId = CommandId(0x8000_0015);
    pub const DATA_SM: CommandId = CommandId(0x0000_0103);

    /// Whether this answers a request (bit 31 set).
    pub fn is_response(self) -> bool {
        self.0 & 0x8000_0000 != 0
    }

    /// The response command id for this request.
    pub fn response(self) -> CommandId {
        CommandId(self.0 | 0x8000_0000)
    }
}

/// The three ways to bind (§2.2): send only, receive only, or both on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindKind {
    Transmitter,
    Receiver,
    Transceiver,
}

impl BindKind {
    fn request(self) -> CommandId {
        match self {
            BindKind::Transmitter => CommandId::BIND_TRANSMITTER,
            BindKind::Receiver => CommandId::BIND_RECEIVER,
            BindKind::Transceiver => CommandId::BIND_TRANSCEIVER,
        }
    }
}

/// An address with its type of number and numbering plan (§5.2.5, §5.2.6): TON 1
/// international, 2 national, 3 network specific (short codes), 5 alphanumeric; NPI 1
/// E.164.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub ton: u8,
    pub npi: u8,
    pub address: Vec<u8>,
}

impl Address {
    pub fn new(ton: u8, npi: u8, address: impl Into<Vec<u8>>) -> Address {
        Address {
            ton,
            npi,
            address: address.into(),
        }
    }
}

/// `bind_transmitter`, `bind_receiver` or `bind_transceiver` (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub kind: BindKind,
    pub system_id: Vec<u8>,
    pub password: Vec<u8>,
    pub system_type: Vec<u8>,
    pub interface_version: u8,
    /// `addr_ton`, `addr_npi` and `address_range`: which addresses a receiver serves.
    pub address_range: Address,
}

/// `submit_sm` (§4.4.1) and `deliver_sm` (§4.6.1), which share one layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShortMessage {
    pub service_type: Vec<u8>,
    pub source: Address,
    pub destination: Address,
    /// Message mode and type; 0x40 (UDHI) says `short_message` starts with a user data
    /// header; bits 2–5 say what a `deliver_sm` is (0x04: a delivery receipt).
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority_flag: u8,
    pub schedule_delivery_time: Vec<u8>,
    pub validity_period: Vec<u8>,
    /// Bit 0: ask the SMSC for a delivery receipt.
    pub registered_delivery: u8,
    pub replace_if_present_flag: u8,
    /// 0: the SMSC's default alphabet (GSM 7-bit for most), 8: UCS-2.
    pub data_coding: u8,
    pub sm_default_msg_id: u8,
    pub short_message: Vec<u8>,
    pub tlvs: Vec<Tlv>,
}

impl ShortMessage {
    /// The esm_class flag that says `short_message` starts with a user data header.
    pub const UDHI: u8 = 0x40;

    /// The first optional parameter with `tag`.
    pub fn tlv(&self, tag: u16) -> Option<&Tlv> {
        tlv::find(&self.tlvs, tag)
    }
}

/// What a PDU carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Bind(Bind),
    /// A bind's answer: the SMSC's `system_id` (absent when the bind failed) and optional
    /// parameters (`sc_interface_version`).
    BindResp {
        kind: BindKind,
        system_id: Vec<u8>,
        tlvs: Vec<Tlv>,
    },
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    /// The answer to a PDU that could not be read or is not supported (§4.3).
    GenericNack,
    SubmitSm(ShortMessage),
    /// The SMSC's id for the submitted message (absent when refused).
    SubmitSmResp {
        message_id: Vec<u8>,
    },
    DeliverSm(ShortMessage),
    DeliverSmResp,
    /// A command this crate does not decode, its body as it came.
    Other {
        command_id: CommandId,
        body: Vec<u8>,
    },
}

/// One PDU: the header's status and sequence number, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub status: CommandStatus,
    /// Pairs a response with its request (§3.2: 0x00000001 to 0x7FFFFFFF).
    pub sequence: u32,
    pub body: Body,
}

/// The header alone: enough to answer a PDU whose body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub length: u32,
    pub command_id: CommandId,
    pub status: CommandStatus,
    pub sequence: u32,
}

/// Why octets are not a PDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0} octets are fewer than a PDU header's 16")]
    Short(usize),
    #[error("command_length says {declared} octets, the PDU has {actual}")]
    LengthMismatch { declared: u32, actual: usize },
    #[error("the PDU ends inside {field}")]
    Truncated { field: &'static str },
    #[error("{field} has no terminating NUL")]
    Unterminated { field: &'static str },
    #[error("{field} is longer than its {max} octets")]
    TooLong { field: &'static str, max: usize },
    #[error("{command:?} carries {extra} octets it should not")]
    Trailing { command: CommandId, extra: usize },
}

/// Why a PDU cannot be encoded as it is (a field too long for its size).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is longer than its {max} octets")]
pub struct EncodeError {
    pub field: &'static str,
    pub max: usize,
}

impl Header {
    /// Reads the header of `frame` (its first 16 octets).
    pub fn read(frame: &[u8]) -> Result<Header, DecodeError> {
        if frame.len() < HEADER_LEN {
            return Err(DecodeError::Short(frame.len()));
        }
        let mut reader = Reader::new(frame);
        Ok(Header {
            length: reader.u32("command_length")?,
            command_id: CommandId(reader.u32("command_id")?),
            status: CommandStatus(reader.u32("command_status")?),
            sequence: reader.u32("sequence_number")?,
        })
    }
}

impl Pdu {
    pub fn new(sequence: u32, body: Body) -> Pdu {
        Pdu {
            status: CommandStatus::OK,
            sequence,
            body,
        }
    }

    /// The command id the body stands for.
    pub fn command_id(&self) -> CommandId {
        match &self.body {
            Body::Bind(bind) => bind.kind.request(),
            Body::BindResp { kind, .. } => kind.request().response(),
            Body::Unbind => CommandId::UNBIND,
            Body::UnbindResp => CommandId::UNBIND_RESP,
            Body::EnquireLink => CommandId::ENQUIRE_LINK,
            Body::EnquireLinkResp => CommandId::ENQUIRE_LINK_RESP,
            Body::GenericNack => CommandId::GENERIC_NACK,
            Body::SubmitSm(_) => CommandId::SUBMIT_SM,
            Body::SubmitSmResp { .. } => CommandId::SUBMIT_SM_RESP,
            Body::DeliverSm(_) => CommandId::DELIVER_SM,
            Body::DeliverSmResp => CommandId::DELIVER_SM_RESP,
            Body::Other { command_id, .. } => *command_id,
        }
    }

    /// Decodes exactly one PDU: `frame` is its `command_length` octets.
    pub fn decode(frame: &[u8]) -> Result<Pdu, DecodeError> {
        let header = Header::read(frame)?;
        if usize::try_from(header.length).ok() != Some(frame.len()) {
            return Err(DecodeError::LengthMismatch {
                declared: header.length,
                actual: frame.len(),
            });
        }
        let mut reader = Reader::new(frame.get(HEADER_LEN..).unwrap_or_default());
        let failed = header.status != CommandStatus::OK;
        let id = header.command_id;
        let body = match id {
            CommandId::BIND_TRANSMITTER => {
                Body::Bind(read_bind(&mut reader, BindKind::Transmitter)?)
            }
            CommandId::BIND_RECEIVER => Body::Bind(read_bind(&mut reader, BindKind::Receiver)?),
            CommandId::BIND_TRANSCEIVER => {
                Body::Bind(read_bind(&mut reader, BindKind::Transceiver)?)
            }
            CommandId::BIND_TRANSMITTER_RESP => read_bind_resp(&mut reader, BindKind::Transmitter)?,
            CommandId::BIND_RECEIVER_RESP => read_bind_resp(&mut reader, BindKind::Receiver)?,
            CommandId::BIND_TRANSCEIVER_RESP => read_bind_resp(&mut reader, BindKind::Transceiver)?,
            CommandId::UNBIND => Body::Unbind,
            CommandId::UNBIND_RESP => Body::UnbindResp,
            CommandId::ENQUIRE_LINK => Body::EnquireLink,
            CommandId::ENQUIRE_LINK_RESP => Body::EnquireLinkResp,
            CommandId::GENERIC_NACK => Body::GenericNack,
            CommandId::SUBMIT_SM => Body::SubmitSm(read_short_message(&mut reader)?),
            CommandId::DELIVER_SM => Body::DeliverSm(read_short_message(&mut reader)?),
            CommandId::SUBMIT_SM_RESP => {
                // §4.4.2: a refused submit_sm's response may carry no body at all.
                let message_id = if failed && reader.is_empty() {
                    Vec::new()
                } else {
                    reader.c_string(max::MESSAGE_ID, "message_id")?
                };
                Body::SubmitSmResp { message_id }
            }
            CommandId::DELIVER_SM_RESP => {
                // message_id is unused and a single NUL (§4.6.2); some send nothing.
                if !reader.is_empty() {
                    reader.c_string(max::MESSAGE_ID, "message_id")?;
                }
                Body::DeliverSmResp
            }
            other => Body::Other {
                command_id: other,
                body: reader.rest().to_vec(),
            },
        };
        if !reader.is_empty() {
            return Err(DecodeError::Trailing {
                command: id,
                extra: reader.rest().len(),
            });
        }
        Ok(Pdu {
            status: header.status,
            sequence: header.sequence,
            body,
        })
    }

    /// Whether every field fits its size, so [`Pdu::encode`] writes it unchanged.
    pub fn check(&self) -> Result<(), EncodeError> {
        let fits = |value: &[u8], max: usize, field: &'static str| {
            // A C-Octet String holds max - 1 octets and no NUL of its own.
            if value.len() >= max || value.contains(&0) {
                Err(EncodeError { field, max })
            } else {
                Ok(())
            }
        };
        let tlvs_fit = |tlvs: &[Tlv]| {
            if tlvs.iter().any(|t| t.value.len() > usize::from(u16::MAX)) {
                Err(EncodeError {
                    field: "optional parameter value",
                    max: usize::from(u16::MAX),
                })
            } else {
                Ok(())
            }
        };
        match &self.body {
            Body::Bind(bind) => {
                fits(&bind.system_id, max::SYSTEM_ID, "system_id")?;
                fits(&bind.password, max::PASSWORD, "password")?;
                fits(&bind.system_type, max::SYSTEM_TYPE, "system_type")?;
                fits(
                    &bind.address_range.address,
                    max::ADDRESS_RANGE,
                    "address_range",
                )
            }
            Body::BindResp {
                system_id, tlvs, ..
            } => {
                fits(system_id, max::SYSTEM_ID, "system_id")?;
                tlvs_fit(tlvs)
            }
            Body::SubmitSm(sm) | Body::DeliverSm(sm) => {
                fits(&sm.service_type, max::SERVICE_TYPE, "service_type")?;
                fits(&sm.source.address, max::ADDRESS, "source_addr")?;
                fits(&sm.destination.address, max::ADDRESS, "destination_addr")?;
                fits(
                    &sm.schedule_delivery_time,
                    max::TIME,
                    "schedule_delivery_time",
                )?;
                fits(&sm.validity_period, max::TIME, "validity_period")?;
                if sm.short_message.len() > max::SHORT_MESSAGE {
                    return Err(EncodeError {
                        field: "short_message",
                        max: max::SHORT_MESSAGE,
                    });
                }
                tlvs_fit(&sm.tlvs)
            }
            Body::SubmitSmResp { message_id } => fits(message_id, max::MESSAGE_ID, "message_id"),
            _ => Ok(()),
        }
    }

    /// The PDU's octets, header included. Fields too long for their size are cut (see
    /// [`Pdu::check`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match &self.body {
            Body::Bind(bind) => {
                w.c_string(&bind.system_id, max::SYSTEM_ID);
                w.c_string(&bind.password, max::PASSWORD);
                w.c_string(&bind.system_type, max::SYSTEM_TYPE);
                w.u8(bind.interface_version);
                w.u8(bind.address_range.ton);
                w.u8(bind.address_range.npi);
                w.c_string(&bind.address_range.address, max::ADDRESS_RANGE);
            }
            Body::BindResp {
                system_id, tlvs, ..
            } => {
                w.c_string(system_id, max::SYSTEM_ID);
                tlv::write_all(&mut w, tlvs);
            }
            Body::SubmitSm(sm) | Body::DeliverSm(sm) => write_short_message(&mut w, sm),
            Body::SubmitSmResp { message_id } => w.c_string(message_id, max::MESSAGE_ID),
            Body::DeliverSmResp => w.c_string(&[], max::MESSAGE_ID),
            Body::Other { body, .. } => w.raw(body),
            Body::Unbind
            | Body::UnbindResp
            | Body::EnquireLink
            | Body::EnquireLinkResp
            | Body::GenericNack => {}
        }
        let length = u32::try_from(HEADER_LEN + w.bytes.len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(HEADER_LEN + w.bytes.len());
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&self.command_id().0.to_be_bytes());
        out.extend_from_slice(&self.status.0.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&w.bytes);
        out
    }
}

fn read_bind(r: &mut Reader<'_>, kind: BindKind) -> Result<Bind, DecodeError> {
    Ok(Bind {
        kind,
        system_id: r.c_string(max::SYSTEM_ID, "system_id")?,
        password: r.c_string(max::PASSWORD, "password")?,
        system_type: r.c_string(max::SYSTEM_TYPE, "system_type")?,
        interface_version: r.u8("interface_version")?,
        address_range: Address {
            ton: r.u8("addr_ton")?,
            npi: r.u8("addr_npi")?,
            address: r.c_string(max::ADDRESS_RANGE, "address_range")?,
        },
    })
}

fn read_bind_resp(r: &mut Reader<'_>, kind: BindKind) -> Result<Body, DecodeError> {
    // §4.1.2: no system_id when the bind failed; some SMSCs send an empty body then.
    let system_id = if r.is_empty() {
        Vec::new()
    } else {
        r.c_string(max::SYSTEM_ID, "system_id")?
    };
    Ok(Body::BindResp {
        kind,
        system_id,
        tlvs: tlv::read_all(r)?,
    })
}

fn read_short_message(r: &mut Reader<'_>) -> Result<ShortMessage, DecodeError> {
    let service_type = r.c_string(max::SERVICE_TYPE, "service_type")?;
    let source = Address {
        ton: r.u8("source_addr_ton")?,
        npi: r.u8("source_addr_npi")?,
        address: r.c_string(max::ADDRESS, "source_addr")?,
    };
    let destination = Address {
        ton: r.u8("dest_addr_ton")?,
        npi: r.u8("dest_addr_npi")?,
        address: r.c_string(max::ADDRESS, "destination_addr")?,
    };
    let esm_class = r.u8("esm_class")?;
    let protocol_id = r.u8("protocol_id")?;
    let priority_flag = r.u8("priority_flag")?;
    let schedule_delivery_time = r.c_string(max::TIME, "schedule_delivery_time")?;
    let validity_period = r.c_string(max::TIME, "validity_period")?;
    let registered_delivery = r.u8("registered_delivery")?;
    let replace_if_present_flag = r.u8("replace_if_present_flag")?;
    let data_coding = r.u8("data_coding")?;
    let sm_default_msg_id = r.u8("sm_default_msg_id")?;
    let sm_length = r.u8("sm_length")?;
    let short_message = r.take(usize::from(sm_length), "short_message")?.to_vec();
    Ok(ShortMessage {
        service_type,
        source,
        destination,
        esm_class,
        protocol_id,
        priority_flag,
        schedule_delivery_time,
        validity_period,
        registered_delivery,
        replace_if_present_flag,
        data_coding,
        sm_default_msg_id,
        short_message,
        tlvs: tlv::read_all(r)?,
    })
}

fn write_short_message(w: &mut Writer, sm: &ShortMessage) {
    w.c_string(&sm.service_type, max::SERVICE_TYPE);
    w.u8(sm.source.ton);
    w.u8(sm.source.npi);
    w.c_string(&sm.source.address, max::ADDRESS);
    w.u8(sm.destination.ton);
    w.u8(sm.destination.npi);
    w.c_string(&sm.destination.address, max::ADDRESS);
    w.u8(sm.esm_class);
    w.u8(sm.protocol_id);
    w.u8(sm.priority_flag);
    w.c_string(&sm.schedule_delivery_time, max::TIME);
    w.c_string(&sm.validity_period, max::TIME);
    w.u8(sm.registered_delivery);
    w.u8(sm.replace_if_present_flag);
    w.u8(sm.data_coding);
    w.u8(sm.sm_default_msg_id);
    // sm_length is one octet: 255 is the most it can say, though §4.4.1 allows only 254
    // (check() holds our own PDUs to that; one an SMSC sent with 255 is written back as
    // it came).
    let text = sm
        .short_message
        .get(..sm.short_message.len().min(usize::from(u8::MAX)))
        .unwrap_or_default();
    w.u8(u8::try_from(text.len()).unwrap_or(u8::MAX));
    w.raw(text);
    tlv::write_all(w, &sm.tlvs);
}
