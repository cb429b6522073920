#!/usr/bin/env python3
"""Writes the hostile-input corpus into a directory, with manifest.tsv: one case a line,
`name <TAB> target <TAB> expected`. target: decode (the codec), client (a client that sent
package 1 receives it), server (a fresh server receives it). expected: decode, limit,
protocol, auth, or ok (taken without error; e.g. a 2 GiB Size is answered 413, not refused).

Usage: make_corpus.py OUTDIR"""

import sys
from pathlib import Path

HDR = ("<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
       "<SessionID>{sid}</SessionID><MsgID>{mid}</MsgID><Target><LocURI>{target}</LocURI></Target>"
       "<Source><LocURI>{source}</LocURI></Source>{meta}</SyncHdr><SyncBody>{body}</SyncBody></SyncML>")
DEVICE, SERVER = "IMEI:1", "http://127.0.0.1/dm"


def server_msg(body, mid=1, sid="1"):
    """A server message to the client (its answer to package 1)."""
    return HDR.format(sid=sid, mid=mid, target=DEVICE, source=SERVER, meta="", body=body).encode()


def client_msg(body, meta=""):
    return HDR.format(sid="1", mid=1, target=SERVER, source=DEVICE, meta=meta, body=body).encode()


PKG1 = ("<Alert><CmdID>1</CmdID><Data>1201</Data></Alert><Replace><CmdID>2</CmdID><Item><Source>"
        "<LocURI>./DevInfo/DevId</LocURI></Source><Data>IMEI:1</Data></Item></Replace><Final/>")
STATUS_HDR = ("<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
              "<Data>200</Data></Status>")


def mb_u_int32(v):
    out = [v & 0x7F]
    while v > 0x7F:
        v >>= 7
        out.append(v & 0x7F | 0x80)
    return bytes(reversed(out))


def wbxml_message(table, datas):
    """A WBXML Replace with string table `table`, one Item for each Data token run in `datas`."""
    head = bytes.fromhex("6d6c7103312e3200017203444d2f312e32000165033100015b033100016e57036100010167570362"
                         "000101016b604b03310001")
    items = b"".join(b"\x54" + d + b"\x01" for d in datas)
    return bytes([0x02, 0xA4, 0x01, 0x6A]) + mb_u_int32(len(table)) + table + head + items + b"\x01\x12\x01\x01"


def wbxml_server_msg(body):
    """A server message to the client in WBXML, strings inline: `body` is SyncBody's content,
    made with `wb`."""
    hdr = wb(0x2C, wb(0x31, "1.2") + wb(0x32, "DM/1.2") + wb(0x25, "1") + wb(0x1B, "1")
             + wb(0x2E, wb(0x17, DEVICE)) + wb(0x27, wb(0x17, SERVER)))
    return bytes([0x02, 0xA4, 0x01, 0x6A, 0x00]) + wb(0x2D, hdr + wb(0x2B, body))


def wb(token, content=None):
    """Element `token` of code page 0 with `content` (elements, or a string written inline);
    empty without."""
    if content is None:
        return bytes([token])
    if isinstance(content, str):
        content = b"\x03" + content.encode() + b"\x00"
    return bytes([token | 0x40]) + content + b"\x01"


def literal_attributes(n, again=False):
    """A WBXML Replace whose Data holds `<Foo a0="" a1="" ...>`, its names in the string table;
    with `again`, the last attribute repeats the first."""
    table, offsets = b"Foo\0", []
    for i in range(n):
        offsets.append(len(table))
        table += b"a%d\0" % i
    names = offsets + offsets[:1] if again else offsets
    attributes = b"".join(b"\x04" + mb_u_int32(at) for at in names)
    head = bytes.fromhex("6d6c7103312e3200017203444d2f312e32000165033100015b033100016e57036100010167570362"
                         "000101016b604b03310001546e57032e2f610001014f")
    return (bytes([0x02, 0xA4, 0x01, 0x6A]) + mb_u_int32(len(table)) + table + head + b"\x84\x00" + attributes
            + b"\x01\x01\x01\x01\x12\x01\x01")


