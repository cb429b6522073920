//! Package 0 and bootstrap over WAP Push, as servers send them to devices (WAP-230 WSP, WAP-259
//! WDP): the connectionless Push PDU that holds a notification (Content-Type 0x44) or a
//! bootstrap (0x42, its SEC and MAC as parameters), X-WAP-Application-ID
//! `x-wap-application:syncml.dm`, and the SMS user data that carries it to WDP port 2948.

use crate::bootstrap::{self, Security};
use crate::error::{DecodeError, DecodeErrorKind, Site, UsageError};
use crate::notification;

/// WSP's code for `application/vnd.syncml.notification`.
pub const CONTENT_TYPE_CODE: u8 = 0x44;
/// WSP's code for `application/vnd.syncml.dm+wbxml`, a bootstrap's content type.
pub const BOOTSTRAP_CODE: u8 = 0x42;
/// WSP's code for `x-wap-application:syncml.dm`, the X-WAP-Application-ID of DM.
pub const APPLICATION_ID: u8 = 0x07;
/// The WDP port a push goes to.
pub const PUSH_PORT: u16 = 2948;
/// The WDP port a push comes from.
pub const SOURCE_PORT: u16 = 9200;
/// The user data one SMS holds, in bytes.
pub const SMS_USER_DATA: usize = 140;

const PUSH: u8 = 0x06;
const CONFIRMED_PUSH: u8 = 0x07;
const X_WAP_APPLICATION_ID: u8 = 0x2F;
const SHORT: u8 = 0x80;
/// WSP's well-known parameters of a bootstrap's Content-Type.
const SEC: u8 = 0x11;
const MAC: u8 = 0x12;
/// Value-length's quote: a uintvar length follows.
const LENGTH_QUOTE: u8 = 31;

fn bad(offset: usize, why: impl Into<String>) -> DecodeError {
    DecodeError { kind: DecodeErrorKind::WapPush(why.into()), site: Site { offset: offset as u64, ..Site::default() } }
}

/// The Push PDU for `notification`, with transaction id `tid`.
pub fn wrap(tid: u8, notification: &[u8]) -> Vec<u8> {
    pdu(tid, &[SHORT | CONTENT_TYPE_CODE], notification)
}

/// The Push PDU for a bootstrap message `body` whose MAC is `mac` (hexadecimal, as
/// `bootstrap::mac` gives it) by `security`: Content-Type 0x42 in WSP's general form with the
/// SEC (0x11) and MAC (0x12) parameters.
pub fn wrap_bootstrap(tid: u8, body: &[u8], security: Security, mac: &str) -> Vec<u8> {
    let media =
        [&[SHORT | BOOTSTRAP_CODE, SHORT | SEC, SHORT | security.code(), SHORT | MAC][..], mac.as_bytes(), &[0]]
            .concat();
    let length = match u8::try_from(media.len()) {
        Ok(n) if n < LENGTH_QUOTE => vec![n],
        _ => [&[LENGTH_QUOTE][..], &uintvar_bytes(media.len())].concat(),
    };
    pdu(tid, &[length, media].concat(), body)
}

fn pdu(tid: u8, content_type: &[u8], body: &[u8]) -> Vec<u8> {
    let headers = [content_type, &[SHORT | X_WAP_APPLICATION_ID, SHORT | APPLICATION_ID]].concat();
    [&[tid, PUSH][..], &uintvar_bytes(headers.len()), &headers, body].concat()
}

/// The notification a Push (or ConfirmedPush) PDU holds: its content type must be a
/// notification's, as a code, as text, or in the general form with parameters; the other
/// headers are skipped.
pub fn unwrap(pdu: &[u8]) -> Result<&[u8], DecodeError> {
    let (at, headers, body) = split(pdu)?;
    match media(headers) {
        Some((Value::Integer(c), _)) if c == u32::from(CONTENT_TYPE_CODE) => Ok(body),
        Some((Value::Text(t), _)) if t.eq_ignore_ascii_case(notification::CONTENT_TYPE.as_bytes()) => Ok(body),
        _ => Err(bad(at, format!("the content type is not {}", notification::CONTENT_TYPE))),
    }
}

