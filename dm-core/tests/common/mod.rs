//! Shared by the integration tests: where the vectors are, and generators of messages.
#![allow(dead_code)]

use std::path::PathBuf;

use dm_core::model::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub mod judgement;
pub mod pair;

/// `../shared/vectors` beside the repository (CI lays a copy there).
pub fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

pub fn vector(rel: &str) -> Vec<u8> {
    let p = vectors().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The bytes of a hexadecimal string.
pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// All vector files with the given extension, sorted, as (relative name, bytes).
pub fn vectors_with_ext(ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(vectors()).expect("../shared/vectors is missing") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == ext) {
                let name = format!(
                    "{}/{}",
                    dir.file_name().unwrap().to_string_lossy(),
                    f.file_name().unwrap().to_string_lossy()
                );
                out.push((name, std::fs::read(&f).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Leaf text as the decoder returns it: no leading or trailing whitespace.
fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9./:_&<>'\"=+-]([A-Za-z0-9 ./:_&<>'\"=+-]{0,14}[A-Za-z0-9./:_&<>=+-])?"
}

fn opt_word() -> impl Strategy<Value = Option<String>> {
    option::of(word())
}

fn location() -> BoxedStrategy<Location> {
    (word(), opt_word()).prop_map(|(uri, name)| Location { uri, name }).boxed()
}

pub fn meta() -> BoxedStrategy<Meta> {
    (
        (any::<bool>(), opt_word(), opt_word(), opt_word(), option::of(any::<u64>())),
        (opt_word(), opt_word(), option::of(0u64..1 << 40), option::of(0u64..1 << 40)),
        (vec(word(), 0..2), option::of((opt_word(), word()))),
        option::of((any::<bool>(), word(), word())),
    )
        .prop_map(|((field_level, format, type_, mark, size), (version, next_nonce, mms, mos), (emi, anchor), mem)| {
            Meta {
                field_level,
                format: format.map(Into::into),
                type_: type_.map(Into::into),
                mark,
                size,
                anchor: anchor.map(|(last, next)| Anchor { last, next }),
                version,
                next_nonce,
                max_msg_size: mms,
                max_obj_size: mos,
                emi,
                mem: mem.map(|(shared_mem, free_mem, free_id)| Mem { shared_mem, free_mem, free_id }),
            }
        })
        .boxed()
}

fn data() -> BoxedStrategy<Data> {
    prop_oneof![
        "[ -~\t\n\u{e9}\u{4e2d}]{0,40}".prop_map(Data::Text),
        (word(), word()).prop_map(|(a, b)| Data::Xml(format!(
            "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node><NodeName>{}</NodeName><Value>{}</Value></Node></MgmtTree>",
            escape(&a),
            escape(&b)
        ))),
        // Elements of no code page: LITERAL elements in WBXML. Without quotes, which libwbxml
        // writes as references where we write them as they are.
        (word(), word()).prop_map(|(a, b)| Data::Xml(format!(
            "<Inventory><App>{}</App><App/><Note>{}</Note></Inventory>",
            escape(&a.replace(['\'', '"'], "_")),
            escape(&b.replace(['\'', '"'], "_"))
        ))),
    ]
    .boxed()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn cred() -> BoxedStrategy<Cred> {
    (option::of(meta()), word()).prop_map(|(meta, data)| Cred { meta, data }).boxed()
}

pub fn item() -> BoxedStrategy<Item> {
    (
        option::of(location()),
        option::of(location()),
        option::of(location()),
        option::of(location()),
        option::of(meta()),
        option::of(data()),
        any::<bool>(),
    )
        .prop_map(|(target, source, source_parent, target_parent, meta, data, more_data)| Item {
            target,
            source,
            source_parent: source_parent.map(Box::new),
            target_parent: target_parent.map(Box::new),
            meta: meta.map(Box::new),
            data,
            more_data,
        })
        .boxed()
}

fn item_command() -> BoxedStrategy<ItemCommand> {
    (1u32..1000, any::<bool>(), option::of(cred()), option::of(meta()), opt_word(), vec(item(), 0..3))
        .prop_map(|(cmd_id, no_resp, cred, meta, correlator, items)| ItemCommand {
            cmd_id,
            no_resp,
            cred: cred.map(Box::new),
            meta: meta.map(Box::new),
            correlator,
            items,
        })
        .boxed()
}

fn leaf_command() -> BoxedStrategy<Command> {
    prop_oneof![
        item_command().prop_map(Command::Add),
        item_command().prop_map(Command::Copy),
        item_command().prop_map(Command::Delete),
        item_command().prop_map(Command::Exec),
        item_command().prop_map(Command::Get),
        item_command().prop_map(Command::Replace),
        (1u32..1000, any::<bool>(), option::of(cred()), 1100u16..1300, opt_word(), vec(item(), 0..3)).prop_map(
            |(cmd_id, no_resp, cred, code, correlator, items)| Command::Alert(Alert {
                cmd_id,
                no_resp,
                cred: cred.map(Box::new),
                data: AlertCode(code),
                correlator,
                items,
            })
        ),
        (
            (1u32..1000, option::of(0u32..100), option::of(0u32..100), word()),
            (vec(word(), 0..2), vec(word(), 0..2), option::of(cred()), option::of(meta())),
            (100u16..600, vec(item(), 0..2)),
        )
            .prop_map(
                |((cmd_id, msg_ref, cmd_ref, cmd), (target_refs, source_refs, cred, chal), (code, items))| {
                    Command::Status(Status {
                        cmd_id,
                        msg_ref,
                        cmd_ref,
                        cmd: cmd.into(),
                        target_refs,
                        source_refs,
                        cred: cred.map(Box::new),
                        chal: chal.map(|meta| Box::new(Chal { meta })),
                        data: StatusCode(code),
                        items,
                    })
                }
            ),
        (1u32..1000, option::of(0u32..100), 0u32..100, option::of(meta()), opt_word(), opt_word(), vec(item(), 1..3))
            .prop_map(|(cmd_id, msg_ref, cmd_ref, meta, target_ref, source_ref, items)| Command::Results(Results {
                cmd_id,
                msg_ref,
                cmd_ref,
                meta: meta.map(Box::new),
                target_ref,
                source_ref,
                items
            })),
    ]
    .boxed()
}

pub fn command() -> BoxedStrategy<Command> {
    leaf_command()
        .prop_recursive(3, 12, 4, |inner| {
            (1u32..1000, any::<bool>(), option::of(meta()), vec(inner, 1..4), any::<bool>()).prop_map(
                |(cmd_id, no_resp, meta, commands, atomic)| {
                    let g = Group { cmd_id, no_resp, meta: meta.map(Box::new), commands };
                    if atomic { Command::Atomic(g) } else { Command::Sequence(g) }
                },
            )
        })
        .boxed()
}

pub fn message() -> BoxedStrategy<Message> {
    (
        (any::<bool>(), word(), 1u32..100_000, location(), location()),
        (opt_word(), any::<bool>(), option::of(cred()), option::of(meta())),
        (vec(command(), 0..6), any::<bool>()),
    )
        .prop_map(
            |((dm11, session_id, msg_id, target, source), (resp_uri, no_resp, cred, meta), (commands, is_final))| {
                let version = if dm11 { ProtocolVersion::Dm11 } else { ProtocolVersion::Dm12 };
                let mut header = Header::new(version, session_id, msg_id, target, source);
                header.resp_uri = resp_uri;
                header.no_resp = no_resp;
                header.cred = cred;
                header.meta = meta;
                Message { header, commands, is_final }
            },
        )
        .boxed()
}
