//! Encoding and decoding of whole messages, XML or WBXML.
//!
//! ```
//! use dm_core::codec::{self, Encoding};
//! let xml = br#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
//!   <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
//!   <Target><LocURI>https://dm.example.com</LocURI></Target><Source><LocURI>IMEI:1</LocURI></Source>
//!   </SyncHdr><SyncBody><Alert><CmdID>1</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>"#;
//! let msg = codec::decode(xml).unwrap();
//! assert_eq!(msg.commands[0].name(), "Alert");
//! let bytes = codec::encode(&msg, Encoding::Xml);
//! assert_eq!(bytes.len(), codec::encoded_len(&msg, Encoding::Xml));
//! assert_eq!(codec::decode(&bytes).unwrap(), msg);
//! ```

mod convert;
mod decode;
mod embedded;
mod emit;
mod plain;
mod source;
mod strtbl;
mod tag;
mod wbxml;
mod wellformed;
mod xml;

use std::borrow::Cow;

use crate::Limits;
use crate::error::{DecodeError, DecodeErrorKind, Error, Limit, LimitError, Site, UsageError};
use crate::model::{Message, ProtocolVersion};
use emit::{Counter, Out};
pub(crate) use wellformed::has_internal_subset;
pub use xml::is_xml_text;
pub(crate) use xml::{escaped_prefix, reference};

/// The two wire encodings of SyncML DM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Encoding {
    /// XML text, `application/vnd.syncml.dm+xml`.
    #[default]
    Xml,
    /// WBXML 1.3, `application/vnd.syncml.dm+wbxml`.
    Wbxml,
}

impl Encoding {
    /// The HTTP content type of DM messages in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Xml => "application/vnd.syncml.dm+xml",
            Encoding::Wbxml => "application/vnd.syncml.dm+wbxml",
        }
    }

    /// Accepts the DM types and the older `application/vnd.syncml+xml|+wbxml` that some clients
    /// post; parameters after `;` are ignored.
    pub fn from_content_type(content_type: &str) -> Option<Encoding> {
        let mime = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/vnd.syncml.dm+xml" | "application/vnd.syncml+xml" => Some(Encoding::Xml),
            "application/vnd.syncml.dm+wbxml" | "application/vnd.syncml+wbxml" => Some(Encoding::Wbxml),
            _ => None,
        }
    }
}

/// Tells XML from WBXML by the first bytes: XML starts with `<` (after a BOM or whitespace),
/// WBXML with its version byte 0x00–0x03 (1.0 is then refused by the decoder).
pub fn detect(bytes: &[u8]) -> Option<Encoding> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body.iter().find(|b| !b.is_ascii_whitespace())? {
        b'<' => Some(Encoding::Xml),
        0x00..=0x03 if bytes[0] <= 0x03 => Some(Encoding::Wbxml),
        _ => None,
    }
}

/// How strictly to decode, and the limits to hold a peer to.
#[derive(Clone, Debug, Default)]
pub struct DecodeOptions {
    /// Accept what real peers send although it is not valid: a bare `&` in text, namespace
    /// values in typographic quotes, MetInf elements without their namespace, text between
    /// elements, content in empty elements, unknown entities (kept as written). Never text XML
    /// cannot carry but in Data (`DecodeErrorKind::NotXmlText`): a peer's URI or session id
    /// holding it would come back in a message of ours that every peer refuses. Strictly read,
    /// XML is also held to what quick-xml's reader does not check (`]]>` in text, `--` in a
    /// comment, a misplaced declaration or one of an encoding not read, a DOCTYPE inside the
    /// root, `<` in an attribute value).
    pub lenient: bool,
    /// What the message may hold at most.
    pub limits: Limits,
}

impl DecodeOptions {
    /// Lenient decoding with the default limits.
    pub fn lenient() -> Self {
        DecodeOptions { lenient: true, ..DecodeOptions::default() }
    }
}

