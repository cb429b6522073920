//! How the engines' judgement of a received message and the checker's must agree: what an
//! engine refuses the checker reports, and what it takes the checker reports only as a slip the
//! engines get past on purpose. Shared by `tests/differential.rs` and the session fuzz targets.
#![allow(dead_code)]

use dm_core::check::{Direction, Violation, check};
use dm_core::error::Error;
use dm_core::session::Event;

/// What is amiss when the engine that received the last message of `trace` made `result` of it
/// and the checker judges that message otherwise; `None` when they agree, or when the message
/// does not decode (the checker then says only that).
pub fn disagreement(trace: &[(Direction, Vec<u8>)], result: &Result<Vec<Event>, Error>) -> Option<String> {
    let at = trace.len().checked_sub(1)?;
    let refused = match result {
        Err(Error::Decode(_)) => return None,
        Err(e) => Some(e),
        Ok(_) => None,
    };
    let reported: Vec<_> = check(trace).into_iter().filter(|v| v.msg_index == at).collect();
    let said = |v: &Violation| v.to_string();
    let why = format!(
        "engine {:?}, checker {:?}",
        refused.map(Error::to_string),
        reported.iter().map(said).collect::<Vec<_>>()
    );
    (!agree(refused, &reported)).then_some(why)
}

/// Whether an engine that `refused` a message (or took it) agrees with what the checker
/// `reported` at that message (rules of how a session ends, R09 to R11, left out).
pub fn agree(refused: Option<&Error>, reported: &[Violation]) -> bool {
    let mut reported = reported.iter().filter(|v| !["R09", "R10", "R11"].contains(&v.rule)).peekable();
    match refused {
        // No rule sets a least MaxMsgSize: the engines refuse one no DM message fits in.
        Some(Error::Remote(e)) if e.element == Some("MaxMsgSize") => true,
        Some(_) => reported.peek().is_some(),
        None => reported.all(tolerated),
    }
}

/// What the engines take although the checker reports it, on purpose: slips that leave no doubt
/// what the peer means, which a strict auditor names and a robust engine gets past.
fn tolerated(v: &Violation) -> bool {
    match v.rule {
        // The SyncHdr status is found wherever it is; Results are taken before their Status.
        "SyncHdrFirst" | "ResultsOrder" => true,
        // A 1222 after a Final message is answered; without one, the rest is sent anyway.
        "R01" | "R03" => true,
        // An abort without Final still ends the session.
        "R15" => true,
        // Package 1 without DevInfo: no DevInfo event.
        "R20" => v.detail.contains("DevInfo"),
        // Statuses the server owes the client are not waited for.
        "R21" => v.detail.starts_with("no Status for"),
        // A 200 for a chunk of Results acknowledges it as 213 would.
        "R06" => v.detail.starts_with("a 200 Status for a Results"),
        // A message past the MaxMsgSize announced is taken within the engine's own limits.
        "R07" => v.detail.contains("past the MaxMsgSize"),
        // Binary data without a Format is taken as the bytes it is.
        "MetaDefaults" => true,
        // A Status with CmdRef 0 answers the SyncHdr, whatever its Cmd says.
        "Ref" => v.detail.starts_with("CmdRef 0 for"),
        _ => false,
    }
}
