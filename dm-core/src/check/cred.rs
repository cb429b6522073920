//! Credentials a trace carries, verified with the passwords the caller knows: each Cred (basic
//! or md5) and each HMAC (the `x-syncml-hmac` header, where the capture kept it) against the
//! nonce its sender was given last, and why one does not match (a stale nonce, the NextNonce's
//! base64 text digested instead of its bytes, an empty nonce, another user), and a peer that
//! accepted one that does not match.

use super::{Direction, Violation, decode_trace};
use crate::auth::{self, AuthType, Credentials};
use crate::model::{Command, Cred, Message, StatusCode};
use crate::session::PasswordLookup;

/// What verifying a trace's credentials takes: each side's user name and password, and the
/// nonce each side's first md5 Cred is digested with (given in an earlier session, so not in
/// the trace; without it the first one is not judged).
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// The client's credentials, which its Cred proves.
    pub client: Option<Credentials>,
    /// Without `client`: the lookup a server finds its clients' passwords with, by user name
    /// (`ServerConfig::lookup`); a client's Cred proves the user it names.
    pub client_lookup: Option<PasswordLookup>,
    /// The server's credentials, which its Cred proves.
    pub server: Option<Credentials>,
    /// The nonce the server gave the client before the trace.
    pub client_nonce: Option<Vec<u8>>,
    /// The nonce the client gave the server before the trace.
    pub server_nonce: Option<Vec<u8>>,
}

/// Every Cred and HMAC of the trace that does not match what `secrets` says (rule `Cred`), and
/// every one a peer accepted although it does not match. `hmac`: each message's `x-syncml-hmac`
/// header, where known (it may be shorter than the trace, or empty).
pub fn credentials(trace: &[(Direction, Vec<u8>)], hmac: &[Option<String>], secrets: &Secrets) -> Vec<Violation> {
    judge(trace, &decode_trace(trace).0, hmac, secrets)
}

/// `credentials` of a trace already decoded (`messages`, each with its index in `trace`).
pub(super) fn judge(
    trace: &[(Direction, Vec<u8>)],
    messages: &[(usize, Direction, Message)],
    hmac: &[Option<String>],
    secrets: &Secrets,
) -> Vec<Violation> {
    let mut out = Vec::new();
    // Per side: the nonces it was given in the trace (message index, nonce), the last in force.
    let mut given: [Vec<(Option<usize>, Vec<u8>)>; 2] = [
        secrets.client_nonce.iter().map(|n| (None, n.clone())).collect(),
        secrets.server_nonce.iter().map(|n| (None, n.clone())).collect(),
    ];
    // Messages whose credentials do not match, (side, MsgID, index), for their peer's verdict.
    let mut wrong: Vec<(usize, u32, usize)> = Vec::new();
    for (i, d, m) in messages {
        let side = side(*d);
        let peer = 1 - side;
        for c in &m.commands {
            let Command::Status(s) = c else { continue };
            if s.cmd_ref != Some(0) {
                continue;
            }
            let accepted = matches!(s.data, StatusCode::OK | StatusCode::AUTHENTICATION_ACCEPTED);
            if let Some(k) = wrong.iter().position(|&(p, msg, _)| p == peer && s.msg_ref.is_none_or(|r| r == msg)) {
                let (_, _, at) = wrong.remove(k);
                if accepted {
                    let detail = format!("answered {} to message {at}, whose credentials do not match", s.data.0);
                    out.push(Violation { rule: "Cred", msg_index: *i, detail });
                }
            }
            if let Some(n) = s.chal.as_ref().and_then(|c| c.meta.next_nonce.as_deref()).and_then(auth::decode_nonce) {
                given[peer].push((Some(*i), n));
            }
        }
        let fixed = [&secrets.client, &secrets.server][side];
        let lookup = secrets.client_lookup.as_ref().filter(|_| side == 0);
        if fixed.is_none() && lookup.is_none() {
            continue;
        }
        // The credentials a message's claim is judged by: the side's own, else those of the
        // user it names; a user the passwords do not name is a verdict of its own.
        let judge_as = |user: Option<String>, judge: &dyn Fn(&Credentials) -> Option<String>| match fixed {
            Some(who) => judge(who),
            None => {
                let Some(u) = user else { return Some("credentials that name no user".into()) };
                match lookup.and_then(|l| l.0(&u)) {
                    Some(p) => judge(&Credentials::new(u, p)),
                    None => Some(format!("credentials for user {u:?}, whom the passwords given do not name")),
                }
            }
        };
        let cred = m
            .header
            .cred
            .as_ref()
            .and_then(|cred| judge_as(auth::claimed_user(m, cred), &|who| judge_cred(m, cred, who, &given[side])));
        let header = hmac.get(*i).and_then(Option::as_deref);
        let mac = header.and_then(|h| {
            let user = auth::parse_hmac_header(h).map(|p| p.username);
            judge_as(user, &|who| judge_hmac(h, &trace[*i].1, who, &given[side]))
        });
        if cred.is_some() || mac.is_some() {
            wrong.push((side, m.header.msg_id, *i));
        }
        out.extend([cred, mac].into_iter().flatten().map(|detail| Violation { rule: "Cred", msg_index: *i, detail }));
    }
    out
}