def cases():
    laughs = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10 if i else "lol"}">' for i in range(10))
    yield "billion_laughs.xml", "decode", "decode", (
        f"<?xml version='1.0'?><!DOCTYPE SyncML [{laughs}]>".encode() + client_msg(
            "<Alert><CmdID>1</CmdID><Data>1201</Data><Item><Data>&l9;</Data></Item></Alert><Final/>"))
    yield "external_entity.xml", "decode", "decode", (
        b"<!DOCTYPE SyncML [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>" + client_msg(
            "<Alert><CmdID>1</CmdID><Data>1201</Data><Item><Data>&x;</Data></Item></Alert><Final/>"))
    yield "nesting_100000.xml", "decode", "limit", client_msg(
        "<Sequence><CmdID>1</CmdID>" * 100_000 + "</Sequence>" * 100_000)
    yield "invalid_utf8.xml", "decode", "decode", client_msg("<Alert><CmdID>1</CmdID><Data>12\xff01</Data></Alert>".replace("\xff", "X")).replace(b"X", b"\xff")
    # A URI holding a character XML cannot carry (as a reference): refused, so that it never
    # comes back in the client's Status.
    yield "control_character_in_uri.xml", "client", "decode", server_msg(
        STATUS_HDR + "<Get><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/&#1;</LocURI></Target></Item></Get><Final/>")
    # The same in an embedded document's attribute: refused, so that our WBXML of the document
    # is never one a decoder refuses.
    yield "control_character_in_embedded_attribute.xml", "client", "decode", server_msg(
        STATUS_HDR + "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/Doc</LocURI></Target>"
        "<Data><a b=\"&#1;\"/></Data></Item></Replace><Final/>")
    yield "mb_u_int32_overflow.wbxml", "decode", "decode", bytes([0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x6A, 0x00])
    yield "strtbl_2gib.wbxml", "decode", "decode", bytes([0x02, 0xA4, 0x01, 0x6A, 0x88, 0x80, 0x80, 0x80, 0x00])
    yield "str_t_out_of_range.wbxml", "decode", "decode", bytes([0x02, 0xA4, 0x01, 0x6A, 0x01, 0x00, 0x6D, 0x6C, 0x71, 0x83, 0x7F])
    yield "end_without_start.wbxml", "decode", "decode", bytes([0x02, 0xA4, 0x01, 0x6A, 0x00, 0x01])
    yield "truncated.wbxml", "decode", "decode", bytes([0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6C, 0x71, 0x03, ord("1")])
    yield "unknown_page.wbxml", "decode", "decode", bytes([0x02, 0xA4, 0x01, 0x6A, 0x00, 0x00, 0x09, 0x45])
    # A small message whose string-table references expand to gigabytes (a WBXML "billion
    # laughs"): stopped once they pass the message size limit.
    yield "strtbl_text_expansion.wbxml", "server", "limit", wbxml_message(
        b"x" * 100_000 + b"\0", [b"\x4f\x83\x00\x01"] * 20_000)
    yield "strtbl_name_expansion.wbxml", "decode", "limit", wbxml_message(
        b"N" * 100_000 + b"\0", [b"\x4f\x04\x00\x01"] * 20_000)
    # Two embedded DDF documents (OPAQUE), each under every limit, whose references expand to
    # more than the limit together: one budget for a message and the documents inside it.
    inner = (bytes([0x02, 0x01, 0x6A]) + mb_u_int32(60_001) + b"y" * 60_000 + b"\0" + b"\x00\x02\x60"
             + b"\x83\x00" * 10 + b"\x01")
    yield "strtbl_expansion_in_documents.wbxml", "decode", "limit", wbxml_message(
        b"", [b"\x4f\xc3" + mb_u_int32(len(inner)) + inner + b"\x01"] * 2)
    # 80 000 distinct attributes on one literal element in Data: read in linear time.
    yield "literal_attributes_80k.wbxml", "decode", "ok", literal_attributes(80_000)
    yield "literal_attribute_twice.wbxml", "decode", "decode", literal_attributes(80_000, again=True)
    yield "msgid_backwards.xml", "client", "protocol", server_msg(STATUS_HDR + "<Final/>", mid=0)
    yield "sessionid_change.xml", "client", "protocol", server_msg(STATUS_HDR + "<Final/>", sid="77")
    yield "status_never_sent.xml", "client", "protocol", server_msg(
        STATUS_HDR + "<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>42</CmdRef><Cmd>Get</Cmd>"
        "<Data>200</Data></Status><Final/>")
    yield "declared_size_2gib.xml", "client", "ok", server_msg(
        STATUS_HDR + "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/Big</LocURI></Target>"
        "<Meta><Size xmlns='syncml:metinf'>2147483648</Size></Meta><Data>abc</Data><MoreData/></Item>"
        "</Replace>")
    # A choice alert whose default choices (DR) name the same ranges 90 000 times: answered
    # from the three choices offered, not by listing every number each range names.
    yield "ui_default_choices_ranges.xml", "client", "ok", server_msg(
        STATUS_HDR + "<Alert><CmdID>2</CmdID><Data>1103</Data><Item><Data>DR=" + ",".join(["1-1000"] * 90_000)
        + "</Data></Item><Item><Data>Pick</Data></Item><Item><Data>a</Data></Item><Item><Data>b</Data></Item>"
        "<Item><Data>c</Data></Item></Alert><Final/>")
    # A TNDS Add whose 500 KB Path is the parent of 14 000 nodes: refused (414) at the first
    # node URI past the URI limit, not built into 14 000 URIs of 500 KB.
    tnds = ("<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>x</NodeName><Path>./" + "p" * 500_000 + "</Path>"
            + "<Node><NodeName>a</NodeName></Node>" * 14_000 + "</Node></MgmtTree>")
    yield "tnds_long_path_children.xml", "client", "ok", server_msg(
        STATUS_HDR + "<Add><CmdID>2</CmdID><Meta><Format xmlns='syncml:metinf'>xml</Format><Type xmlns='syncml:metinf'>"
        "application/vnd.syncml.dmtnds+xml</Type></Meta><Item><Target><LocURI>./Vendor/T</LocURI></Target><Data>"
        + tnds + "</Data></Item></Add><Final/>")
    # A 400 KB value, then one Atomic that replaces its Title 4 000 times: the journal keeps
    # the node as it was before its first change only, not a copy of the value per change.
    title = "<Replace><CmdID>{}</CmdID><Item><Target><LocURI>./Vendor/Big?prop=Title</LocURI></Target><Data>t</Data></Item></Replace>"
    yield "atomic_title_4000.xml", "client", "ok", server_msg(
        STATUS_HDR + "<Add><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/Big</LocURI></Target><Data>" + "b" * 400_000
        + "</Data></Item></Add><Atomic><CmdID>3</CmdID>" + "".join(title.format(4 + i) for i in range(4_000))
        + "</Atomic><Final/>")
    # A 400 KB value, then 4 000 Copies of it that the tree refuses (their target's parent is a
    # leaf): each refused before the value is copied, not after.
    copy = ("<Copy><CmdID>{}</CmdID><Item><Target><LocURI>./Vendor/Big/c{}</LocURI></Target><Source><LocURI>"
            "./Vendor/Big</LocURI></Source></Item></Copy>")
    yield "copy_refused_4000.xml", "client", "ok", server_msg(
        STATUS_HDR + "<Add><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/Big</LocURI></Target><Data>" + "b" * 400_000
        + "</Data></Item></Add>" + "".join(copy.format(3 + i, i) for i in range(4_000)) + "<Final/>")
    # 3 000 nodes added in one TNDS document, then their parent renamed 2 000 times, back and
    # forth: a rename moves the subtree in one step, not node by node.
    nodes = "".join(f"<Node><NodeName>{i}</NodeName></Node>" for i in range(3_000))
    add_subtree = (STATUS_HDR + "<Add><CmdID>2</CmdID><Meta><Format xmlns='syncml:metinf'>xml</Format><Type "
                   "xmlns='syncml:metinf'>application/vnd.syncml.dmtnds+xml</Type></Meta><Item><Target><LocURI>./Vendor"
                   "</LocURI></Target><Data><MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>S</NodeName>" + nodes
                   + "</Node></MgmtTree></Data></Item></Add>")
    rename = "<Replace><CmdID>{}</CmdID><Item><Target><LocURI>./Vendor/{}?prop=Name</LocURI></Target><Data>{}</Data></Item></Replace>"
    yield "rename_subtree_2000.xml", "client", "ok", server_msg(
        add_subtree + "".join(rename.format(3 + i, "ST"[i % 2], "TS"[i % 2]) for i in range(2_000)) + "<Final/>")
    # The same 3 000 nodes, then 2 000 Atomics that each delete them and then fail: a Delete
    # and its rollback move the subtree whole, and no step of either walks it.
    delete = ("<Atomic><CmdID>{}</CmdID><Delete><CmdID>{}</CmdID><Item><Target><LocURI>./Vendor/S</LocURI></Target>"
              "</Item></Delete><Delete><CmdID>{}</CmdID><Item><Target><LocURI>./Nope</LocURI></Target></Item></Delete></Atomic>")
    yield "atomic_delete_subtree_2000.xml", "client", "ok", server_msg(
        add_subtree + "".join(delete.format(3 + 3 * i, 4 + 3 * i, 5 + 3 * i) for i in range(2_000)) + "<Final/>")
    # 9 990 Gets of a missing node, 18 bytes each in WBXML: a command costs a few hundred bytes
    # while its message runs, however small it is on the wire (the limit on commands bounds it).
    status = wb(0x69, wb(0x4B, "1") + wb(0x5C, "1") + wb(0x4C, "0") + wb(0x4A, "SyncHdr") + wb(0x4F, "200"))
    gets = b"".join(wb(0x53, wb(0x4B, str(2 + i)) + wb(0x54, wb(0x6E, wb(0x57, "./N")))) for i in range(9_990))
    yield "gets_9990.wbxml", "client", "ok", wbxml_server_msg(status + gets + wb(0x12))
    yield "max_msg_size_1.xml", "server", "protocol", client_msg(
        PKG1, meta="<Meta><MaxMsgSize xmlns='syncml:metinf'>1</MaxMsgSize></Meta>")
    yield "client_sends_add.xml", "server", "protocol", client_msg(
        PKG1.replace("<Final/>", "") + "<Add><CmdID>3</CmdID><Item><Target><LocURI>./x</LocURI></Target></Item></Add><Final/>")
    yield "package1_without_alert.xml", "server", "protocol", client_msg(PKG1.split("</Alert>")[1])
    yield "not_dm_at_all.bin", "server", "decode", b"GET / HTTP/1.1\r\n\r\n"


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, target, expected, data in cases():
        (out / name).write_bytes(data)
        lines.append(f"{name}\t{target}\t{expected}\n")
    (out / "manifest.tsv").write_text("".join(lines))


if __name__ == "__main__":
    main()
