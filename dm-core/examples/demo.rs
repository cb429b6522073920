//! `make demo`: a DM session over HTTP on loopback, printed as an annotated trace.
//!
//! A server thread (std::net, HTTP/1.1) runs a script: read DevInfo and DevDetail, replace a
//! node, run an Exec, read a 100 KiB log through large-object transfer. A device with a
//! MemoryTree posts to it. Both engines are dm-core's; this file only moves bytes.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use dm_core::auth::{AuthType, Credentials};
use dm_core::codec;
use dm_core::model::{Command, Data, Message, StatusCode};
use dm_core::session::{ClientConfig, ClientSession, Event, NonceSource, ServerConfig, ServerSession, State};
use dm_core::tree::MemoryTree;
use dm_core::tree::objects::{DevDetail, DevInfo};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One HTTP request or response: headers and body.
fn read_http(stream: &mut BufReader<TcpStream>) -> Result<Option<(Vec<String>, Vec<u8>)>> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let len = header(&headers, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    stream.read_exact(&mut body)?;
    Ok(Some((headers, body)))
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn nonce() -> Vec<u8> {
    (0..2).flat_map(|_| RandomState::new().build_hasher().finish().to_be_bytes()).collect()
}

/// What the server does with the device: all in package 2; with nothing queued after package 3,
/// package 4 carries only statuses and ends the session (R09).
fn script(server: &mut ServerSession, package: usize) -> Result<()> {
    if package == 1 {
        server.get("./DevInfo/Mod")?;
        server.get("./DevDetail/FwV")?;
        server.replace("./Vendor/Settings/Level", Data::Text("7".into()), Some("int"), None)?;
        server.exec("./Vendor/Reboot", None, Some("reboot-1"))?;
        server.get("./Vendor/Log")?;
    }
    Ok(())
}

fn serve(listener: TcpListener) -> Result<()> {
    let mut config = ServerConfig::new("omadm-demo");
    config.auth = AuthType::Md5;
    config.client_credentials = Some(Credentials::new("device", "secret"));
    config.client_nonce = b"demo-nonce".to_vec();
    config.nonce_source = Some(NonceSource(Arc::new(nonce)));
    config.wire.max_msg_size = Some(8192);
    let mut server = ServerSession::new(config);
    let mut packages = 0;
    let (stream, _) = listener.accept()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some((headers, body)) = read_http(&mut reader)? {
        for e in server.receive_with_hmac(&body, header(&headers, "x-syncml-hmac"))? {
            if e == Event::PackageEnd {
                packages += 1;
                script(&mut server, packages)?;
            }
            note("server", &e);
        }
        let Some(out) = server.next_message()? else { break };
        write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            out.content_type,
            out.body.len()
        )?;
        writer.write_all(&out.body)?;
        writer.flush()?;
        if server.state() == State::Ended {
            break;
        }
    }
    Ok(())
}

fn note(who: &str, e: &Event) {
    let text = match e {
        Event::DevInfo(d) => format!(
            "DevInfo: {}",
            d.iter().map(|(u, v)| format!("{}={v}", u.trim_start_matches("./DevInfo/"))).collect::<Vec<_>>().join(", ")
        ),
        Event::Results { reference, items } => {
            let sizes: Vec<String> = items
                .iter()
                .map(|i| {
                    format!(
                        "{} ({} bytes)",
                        i.source.as_ref().map_or("", |s| s.uri.as_str()),
                        i.data.as_ref().map_or(0, |d| d.len())
                    )
                })
                .collect();
            format!("Results for command #{}: {}", reference.0, sizes.join(", "))
        }
        Event::Status { reference, cmd, code, .. } => format!(
            "Status {} for {cmd} #{}{}",
            code.0,
            reference.0,
            code.name().map(|n| format!(" ({n})")).unwrap_or_default()
        ),
        Event::Executed { cmd, uri, code } if *code != StatusCode::CHUNKED_ITEM_ACCEPTED => {
            format!("executed {cmd} {uri}: {}", code.0)
        }
        Event::Executed { .. } => return,
        other => format!("{other:?}"),
    };
    println!("      [{who}] {text}");
}