/// The bootstrap message a Push PDU holds, and its Content-Type as text with the SEC and MAC it
/// carried (`application/vnd.syncml.dm+wbxml; SEC=USERPIN; MAC=...`), as `bootstrap::apply`
/// takes it. SEC and MAC are read as WSP's well-known parameters or as text ones.
pub fn unwrap_bootstrap(pdu: &[u8]) -> Result<(&[u8], String), DecodeError> {
    let (at, headers, body) = split(pdu)?;
    let params = match media(headers) {
        Some((Value::Integer(c), params)) if c == u32::from(BOOTSTRAP_CODE) => params,
        Some((Value::Text(t), params)) if t.eq_ignore_ascii_case(bootstrap::CONTENT_TYPE.as_bytes()) => params,
        _ => return Err(bad(at, format!("the content type is not {}", bootstrap::CONTENT_TYPE))),
    };
    let mut content_type = bootstrap::CONTENT_TYPE.to_string();
    for (name, value) in parameters(params) {
        let value = match value {
            Value::Integer(n) if name == "SEC" => {
                Security::from_code(n).map_or_else(|| n.to_string(), |s| s.name().to_string())
            }
            Value::Integer(n) => n.to_string(),
            Value::Text(t) => String::from_utf8_lossy(t).into_owned(),
        };
        if name == "SEC" || name == "MAC" {
            content_type.push_str(&format!("; {name}={value}"));
        }
    }
    Ok((body, content_type))
}

/// A Push or ConfirmedPush PDU's headers (with where they start) and body.
fn split(pdu: &[u8]) -> Result<(usize, &[u8], &[u8]), DecodeError> {
    match pdu.get(1) {
        Some(&(PUSH | CONFIRMED_PUSH)) => {}
        Some(other) => return Err(bad(1, format!("PDU type {other:#04x}, not a Push (0x06) or ConfirmedPush (0x07)"))),
        None => return Err(bad(pdu.len(), "too short for a WSP Push PDU")),
    }
    let (headers_len, at) = uintvar(pdu, 2)?;
    let body = at
        .checked_add(headers_len)
        .filter(|&end| end <= pdu.len())
        .ok_or_else(|| bad(2, format!("headers of {headers_len} bytes in a PDU of {} bytes", pdu.len())))?;
    Ok((at, &pdu[at..body], &pdu[body..]))
}

/// The media type of the Content-Type value heading `headers` (a code, a long-integer code or
/// text, read as a parameter's value is), and its parameters (none in the short forms).
fn media(headers: &[u8]) -> Option<(Value<'_>, &[u8])> {
    match *headers.first()? {
        // The general form: its length, then the media type and its parameters.
        n if n < LENGTH_QUOTE => value(headers.get(1..1 + usize::from(n))?),
        LENGTH_QUOTE => {
            let (len, at) = uintvar(headers, 1).ok()?;
            value(headers.get(at..at.checked_add(len)?)?)
        }
        // A code or text alone: the headers after it are not its parameters.
        _ => value(headers).map(|(media, _)| (media, &[][..])),
    }
}

/// A Content-Type's media type, or a parameter's value.
enum Value<'a> {
    Integer(u32),
    Text(&'a [u8]),
}

/// The parameters of a Content-Type, each with its name (SEC and MAC by their codes, a text
/// one's in capitals, any other well-known one's empty) and value; Q (a uintvar) or a value of
/// no form this reader knows ends the list.
fn parameters(mut params: &[u8]) -> Vec<(String, Value<'_>)> {
    const Q: u8 = SHORT;
    let mut found = Vec::new();
    while let Some(&first) = params.first() {
        let (name, rest) = match first {
            b if b == SHORT | SEC => ("SEC".to_string(), &params[1..]),
            b if b == SHORT | MAC => ("MAC".to_string(), &params[1..]),
            b if b > Q => (String::new(), &params[1..]),
            0x20..=0x7F => {
                let (t, rest) = text(params);
                (String::from_utf8_lossy(t).to_ascii_uppercase(), rest)
            }
            _ => break, // Q, or no parameter
        };
        let Some((value, rest)) = value(rest) else { break };
        found.push((name, value));
        params = rest;
    }
    found
}

/// A parameter's value: a short or long integer, or text (quoted or not).
fn value(bytes: &[u8]) -> Option<(Value<'_>, &[u8])> {
    match *bytes.first()? {
        b if b >= SHORT => Some((Value::Integer(u32::from(b & 0x7F)), &bytes[1..])),
        n @ 1..=4 => {
            let v = bytes.get(1..1 + usize::from(n))?;
            Some((Value::Integer(v.iter().fold(0, |a, &b| a << 8 | u32::from(b))), &bytes[1 + v.len()..]))
        }
        0 => Some((Value::Text(&[]), &bytes[1..])),
        0x20.. => {
            let (t, rest) = text(bytes);
            Some((Value::Text(t), rest))
        }
        _ => None,
    }
}