fn side(d: Direction) -> usize {
    match d {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

/// Why `cred` does not prove `who` with the last nonce `given`, or `None` when it does (or
/// cannot be judged: md5 without a nonce known).
fn judge_cred(m: &Message, cred: &Cred, who: &Credentials, given: &[(Option<usize>, Vec<u8>)]) -> Option<String> {
    let kind = cred.meta.as_ref().and_then(|m| m.type_.as_deref()).and_then(AuthType::from_meta_type);
    match kind {
        Some(AuthType::Basic) => {
            let user = auth::basic_username(cred);
            if auth::verify_cred(cred, AuthType::Basic, who, b"") {
                None
            } else if user.as_deref() != Some(who.username.as_str()) {
                Some(format!("a basic Cred for user {user:?}, not {:?}", who.username))
            } else {
                Some(format!("a basic Cred for {:?} with another password", who.username))
            }
        }
        Some(AuthType::Md5) => {
            let (at, nonce) = given.last()?;
            if auth::verify_cred(cred, AuthType::Md5, who, nonce) {
                return None;
            }
            let named = m.header.source.name.as_deref();
            if named.is_some_and(|n| n != who.username) {
                return Some(format!("an md5 Cred named for user {named:?}, not {:?}", who.username));
            }
            let slip = slip(|n| auth::verify_cred(cred, AuthType::Md5, who, n), given);
            Some(format!("an md5 Cred that does not match the nonce {}: {slip}", given_at(*at)))
        }
        _ => Some("a Cred without a Type this checker knows (syncml:auth-basic or syncml:auth-md5)".into()),
    }
}

fn given_at(at: Option<usize>) -> String {
    at.map_or("given before the trace".into(), |i| format!("of message {i}"))
}

/// Why the HMAC `header` of `body` does not prove `who` with the last nonce `given`, or `None`
/// when it does (or cannot be judged: no nonce known).
fn judge_hmac(header: &str, body: &[u8], who: &Credentials, given: &[(Option<usize>, Vec<u8>)]) -> Option<String> {
    let Some(parsed) = auth::parse_hmac_header(header) else {
        return Some(format!("an x-syncml-hmac header that does not parse: {header:?}"));
    };
    let (at, nonce) = given.last()?;
    if auth::verify_hmac(header, who, nonce, body) {
        return None;
    }
    if parsed.username != who.username {
        return Some(format!("an HMAC for user {:?}, not {:?}", parsed.username, who.username));
    }
    let slip = slip(|n| auth::verify_hmac(header, who, n, body), given);
    Some(format!("an HMAC that does not match the nonce {}: {slip}", given_at(*at)))
}

/// What a digest that does not match the last nonce `given` was made with, of the usual slips.
fn slip(matches: impl Fn(&[u8]) -> bool, given: &[(Option<usize>, Vec<u8>)]) -> String {
    let (last, earlier) = given.split_last().map_or((None, given), |(last, earlier)| (Some(last), earlier));
    if let Some((at, _)) = earlier.iter().rev().find(|(_, n)| matches(n)) {
        return format!("it is digested with the stale nonce {}", given_at(*at));
    }
    if last.is_some_and(|(_, n)| matches(auth::encode_nonce(n).as_bytes())) {
        return "it is digested with the NextNonce's base64 text, not the bytes it decodes to".into();
    }
    if matches(b"") {
        return "it is digested with an empty nonce".into();
    }
    "another password, or a nonce not in the trace".into()
}