fn summary(m: &Message) -> String {
    let cmds: Vec<String> = m
        .commands
        .iter()
        .map(|c| match c {
            Command::Status(s) => format!("Status({} {})", s.cmd, s.data.0),
            Command::Alert(a) => format!("Alert({})", a.data.0),
            c if c.items().iter().any(|i| i.more_data) => format!("{}[chunk]", c.name()),
            c => c.name().to_string(),
        })
        .collect();
    format!(
        "MsgID {}{}: {}{}",
        m.header.msg_id,
        if m.header.cred.is_some() { " +Cred" } else { "" },
        cmds.join(" "),
        if m.is_final { " Final" } else { "" }
    )
}

fn main() -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/dm", listener.local_addr()?);
    println!("omadm demo: a DM 1.2 session over HTTP on {url}\n");
    let server = std::thread::spawn(move || serve(listener).map_err(|e| e.to_string()));
    // `--agent PATH`: the device is a C program linking libomadm (examples/c/agent.c).
    let args: Vec<String> = std::env::args().collect();
    if let Some(agent) = args.iter().position(|a| a == "--agent").and_then(|i| args.get(i + 1)) {
        let status = std::process::Command::new(agent).arg(&url).status()?;
        server.join().map_err(|_| "server thread panicked")??;
        return if status.success() { Ok(()) } else { Err(format!("the agent failed: {status}").into()) };
    }

    let mut tree = MemoryTree::new();
    DevInfo {
        dev_id: "IMEI:493005100592800".into(),
        man: "Acme".into(),
        model: "Roadrunner 2".into(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    }
    .install(&mut tree)?;
    DevDetail { fw_v: "4.2.0".into(), ..DevDetail::default() }.install(&mut tree)?;
    tree.set_interior("./Vendor", None)?;
    tree.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*")?;
    tree.set("./Vendor/Settings/Level", "1")?;
    tree.set("./Vendor/Reboot", "")?;
    tree.on_exec("./Vendor/Reboot", Box::new(|_, _| StatusCode::ACCEPTED))?;
    tree.set("./Vendor/Log", &"log line: all quiet on the device\n".repeat(3200)[..100 * 1024])?;

    let mut config = ClientConfig::new("IMEI:493005100592800", "omadm-demo", &url);
    config.auth = AuthType::Md5;
    config.credentials = Some(Credentials::new("device", "secret"));
    config.nonce = b"demo-nonce".to_vec();
    config.wire.max_msg_size = Some(16384);
    let mut client = ClientSession::new(config, tree)?;
    let stream = TcpStream::connect(listener_addr(&url))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(out) = client.next_message()? {
        let m = codec::decode(&out.body)?;
        println!("-> device  {:>6} bytes {}  {}", out.body.len(), short(out.content_type), summary(&m));
        write!(
            writer,
            "POST /dm HTTP/1.1\r\nHost: localhost\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            out.content_type,
            out.body.len()
        )?;
        if let Some(h) = &out.hmac {
            write!(writer, "x-syncml-hmac: {h}\r\n")?;
        }
        writer.write_all(b"\r\n")?;
        writer.write_all(&out.body)?;
        writer.flush()?;
        let Some((headers, body)) = read_http(&mut reader)? else { break };
        let m = codec::decode(&body)?;
        println!(
            "<- server  {:>6} bytes {}  {}",
            body.len(),
            short(header(&headers, "content-type").unwrap_or("")),
            summary(&m)
        );
        for e in client.receive(&body)? {
            note("device", &e);
        }
    }
    server.join().map_err(|_| "server thread panicked")??;
    println!(
        "\nsession over: device {:?}; ./Vendor/Settings/Level is now {:?}",
        client.state(),
        client.tree().value("./Vendor/Settings/Level")
    );
    Ok(())
}

fn listener_addr(url: &str) -> String {
    url.trim_start_matches("http://").trim_end_matches("/dm").to_string()
}

fn short(ct: &str) -> &str {
    ct.rsplit('+').next().unwrap_or(ct)
}