/// WSP text up to its NUL (a leading quote, 0x7F or `"`, dropped), and what follows it.
fn text(bytes: &[u8]) -> (&[u8], &[u8]) {
    let bytes = bytes.strip_prefix(&[0x7F]).or_else(|| bytes.strip_prefix(b"\"")).unwrap_or(bytes);
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => (&bytes[..end], &bytes[end + 1..]),
        None => (bytes, &[]),
    }
}

/// A WSP uintvar at `at`: its value and where it ends.
fn uintvar(bytes: &[u8], at: usize) -> Result<(usize, usize), DecodeError> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().skip(at).take(5) {
        value = (value << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            let value = usize::try_from(value).map_err(|_| bad(at, "a uintvar past the address space"))?;
            return Ok((value, i + 1));
        }
    }
    Err(bad(at, "a truncated or overlong uintvar"))
}

fn uintvar_bytes(mut n: usize) -> Vec<u8> {
    let mut out = vec![(n & 0x7F) as u8];
    while n > 0x7F {
        n >>= 7;
        out.insert(0, SHORT | (n & 0x7F) as u8);
    }
    out
}

/// The SMS user data a Push PDU travels in, each part at most `SMS_USER_DATA` bytes: a user
/// data header addressing WDP ports 2948 and 9200, and, when it takes more than one SMS, a
/// concatenation element with `reference`, the number of parts and the part's number.
pub fn sms_user_data(pdu: &[u8], reference: u8) -> Result<Vec<Vec<u8>>, UsageError> {
    let [to_hi, to_lo] = PUSH_PORT.to_be_bytes();
    let [from_hi, from_lo] = SOURCE_PORT.to_be_bytes();
    let ports = [0x05, 0x04, to_hi, to_lo, from_hi, from_lo];
    if 1 + ports.len() + pdu.len() <= SMS_USER_DATA {
        return Ok(vec![[&[ports.len() as u8][..], &ports, pdu].concat()]);
    }
    let room = SMS_USER_DATA - (1 + 5 + ports.len());
    let parts = pdu.len().div_ceil(room);
    let count = u8::try_from(parts)
        .map_err(|_| UsageError(format!("{} bytes take {parts} SMS; concatenation allows 255", pdu.len())))?;
    Ok(pdu
        .chunks(room)
        .zip(1u8..)
        .map(|(part, n)| {
            let header = [(5 + ports.len()) as u8, 0x00, 0x03, reference, count, n];
            [&header[..], &ports, part].concat()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeErrorKind;

    #[test]
    fn a_push_holds_the_notification_behind_the_spec_examples_headers() {
        let pdu = wrap(0x01, b"pkg0");
        // WSP: transaction 1, Push, 3 bytes of headers: Content-Type 0xC4, X-WAP-Application-ID 0xAF 0x87.
        assert_eq!(pdu, [0x01, 0x06, 0x03, 0xC4, 0xAF, 0x87, b'p', b'k', b'g', b'0']);
        assert_eq!(unwrap(&pdu).unwrap(), b"pkg0");
    }

    #[test]
    fn a_push_names_its_content_type_in_any_of_wsps_forms() {
        let text = [&[0x00, 0x06, 0x26][..], notification::CONTENT_TYPE.as_bytes(), &[0x00, 0xAF, 0x87], b"n"].concat();
        // A ConfirmedPush, its type with a charset parameter (0x81 0xEA: UTF-8).
        let general = [0x00, 0x07, 0x06, 0x03, 0xC4, 0x81, 0xEA, 0xAF, 0x87, b'n'];
        let long_length = [0x00, 0x06, 0x04, 0x1F, 0x01, 0xC4, 0x00, b'n'];
        for pdu in [&text[..], &general, &long_length] {
            assert_eq!(unwrap(pdu).unwrap(), b"n", "{pdu:x?}");
        }
    }

    #[test]
    fn what_is_not_a_notification_push_is_refused_where_it_goes_wrong() {
        let cases: [(&[u8], u64); 5] = [
            (&[0x01], 1),                               // too short
            (&[0x01, 0x02, 0x00], 1),                   // a Connect, not a Push
            (&[0x01, 0x06, 0x09, 0xC4], 2),             // headers past the end
            (&[0x01, 0x06, 0x01, 0xAE, b'x'], 3),       // application/vnd.wap.sic
            (&[0x01, 0x06, 0xFF, 0xFF, 0xFF, 0xFF], 2), // a uintvar that never ends
        ];
        for (pdu, offset) in cases {
            let e = unwrap(pdu).unwrap_err();
            assert!(matches!(e.kind, DecodeErrorKind::WapPush(_)), "{pdu:x?}");
            assert_eq!(e.site.offset, offset, "{pdu:x?}: {e}");
        }
    }

    #[test]
    fn a_bootstrap_push_carries_sec_and_mac_as_wsp_parameters() {
        let mac = "7edc6a66be122fc6dabf42cdfb5796731c469459";
        let pdu = wrap_bootstrap(0x02, b"wbxml", Security::UserPin, mac);
        // Content-Type in the general form: length 45 (quoted), 0xC2, SEC (0x91) USERPIN (0x81),
        // MAC (0x92) its text; then X-WAP-Application-ID.
        let content_type = [&[0x1F, 45, 0xC2, 0x91, 0x81, 0x92][..], mac.as_bytes(), &[0x00]].concat();
        let headers = [&content_type[..], &[0xAF, 0x87]].concat();
        assert_eq!(pdu, [&[0x02, 0x06, headers.len() as u8][..], &headers, b"wbxml"].concat());
        let (body, ct) = unwrap_bootstrap(&pdu).unwrap();
        assert_eq!(
            (body, ct.as_str()),
            (&b"wbxml"[..], format!("{}; SEC=USERPIN; MAC={mac}", bootstrap::CONTENT_TYPE).as_str())
        );
        assert_eq!(bootstrap::seal(&ct).unwrap(), (Some(Security::UserPin), Some(mac.to_string())));
        // Not a notification, and a notification is not a bootstrap.
        assert!(unwrap(&pdu).is_err() && unwrap_bootstrap(&wrap(0, b"n")).is_err());
    }

    #[test]
    fn a_bootstrap_push_is_read_in_the_forms_gateways_write() {
        // Parameters as text, SEC as a number (USERPINMAC, 3: unknown, left to apply to refuse),
        // a charset before them; the media type as text.
        let value = [&[0xC2, 0x81, 0xEA][..], b"sec\0\x83", b"MAC\0\"ab\0"].concat();
        let headers = [&[value.len() as u8][..], &value, &[0xAF, 0x87]].concat();
        let text_params = [&[0x00, 0x06, headers.len() as u8][..], &headers, b"b"].concat();
        let (body, ct) = unwrap_bootstrap(&text_params).unwrap();
        assert_eq!((body, ct.as_str()), (&b"b"[..], "application/vnd.syncml.dm+wbxml; SEC=3; MAC=ab"));
        let as_text = [&[0x00, 0x06, 0x21][..], bootstrap::CONTENT_TYPE.as_bytes(), &[0x00], b"b"].concat();
        assert_eq!(unwrap_bootstrap(&as_text).unwrap().1, bootstrap::CONTENT_TYPE);
        // A parameter this reader cannot size ends the reading; what came before stays.
        let odd = [0x00, 0x06, 0x07, 0x06, 0xC2, 0x91, 0x80, 0x05, 0x01, 0xAF, b'b'];
        assert_eq!(unwrap_bootstrap(&odd).unwrap().1, "application/vnd.syncml.dm+wbxml; SEC=NETWORKID");
        // A length past the headers is no content type.
        assert!(unwrap_bootstrap(&[0x00, 0x06, 0x02, 0x05, 0xC2, b'b']).is_err());
    }

    #[test]
    fn a_push_goes_in_one_sms_or_in_concatenated_parts() {
        let one = sms_user_data(&[7; 133], 9).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0][..7], [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]);
        assert_eq!(one[0].len(), SMS_USER_DATA);
        let pdu: Vec<u8> = (0..300).map(|i| i as u8).collect();
        let parts = sms_user_data(&pdu, 9).unwrap();
        assert_eq!(parts.len(), 3);
        for (n, part) in parts.iter().enumerate() {
            assert!(part.len() <= SMS_USER_DATA);
            assert_eq!(part[..12], [0x0B, 0x00, 0x03, 9, 3, n as u8 + 1, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]);
        }
        let joined: Vec<u8> = parts.iter().flat_map(|p| p[12..].to_vec()).collect();
        assert_eq!(joined, pdu);
        assert!(sms_user_data(&vec![0; 128 * 256], 0).is_err());
    }
}