/// ISO-8859-1 text: each byte a character (borrowed when it is all ASCII).
pub(crate) fn from_latin1(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(ascii) if bytes.is_ascii() => Cow::Borrowed(ascii),
        _ => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Decodes one message, XML or WBXML (detected), strictly and with the default limits.
pub fn decode(bytes: &[u8]) -> Result<Message, Error> {
    decode_with(bytes, &DecodeOptions::default())
}

/// Decodes one message with the given options.
pub fn decode_with(bytes: &[u8], options: &DecodeOptions) -> Result<Message, Error> {
    let limits = &options.limits;
    if bytes.len() > limits.max_message_size {
        let site = Site::default();
        return Err(LimitError {
            limit: Limit::MessageSize,
            value: bytes.len() as u64,
            max: limits.max_message_size as u64,
            site,
        }
        .into());
    }
    match detect(bytes) {
        Some(Encoding::Xml) => {
            let text = xml::text_of(bytes)?;
            let message = xml::decode(&text, limits, options.lenient)?;
            if !options.lenient {
                wellformed::markup_chars(&text)?;
            }
            Ok(message)
        }
        Some(Encoding::Wbxml) => {
            let mut src = wbxml::WbxmlSource::new(bytes, limits)?;
            Ok(decode::Parser::new(&mut src, limits, options.lenient).message()?)
        }
        None => Err(DecodeError { kind: DecodeErrorKind::UnknownEncoding, site: Site::default() }.into()),
    }
}

/// Encodes a message, compact and deterministic. It writes any model as it is: see `writable`.
pub fn encode(message: &Message, encoding: Encoding) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write(message, encoding, &mut out);
    out
}

/// The exact number of bytes `encode` produces, computed without producing them.
pub fn encoded_len(message: &Message, encoding: Encoding) -> usize {
    let mut counter = Counter::default();
    write(message, encoding, &mut counter);
    counter.0
}

/// The bytes one command adds to a message: exact in compact XML; in WBXML at most that (its
/// strings inline, and a switch back to code page 0 after it), so that lengths add up to a
/// bound `encode` never exceeds (see `plain_len`).
pub(crate) fn command_len(command: &crate::model::Command, encoding: Encoding) -> usize {
    let mut counter = Counter::default();
    match encoding {
        Encoding::Xml => emit::command(&mut xml::XmlSink::new(&mut counter, "", false), command),
        Encoding::Wbxml => {
            let table = strtbl::StringTable::default();
            let mut sink = wbxml::WbxmlSink::body(&mut counter, &table);
            emit::command(&mut sink, command);
            if !sink.on_page_0() {
                counter.0 += 2;
            }
        }
    }
    counter.0
}

/// Refuses a message that holds text XML cannot carry (`is_xml_text`): `encode` writes any
/// model as it is, and no decoder would read such text back. A decoded message, or one a
/// session composed, never holds any; check one built by hand before it is written.
pub fn writable(message: &Message) -> Result<(), UsageError> {
    match uncarriable(|check| emit::header(check, &message.header)) {
        Some(element) => Err(not_carriable(element, "SyncHdr")),
        None => message.commands.iter().try_for_each(carriable),
    }
}

/// A command holding text XML cannot carry is refused, naming the element (in an embedded
/// document, a character reference to such text counts too).
pub(crate) fn carriable(command: &crate::model::Command) -> Result<(), UsageError> {
    match uncarriable(|check| emit::command(check, command)) {
        Some(element) => Err(not_carriable(element, command.name())),
        None => Ok(()),
    }
}

fn not_carriable(element: &str, place: &str) -> UsageError {
    UsageError(format!(
        "the text of {element} in {place} holds a character XML cannot carry (a control character, U+FFFE or \
         U+FFFF): give such a value as bytes"
    ))
}

/// The first element whose text XML cannot carry among those `emit` writes.
fn uncarriable(emit: impl FnOnce(&mut Check)) -> Option<&'static str> {
    let mut check = Check(None);
    emit(&mut check);
    check.0.map(tag::Tag::name)
}

struct Check(Option<tag::Tag>);

impl Check {
    fn text(&mut self, tag: tag::Tag, text: &str) {
        if self.0.is_none() && !is_xml_text(text) {
            self.0 = Some(tag);
        }
    }
}

impl emit::Sink<'_> for Check {
    fn start(&mut self, _: tag::Tag) {}
    fn end(&mut self, _: tag::Tag) {}
    fn empty(&mut self, _: tag::Tag) {}
    fn number(&mut self, _: tag::Tag, _: u64) {}
    fn leaf(&mut self, tag: tag::Tag, text: &str) {
        self.text(tag, text);
    }
    fn data(&mut self, data: &crate::model::Data) {
        use crate::model::Data;
        match data {
            Data::Text(text) => self.text(tag::Tag::Data, text),
            // A reference is looked for anywhere, even where it would be none (CDATA).
            Data::Xml(xml) if self.0.is_none() && wellformed::has_ref_outside_xml(xml) => self.0 = Some(tag::Tag::Data),
            Data::Xml(xml) => self.text(tag::Tag::Data, xml),
            Data::Binary(_) => {}
        }
    }
}

