//! Package 0 over WAP Push, as servers send it to devices (WAP-230 WSP, WAP-259 WDP): the
//! connectionless Push PDU that holds a notification (Content-Type 0x44, X-WAP-Application-ID
//! `x-wap-application:syncml.dm`), and the SMS user data that carries it to WDP port 2948.

use crate::error::{DecodeError, UsageError};
use crate::notification::{CONTENT_TYPE, bad};

/// WSP's code for `application/vnd.syncml.notification`.
pub const CONTENT_TYPE_CODE: u8 = 0x44;
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

/// The Push PDU for `notification`, with transaction id `tid`.
pub fn wrap(tid: u8, notification: &[u8]) -> Vec<u8> {
    let headers = [SHORT | CONTENT_TYPE_CODE, SHORT | X_WAP_APPLICATION_ID, SHORT | APPLICATION_ID];
    [&[tid, PUSH, headers.len() as u8][..], &headers, notification].concat()
}

/// The notification a Push (or ConfirmedPush) PDU holds: its content type must be a
/// notification's, as a code, as text, or in the general form with parameters; the other
/// headers are skipped.
pub fn unwrap(pdu: &[u8]) -> Result<&[u8], DecodeError> {
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
    if !is_notification_type(&pdu[at..body]) {
        return Err(bad(at, format!("the content type is not {CONTENT_TYPE}")));
    }
    Ok(&pdu[body..])
}

/// Whether `headers` start with a notification's Content-Type value.
fn is_notification_type(headers: &[u8]) -> bool {
    let media = match headers.first() {
        None => return false,
        Some(&b) if b >= SHORT => return b == SHORT | CONTENT_TYPE_CODE,
        // The general form: a length, then the media type and its parameters.
        Some(&len) if len <= 30 => &headers[1..],
        Some(31) => match uintvar(headers, 1) {
            Ok((_, at)) => &headers[at..],
            Err(_) => return false,
        },
        Some(_) => headers,
    };
    match media.first() {
        Some(&b) if b >= SHORT => b == SHORT | CONTENT_TYPE_CODE,
        _ => {
            let text = media.split(|&b| b == 0).next().unwrap_or_default();
            text.eq_ignore_ascii_case(CONTENT_TYPE.as_bytes())
        }
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
        let text = [&[0x00, 0x06, 0x26][..], CONTENT_TYPE.as_bytes(), &[0x00, 0xAF, 0x87], b"n"].concat();
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
            assert!(matches!(e.kind, DecodeErrorKind::Notification(_)), "{pdu:x?}");
            assert_eq!(e.site.offset, offset, "{pdu:x?}: {e}");
        }
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