/// The length of `message` with every WBXML string inline: `encoded_len` never exceeds it (a
/// string table is only used when it pays for itself). The exact length in XML.
pub(crate) fn plain_len(message: &Message, encoding: Encoding) -> usize {
    let mut counter = Counter::default();
    match encoding {
        Encoding::Xml => write(message, encoding, &mut counter),
        Encoding::Wbxml => write_wbxml(message, &strtbl::StringTable::default(), &mut counter),
    }
    counter.0
}

/// Encodes a message as indented XML, for people.
pub fn to_pretty_xml(message: &Message) -> String {
    let mut sink = xml::XmlSink::new(Vec::new(), namespace(message), true);
    emit::message(&mut sink, message);
    sink.out.push(b'\n');
    // The writer only ever writes UTF-8 (str input, ASCII markup).
    String::from_utf8(sink.out).unwrap_or_default()
}

fn write(message: &Message, encoding: Encoding, out: &mut impl Out) {
    match encoding {
        Encoding::Xml => {
            let mut sink = xml::XmlSink::new(out, namespace(message), false);
            emit::message(&mut sink, message);
        }
        Encoding::Wbxml => write_wbxml(message, &strtbl::StringTable::build(message), out),
    }
}

fn write_wbxml(message: &Message, table: &strtbl::StringTable<'_>, out: &mut impl Out) {
    let public_id = match message.header.version() {
        Some(ProtocolVersion::Dm11) => wbxml::PUBLIC_ID_SYNCML11,
        _ => wbxml::PUBLIC_ID_SYNCML12,
    };
    let mut sink = wbxml::WbxmlSink::new(out, public_id, table);
    emit::message(&mut sink, message);
}

/// Converts an XML message to WBXML (decoding it leniently).
pub fn xml_to_wbxml(xml: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(encode(&decode_with(xml, &DecodeOptions::lenient())?, Encoding::Wbxml))
}

/// Converts a WBXML message to compact XML as sent: element by element, without building the
/// message (its WBXML is checked, its SyncML structure is not: `decode` does that).
pub fn wbxml_to_xml(wbxml: &[u8]) -> Result<String, Error> {
    Ok(convert::wbxml_to_xml(wbxml, &Limits::default())?)
}

fn namespace(message: &Message) -> &'static str {
    match message.header.version() {
        Some(ProtocolVersion::Dm11) => ProtocolVersion::Dm11.namespace(),
        _ => ProtocolVersion::Dm12.namespace(),
    }
}

impl<O: Out> Out for &mut O {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        (**self).put(bytes)
    }

    #[inline]
    fn put_padded<const N: usize>(&mut self, markup: &tag::Padded<N>) {
        (**self).put_padded(markup)
    }
}

impl Message {
    /// Compact XML, as [`encode`] writes it.
    pub fn to_xml(&self) -> String {
        // The writer only ever writes UTF-8.
        String::from_utf8(encode(self, Encoding::Xml)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session engines size a message by adding each command's length (`command_len`):
    /// that must be exact in XML, and in WBXML a bound of what `encode` writes, for every
    /// message the vectors hold.
    #[test]
    fn message_length_is_at_most_the_sum_of_the_commands() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
        let mut seen = 0;
        for sub in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            for file in std::fs::read_dir(sub.path()).into_iter().flatten().flatten() {
                let Ok(mut m) = std::fs::read(file.path())
                    .map_err(|_| ())
                    .and_then(|b| decode_with(&b, &DecodeOptions::lenient()).map_err(|_| ()))
                else {
                    continue;
                };
                m.is_final = true;
                let rest = std::mem::take(&mut m.commands);
                let first = [Encoding::Xml, Encoding::Wbxml].map(|e| plain_len(&m, e));
                let sum =
                    [Encoding::Xml, Encoding::Wbxml].map(|e| rest.iter().map(|c| command_len(c, e)).sum::<usize>());
                m.commands.extend(rest);
                let name = file.path().display().to_string();
                assert_eq!(encoded_len(&m, Encoding::Xml), first[0] + sum[0], "{name}");
                let wbxml = encoded_len(&m, Encoding::Wbxml);
                assert!(wbxml <= plain_len(&m, Encoding::Wbxml), "{name}");
                assert!(plain_len(&m, Encoding::Wbxml) <= first[1] + sum[1], "{name}");
                seen += 1;
            }
        }
        assert!(seen > 20, "vectors not found under {}", dir.display());
    }
}
