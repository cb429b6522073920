#define _GNU_SOURCE
/* The C ABI as a device team uses it: a client whose tree lives in C and a server, both through
 * libomadm, talking in memory; then every error path. Run under valgrind and AddressSanitizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "omadm.h"

static int passed, failed;
#define CHECK(cond) do { if (cond) passed++; else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)

/* A tiny tree: fixed leaves, one interior node. */
struct node { const char *uri; char value[64]; };
struct tree { struct node nodes[8]; int count; int execs; int fail_get; int zero_replace; uint8_t exec_data[8]; size_t exec_len; };

static struct node *find(struct tree *t, const char *uri) {
    for (int i = 0; i < t->count; i++) if (strcmp(t->nodes[i].uri, uri) == 0) return &t->nodes[i];
    return NULL;
}

static int tree_get(void *ud, const char *uri, dm_value *out) {
    struct tree *t = ud;
    if (t->fail_get) return 500;
    if (strcmp(uri, "./DevInfo") == 0) {
        static const char kids[] = "DevId/Man/Mod/DmV/Lang";
        out->format = "node"; out->data = (const uint8_t *)kids; out->len = strlen(kids);
        return 200;
    }
    struct node *n = find(t, uri);
    if (!n) return 404;
    out->data = (const uint8_t *)n->value; out->len = strlen(n->value);
    return 200;
}

static int tree_replace(void *ud, const char *uri, const dm_value *v) {
    struct node *n = find(ud, uri);
    if (!n) return 404;
    if (v->len >= sizeof n->value) return 413;
    memcpy(n->value, v->data, v->len); n->value[v->len] = 0;
    return ((struct tree *)ud)->zero_replace ? 0 : 200;
}

static int tree_exec(void *ud, const char *uri, const uint8_t *data, size_t len, const char *correlator) {
    struct tree *t = ud;
    (void)uri; (void)correlator;
    t->execs++;
    t->exec_len = len;
    if (len <= sizeof t->exec_data) memcpy(t->exec_data, data, len);
    return 202;
}

/* Copies onto an existing leaf only: the tree has no room for new nodes. */
static int tree_copy(void *ud, const char *source, const char *target) {
    struct node *from = find(ud, source), *to = find(ud, target);
    if (!from || !to) return 404;
    memcpy(to->value, from->value, sizeof to->value);
    return 200;
}

static struct tree make_tree(void) {
    struct tree t = { .count = 6 };
    const char *uris[] = { "./DevInfo/DevId", "./DevInfo/Man", "./DevInfo/Mod", "./DevInfo/DmV", "./DevInfo/Lang", "./Vendor/Level" };
    const char *vals[] = { "IMEI:1", "Acme", "X1", "1.2", "en", "1" };
    for (int i = 0; i < t.count; i++) { t.nodes[i].uri = uris[i]; strcpy(t.nodes[i].value, vals[i]); }
    return t;
}

static dm_tree_ops ops(void) {
    dm_tree_ops o; memset(&o, 0, sizeof o);
    o.get = tree_get; o.replace = tree_replace; o.exec = tree_exec; o.copy = tree_copy;
    return o;
}

/* Moves one message from `from` to `to`. */
static void deliver(dm_session *from, dm_session *to) {
    const uint8_t *data; size_t len;
    CHECK(dm_session_next_message(from, &data, &len) == DM_OK);
    CHECK(dm_session_receive(to, data, len, NULL) == DM_OK);
}

/* Both sides know the server's password "spw"; the client expects the server to digest it
 * with the nonce "sn". */
static dm_session *new_client(struct tree *t, dm_encoding enc) {
    dm_client_config cfg;
    CHECK(dm_client_config_init(&cfg) == DM_OK);
    cfg.device_id = "IMEI:1"; cfg.server_id = "srv"; cfg.server_uri = "http://127.0.0.1/dm";
    cfg.encoding = enc;
    cfg.server_password = "spw"; cfg.server_nonce = (const uint8_t *)"sn"; cfg.server_nonce_len = 2;
    cfg.auth = DM_AUTH_MD5; cfg.username = "dev"; cfg.password = "pw";
    cfg.nonce = (const uint8_t *)"n0"; cfg.nonce_len = 2;
    dm_tree_ops o = ops();
    dm_session *c = NULL;
    CHECK(dm_client_new(&cfg, &o, t, &c) == DM_OK && c);
    return c;
}

/* With a stale nonce the client challenges the server, which sends its package again. */
static dm_session *new_server(dm_encoding enc, const char *server_nonce) {
    dm_server_config cfg;
    CHECK(dm_server_config_init(&cfg) == DM_OK);
    cfg.server_id = "srv"; cfg.encoding = enc;
    cfg.server_password = "spw";
    cfg.server_nonce = (const uint8_t *)server_nonce; cfg.server_nonce_len = strlen(server_nonce);
    cfg.auth = DM_AUTH_MD5; cfg.username = "dev"; cfg.password = "pw";
    cfg.nonce = (const uint8_t *)"n0"; cfg.nonce_len = 2;
    dm_session *s = NULL;
    CHECK(dm_server_new(&cfg, &s) == DM_OK && s);
    return s;
}

static void whole_session(dm_encoding enc, const char *server_nonce) {
    struct tree t = make_tree();
    dm_session *c = new_client(&t, enc), *s = new_server(enc, server_nonce);
    uint32_t get_ref = 0, rep_ref = 0;
    int packages = 0, results = 0, statuses_ok = 0, authenticated = 0, rounds = 0;
    int server_authenticated = 0, challenges = 0;
    const uint8_t *data; size_t len;
    while (dm_session_next_message(c, &data, &len) == DM_OK && rounds++ < 20) {
        /* a challenge of the server: 401 with a Chal */
        char *xml = NULL; size_t xml_len = 0;
        CHECK(dm_decode_to_xml(data, len, &xml, &xml_len) == DM_OK);
        if (strstr(xml, "<Chal>") && strstr(xml, "<Data>401</Data>")) challenges++;
        dm_buffer_free((uint8_t *)xml, xml_len + 1);
        CHECK(dm_session_receive(s, data, len, dm_session_hmac_header(c)) == DM_OK);
        dm_event e;
        while (dm_session_next_event(s, &e) == DM_OK) {
            if (e.kind == DM_EVENT_AUTHENTICATED) authenticated++;
            if (e.kind == DM_EVENT_SERVER_AUTHENTICATED) server_authenticated++;
            if (e.kind == DM_EVENT_RESULTS && e.reference == get_ref && e.len == 2 && memcmp(e.data, "X1", 2) == 0) results++;
            if (e.kind == DM_EVENT_STATUS && (e.reference == get_ref || e.reference == rep_ref) && e.code == 200) statuses_ok++;
            if (e.kind == DM_EVENT_PACKAGE_END && ++packages == 1) {
                CHECK(dm_server_get(s, "./DevInfo/Mod", &get_ref) == DM_OK);
                CHECK(dm_server_replace(s, "./Vendor/Level", (const uint8_t *)"7", 1, NULL, NULL, &rep_ref) == DM_OK);
                /* Binary data (not UTF-8, with NUL): it reaches the tree as it was given. */
                CHECK(dm_server_exec(s, "./Vendor/Level", (const uint8_t *)"\x00\x01\xff", 3, "job", NULL) == DM_OK);
            }
        }
        deliver(s, c);
        while (dm_session_next_event(c, &e) == DM_OK) {
            if (e.kind == DM_EVENT_SERVER_AUTHENTICATED) server_authenticated++;
        }
    }
    CHECK(server_authenticated == 2);
    /* The nonces for the next session, the same on both sides, for each direction. */
    for (int which = DM_NONCE_CLIENT; which <= DM_NONCE_SERVER; which++) {
        const uint8_t *cn, *sn; size_t cl, sl;
        CHECK(dm_session_next_nonce(c, (dm_nonce)which, &cn, &cl) == DM_OK && cl >= 16);
        CHECK(dm_session_next_nonce(s, (dm_nonce)which, &sn, &sl) == DM_OK && sl == cl && memcmp(cn, sn, cl) == 0);
    }
    CHECK(dm_session_next_nonce(NULL, DM_NONCE_CLIENT, NULL, NULL) == DM_ERR_NULL);
    CHECK(challenges == (strcmp(server_nonce, "sn") == 0 ? 0 : 1));
    CHECK(authenticated == 1);
    CHECK(results == 1);
    CHECK(statuses_ok == 2);
    CHECK(strcmp(find(&t, "./Vendor/Level")->value, "7") == 0);
    CHECK(t.execs == 1);
    CHECK(t.exec_len == 3 && memcmp(t.exec_data, "\x00\x01\xff", 3) == 0);
    CHECK(dm_session_state(c) == DM_STATE_ENDED);
    CHECK(dm_session_state(s) == DM_STATE_ENDED);
    CHECK(strstr(dm_session_content_type(c), enc == DM_ENCODING_WBXML ? "wbxml" : "+xml") != NULL);
    /* No RespURI from this server: the client sends on to the URI it was given. */
    CHECK(strcmp(dm_session_respond_to(c), "http://127.0.0.1/dm") == 0);
    CHECK(dm_session_respond_to(s) == NULL);
    dm_session_free(c);
    dm_session_free(s);
}

static void error_paths(void) {
    struct tree t = make_tree();
    dm_session *c = new_client(&t, DM_ENCODING_XML), *s = new_server(DM_ENCODING_XML, "sn");
    const uint8_t *data; size_t len;
    /* NULLs. */
    CHECK(dm_session_next_message(NULL, &data, &len) == DM_ERR_NULL);
    CHECK(dm_session_next_message(c, NULL, &len) == DM_ERR_NULL);
    CHECK(dm_session_receive(s, NULL, 5, NULL) == DM_ERR_NULL);
    CHECK(dm_client_new(NULL, NULL, NULL, NULL) == DM_ERR_NULL);
    dm_client_config bad; dm_client_config_init(&bad);
    dm_tree_ops o = ops(); dm_session *x = NULL;
    CHECK(dm_client_new(&bad, &o, &t, &x) == DM_ERR_NULL && x == NULL);
    /* A string that is not UTF-8 is invalid, not NULL. */
    bad.device_id = "IMEI:\xff"; bad.server_id = "srv"; bad.server_uri = "http://127.0.0.1/dm";
    CHECK(dm_client_new(&bad, &o, &t, &x) == DM_ERR_INVALID && x == NULL);
    /* Misuse: the server speaks first; the client receives before it sent. */
    CHECK(dm_session_next_message(s, &data, &len) == DM_ERR_USAGE);
    CHECK(dm_last_error(s) != NULL);
    CHECK(dm_session_receive(c, (const uint8_t *)"x", 1, NULL) == DM_ERR_USAGE);
    /* Bad bytes from the peer: refused, nothing changes. */
    CHECK(dm_session_next_message(c, &data, &len) == DM_OK);
    CHECK(dm_session_receive(s, (const uint8_t *)"<SyncML>", 8, NULL) == DM_ERR_DECODE);
    CHECK(strstr(dm_last_error(s), "SyncML") != NULL || strlen(dm_last_error(s)) > 0);
    CHECK(dm_session_state(s) == DM_STATE_WAITING);
    CHECK(dm_session_receive(s, data, len, NULL) == DM_OK);
    /* A client call on a server session. */
    CHECK(dm_client_generic_alert(s, NULL, NULL, "x", NULL, NULL, 0, NULL) == DM_ERR_USAGE);
    /* A callback that fails: the Get is answered 500; so is a Replace whose callback returns 0,
     * which is no DM status code. */
    uint32_t ref = 0, zero = 0; int saw500 = 0, zero500 = 0;
    CHECK(dm_server_get(s, "./DevInfo/Man", &ref) == DM_OK);
    CHECK(dm_server_replace(s, "./Vendor/Level", (const uint8_t *)"2", 1, NULL, NULL, &zero) == DM_OK);
    CHECK(dm_session_next_message(s, &data, &len) == DM_OK);
    t.fail_get = 1; t.zero_replace = 1;
    CHECK(dm_session_receive(c, data, len, NULL) == DM_OK);
    deliver(c, s);
    dm_event e;
    while (dm_session_next_event(s, &e) == DM_OK) {
        if (e.kind == DM_EVENT_STATUS && e.reference == ref && e.code == 500) saw500 = 1;
        if (e.kind == DM_EVENT_STATUS && e.reference == zero && e.code == 500) zero500 = 1;
    }
    CHECK(saw500);
    CHECK(zero500);
    CHECK(dm_session_abort(s) == DM_OK);
    dm_session_free(c);
    dm_session_free(s);
    dm_session_free(NULL);
    CHECK(dm_session_state(NULL) == DM_STATE_ABORTED);
    CHECK(dm_session_respond_to(NULL) == NULL);
}

static void codec_helpers(void) {
    const char *xml = "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
        "<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>t</LocURI></Target><Source><LocURI>s</LocURI></Source>"
        "</SyncHdr><SyncBody><Alert><CmdID>1</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>";
    uint8_t *w = NULL, *x = NULL; size_t wl = 0, xl = 0;
    CHECK(dm_xml_to_wbxml((const uint8_t *)xml, strlen(xml), &w, &wl) == DM_OK && wl > 0 && w[0] == 0x02);
    CHECK(dm_wbxml_to_xml(w, wl, &x, &xl) == DM_OK && xl > 0);
    CHECK(memmem(x, xl, "<Data>1201</Data>", 17) != NULL);
    char *pretty = NULL; size_t pl = 0;
    CHECK(dm_decode_to_xml(w, wl, &pretty, &pl) == DM_OK && pretty[pl] == 0 && strstr(pretty, "\n  <SyncHdr>"));
    dm_buffer_free((uint8_t *)pretty, pl + 1);
    dm_buffer_free(w, wl);
    dm_buffer_free(x, xl);
    dm_buffer_free(NULL, 0);
    /* WBXML converts as sent: a body without SyncHdr is sound WBXML, though not a message. */
    const uint8_t headless[] = {0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x2B, 0x01};
    const char *as_sent = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody/></SyncML>";
    CHECK(dm_wbxml_to_xml(headless, sizeof headless, &x, &xl) == DM_OK && xl == strlen(as_sent) && !memcmp(x, as_sent, xl));
    dm_buffer_free(x, xl);
    CHECK(dm_decode_to_xml(headless, sizeof headless, &pretty, &pl) == DM_ERR_DECODE && strstr(dm_last_error(NULL), "SyncHdr"));
    CHECK(dm_wbxml_to_xml(headless, sizeof headless - 1, &x, &xl) == DM_ERR_DECODE);
    CHECK(dm_xml_to_wbxml((const uint8_t *)"junk", 4, &w, &wl) == DM_ERR_DECODE);
    CHECK(dm_last_error(NULL) != NULL);
    CHECK(dm_xml_to_wbxml(NULL, 3, &w, &wl) == DM_ERR_NULL);
    CHECK(strlen(dm_version()) > 0);
    CHECK(strcmp(dm_result_name(DM_ERR_PANIC), "internal error (panic caught)") == 0);
}

static void server_copy(void) {
    struct tree t = make_tree();
    dm_session *c = new_client(&t, DM_ENCODING_WBXML), *s = new_server(DM_ENCODING_WBXML, "sn");
    deliver(c, s);
    uint32_t copied = 0, missing = 0;
    CHECK(dm_server_copy(s, "./DevInfo/Man", "./Vendor/Level", &copied) == DM_OK);
    CHECK(dm_server_copy(s, "./DevInfo/Nope", "./Vendor/Level", &missing) == DM_OK && missing != copied);
    CHECK(dm_server_copy(s, NULL, "./Vendor/Level", NULL) == DM_ERR_NULL);
    CHECK(dm_server_copy(c, "./DevInfo/Man", "./Vendor/Level", NULL) == DM_ERR_USAGE);
    deliver(s, c);
    deliver(c, s);
    dm_event e;
    int ok = 0, not_found = 0;
    while (dm_session_next_event(s, &e) == DM_OK) {
        if (e.kind == DM_EVENT_STATUS && e.reference == copied && e.code == 200 && strcmp(e.cmd, "Copy") == 0) ok++;
        if (e.kind == DM_EVENT_STATUS && e.reference == missing && e.code == 404) not_found++;
    }
    CHECK(ok == 1 && not_found == 1);
    CHECK(strcmp(find(&t, "./Vendor/Level")->value, "Acme") == 0);
    dm_session_free(c);
    dm_session_free(s);
}

/* A device reports with alerts of several items: a Generic Alert with each item's severity,
 * and a Client Event (1224). The server reads each item with its Meta. */
static void client_alerts(void) {
    struct tree t = make_tree();
    dm_session *c = new_client(&t, DM_ENCODING_XML), *s = new_server(DM_ENCODING_XML, "sn");
    dm_alert_item report[2] = {
        { .source_uri = "./FwUpdate/1", .mime_type = "org.openmobilealliance.dm.firmwareupdate.status",
          .mark = "critical", .data = (const uint8_t *)"410", .len = 3 },
        { .mime_type = "com.acme.disk", .format = "int", .mark = "warning", .data = (const uint8_t *)"95", .len = 2 },
    };
    uint32_t generic = 0, event = 0;
    CHECK(dm_client_alert(c, 1226, "job-7", report, 2, &generic) == DM_OK);
    dm_alert_item battery = { .mime_type = "com.acme.battery", .data = (const uint8_t *)"low", .len = 3 };
    CHECK(dm_client_alert(c, 1224, NULL, &battery, 1, &event) == DM_OK && event != generic);
    /* Refused, nothing queued. */
    CHECK(dm_client_alert(c, 1226, NULL, report, 0, NULL) == DM_ERR_INVALID && strstr(dm_last_error(c), "item"));
    CHECK(dm_client_alert(c, 1226, NULL, report, SIZE_MAX / 2, NULL) == DM_ERR_INVALID); /* never read */
    CHECK(dm_client_alert(c, 1226, NULL, NULL, 1, NULL) == DM_ERR_NULL);
    dm_alert_item untyped = { .data = (const uint8_t *)"x", .len = 1 };
    CHECK(dm_client_alert(c, 1226, NULL, &untyped, 1, NULL) == DM_ERR_NULL);
    dm_alert_item binary = { .mime_type = "x", .data = (const uint8_t *)"\xff", .len = 1 };
    CHECK(dm_client_alert(c, 1226, NULL, &binary, 1, NULL) == DM_ERR_INVALID && strstr(dm_last_error(c), "b64"));
    CHECK(dm_client_alert(s, 1226, NULL, report, 2, NULL) == DM_ERR_USAGE);
    deliver(c, s);
    dm_event e;
    int items = 0, events = 0;
    while (dm_session_next_event(s, &e) == DM_OK) {
        const char *format = NULL, *type = NULL, *mark = NULL;
        if (e.kind == DM_EVENT_GENERIC_ALERT) {
            CHECK(dm_session_event_meta(s, &format, &type, &mark) == DM_OK && strcmp(e.cmd, "job-7") == 0);
            if (items == 0)
                items += strcmp(e.uri, "./FwUpdate/1") == 0 && strcmp(mark, "critical") == 0 && e.len == 3;
            else
                items += e.uri == NULL && strcmp(mark, "warning") == 0 && strcmp(format, "int") == 0;
        }
        if (e.kind == DM_EVENT_ALERT && e.code == 1224) {
            CHECK(dm_session_event_meta(s, &format, &type, &mark) == DM_OK);
            events += strcmp(type, "com.acme.battery") == 0 && e.len == 3 && memcmp(e.data, "low", 3) == 0;
        }
    }
    CHECK(items == 2 && events == 1);
    deliver(s, c);
    int answered = 0;
    while (dm_session_next_event(c, &e) == DM_OK)
        answered += e.kind == DM_EVENT_STATUS && (e.reference == generic || e.reference == event) && e.code == 200;
    CHECK(answered == 2);
    dm_session_free(c);
    dm_session_free(s);
}

/* A server for a fleet: each device's password found by its user name. */
struct fleet { int asked; };

static const char *fleet_password(void *ud, const char *user) {
    ((struct fleet *)ud)->asked++;
    if (strcmp(user, "dev") == 0) return "pw";
    if (strcmp(user, "dev2") == 0) return "pw2";
    return NULL;
}

static int fleet_session(const char *user, const char *password, struct fleet *f) {
    struct tree t = make_tree();
    dm_client_config cc;
    CHECK(dm_client_config_init(&cc) == DM_OK);
    cc.device_id = "IMEI:1"; cc.server_id = "srv"; cc.server_uri = "http://127.0.0.1/dm";
    cc.auth = DM_AUTH_MD5; cc.username = user; cc.password = password;
    cc.nonce = (const uint8_t *)"n0"; cc.nonce_len = 2;
    dm_session *c = NULL, *s = NULL;
    CHECK(dm_client_new(&cc, &(dm_tree_ops){ .get = tree_get }, &t, &c) == DM_OK);
    dm_server_config sc;
    CHECK(dm_server_config_init(&sc) == DM_OK);
    sc.server_id = "srv"; sc.auth = DM_AUTH_MD5;
    sc.nonce = (const uint8_t *)"n0"; sc.nonce_len = 2;
    CHECK(dm_server_new(&sc, &s) == DM_OK);
    CHECK(dm_server_set_password_lookup(s, fleet_password, f) == DM_OK);
    const uint8_t *data; size_t len;
    int authenticated = 0, rounds = 0;
    while (dm_session_next_message(c, &data, &len) == DM_OK && rounds++ < 10) {
        CHECK(dm_session_receive(s, data, len, NULL) == DM_OK);
        dm_event e;
        while (dm_session_next_event(s, &e) == DM_OK) authenticated |= e.kind == DM_EVENT_AUTHENTICATED;
        if (dm_session_next_message(s, &data, &len) != DM_OK) break;
        CHECK(dm_session_receive(c, data, len, NULL) == DM_OK);
    }
    dm_session_free(c);
    dm_session_free(s);
    return authenticated;
}

static void server_password_lookup(void) {
    struct fleet f = { 0 };
    CHECK(fleet_session("dev", "pw", &f) == 1);
    CHECK(fleet_session("dev2", "pw2", &f) == 1);
    CHECK(fleet_session("dev2", "pw", &f) == 0);
    CHECK(fleet_session("eve", "pw", &f) == 0);
    CHECK(f.asked >= 4);
    dm_session *s = new_server(DM_ENCODING_XML, "sn");
    CHECK(dm_server_set_password_lookup(s, NULL, NULL) == DM_ERR_NULL);
    CHECK(dm_server_set_password_lookup(NULL, fleet_password, &f) == DM_ERR_NULL);
    dm_session_free(s);
    struct tree t = make_tree();
    dm_session *c = new_client(&t, DM_ENCODING_XML);
    CHECK(dm_server_set_password_lookup(c, fleet_password, &f) == DM_ERR_USAGE);
    dm_session_free(c);
}

static int ui_calls;
static int ui(void *ud, uint16_t code, const char *options, const char *text, const char *const *choices,
              size_t n_choices, char *answer, size_t cap) {
    (void)ud; (void)options; (void)choices;
    ui_calls++;
    if (code == 1101) return 304; /* the user says no */
    if (code == 1103 && n_choices == 2) { snprintf(answer, cap, "2"); return 200; }
    snprintf(answer, cap, "%s!", text);
    return 200;
}

static void ui_and_notification(void) {
    struct tree t = make_tree();
    dm_session *c = new_client(&t, DM_ENCODING_XML), *s = new_server(DM_ENCODING_XML, "sn");
    CHECK(dm_client_set_ui_handler(c, ui, NULL) == DM_OK);
    CHECK(dm_client_set_ui_handler(s, ui, NULL) == DM_ERR_USAGE);
    deliver(c, s);
    /* UI alerts: the handler's answers travel back in their statuses. */
    uint32_t confirm = 0, pick = 0;
    const char *choices[] = { "first", "second" };
    CHECK(dm_server_alert(s, 1101, "MAXDT=10", "Update now?", NULL, 0, &confirm) == DM_OK);
    CHECK(dm_server_alert(s, 1103, "", "Pick", choices, 2, &pick) == DM_OK);
    deliver(s, c);
    deliver(c, s);
    dm_event e;
    int no = 0, picked = 0;
    while (dm_session_next_event(s, &e) == DM_OK) {
        if (e.kind == DM_EVENT_STATUS && e.reference == confirm && e.code == 304) no = 1;
        /* The choice the user picked comes as the status's data. */
        if (e.kind == DM_EVENT_STATUS && e.reference == pick && e.code == 200 && e.len == 1 && e.data[0] == '2')
            picked = 1;
    }
    CHECK(ui_calls == 2 && no && picked);
    dm_session_free(c);
    dm_session_free(s);

    uint8_t *note = NULL; size_t note_len = 0;
    CHECK(dm_notification_build("com.mgmtsrv.manage", "srvpwd", (const uint8_t *)"n1", 2, 0x1234, 1, &note, &note_len) == DM_OK);
    dm_notification n;
    CHECK(dm_notification_parse(note, note_len, "srvpwd", (const uint8_t *)"n1", 2, &n) == DM_OK);
    CHECK(n.digest_ok == 1 && n.session_id == 0x1234 && n.ui_mode == 1 && n.version == 11);
    CHECK(strcmp(n.session_id_hex, "1234") == 0 && strcmp(n.server_id, "com.mgmtsrv.manage") == 0);
    CHECK(dm_notification_parse(note, note_len, "wrong", (const uint8_t *)"n1", 2, &n) == DM_OK && n.digest_ok == 0);
    CHECK(dm_notification_parse(note, 10, "srvpwd", NULL, 0, &n) == DM_ERR_DECODE);
    /* As a device's SMS stack hands it over: in a WAP push (WSP Push PDU). */
    uint8_t push[512] = { 0x01, 0x06, 0x03, 0xC4, 0xAF, 0x87 };
    CHECK(note_len + 6 <= sizeof push);
    memcpy(push + 6, note, note_len);
    const uint8_t *inner = NULL; size_t inner_len = 0;
    CHECK(dm_notification_from_wap_push(push, note_len + 6, &inner, &inner_len) == DM_OK);
    CHECK(inner == push + 6 && inner_len == note_len);
    CHECK(dm_notification_parse(inner, inner_len, "srvpwd", (const uint8_t *)"n1", 2, &n) == DM_OK && n.digest_ok == 1);
    push[3] = 0xAE; /* a Service Indication, not a notification */
    CHECK(dm_notification_from_wap_push(push, note_len + 6, &inner, &inner_len) == DM_ERR_DECODE);
    CHECK(strstr(dm_last_error(NULL), "content type") != NULL);
    CHECK(dm_notification_from_wap_push(push, note_len + 6, NULL, &inner_len) == DM_ERR_NULL);
    dm_buffer_free(note, note_len);
}

/* A tree whose Exec calls its own session, as a device answering an Exec 202 might try to
 * send the Generic Alert at once: every call is refused, and nothing breaks. */
struct self_tree { struct tree t; dm_session *self; int refused; };

static int exec_calling_self(void *ud, const char *uri, const uint8_t *data, size_t len, const char *correlator) {
    (void)uri; (void)data; (void)len; (void)correlator;
    struct self_tree *st = ud;
    uint32_t ref = 99;
    st->refused += dm_client_generic_alert(st->self, "job", "./Vendor", "urn:x", NULL, (const uint8_t *)"ok", 2, &ref)
                   == DM_ERR_USAGE && ref == 99;
    st->refused += dm_last_error(st->self) != NULL && strstr(dm_last_error(st->self), "in use") != NULL;
    st->refused += dm_session_state(st->self) == DM_STATE_ABORTED;
    st->refused += dm_session_content_type(st->self) == NULL;
    st->refused += dm_session_abort(st->self) == DM_ERR_USAGE;
    dm_session_free(st->self); /* does nothing: the session is in use */
    return 202;
}

static void a_callback_calling_its_own_session(void) {
    struct self_tree st = { .t = make_tree() };
    dm_tree_ops o = ops();
    o.exec = exec_calling_self;
    dm_client_config cfg;
    CHECK(dm_client_config_init(&cfg) == DM_OK);
    cfg.device_id = "IMEI:1"; cfg.server_id = "srv"; cfg.server_uri = "http://127.0.0.1/dm";
    dm_session *c = NULL, *s = NULL;
    CHECK(dm_client_new(&cfg, &o, &st, &c) == DM_OK);
    st.self = c;
    dm_server_config scfg;
    CHECK(dm_server_config_init(&scfg) == DM_OK);
    scfg.server_id = "srv";
    CHECK(dm_server_new(&scfg, &s) == DM_OK);
    const uint8_t *data; size_t len;
    int generic_alerts = 0, rounds = 0;
    while (dm_session_next_message(c, &data, &len) == DM_OK && rounds++ < 10) {
        CHECK(dm_session_receive(s, data, len, NULL) == DM_OK);
        dm_event e;
        while (dm_session_next_event(s, &e) == DM_OK) {
            if (e.kind == DM_EVENT_PACKAGE_END && rounds == 1)
                CHECK(dm_server_exec(s, "./Vendor/Level", NULL, 0, "job", NULL) == DM_OK);
            if (e.kind == DM_EVENT_GENERIC_ALERT && e.len == 2 && memcmp(e.data, "ok", 2) == 0) {
                /* The alert's Type (and Mark, when it has one) tells what it reports. */
                const char *type = NULL, *mark = "unset";
                CHECK(dm_session_event_meta(s, NULL, &type, &mark) == DM_OK);
                if (type && strcmp(type, "urn:x") == 0 && mark == NULL) generic_alerts++;
            }
        }
        CHECK(dm_session_event_meta(NULL, NULL, NULL, NULL) == DM_ERR_NULL);
        deliver(s, c);
        /* What the Exec decided goes out once receive has returned. */
        if (st.refused && rounds == 1)
            CHECK(dm_client_generic_alert(c, "job", "./Vendor", "urn:x", NULL, (const uint8_t *)"ok", 2, NULL) == DM_OK);
    }
    CHECK(st.refused == 5);
    CHECK(generic_alerts == 1);
    CHECK(dm_session_state(c) == DM_STATE_ENDED);
    dm_session_free(c);
    dm_session_free(s);
}

/* `data` with its first `from` made `to`, in `out` (at most 4096 bytes); its length. */
static size_t replaced(const uint8_t *data, size_t len, const char *from, const char *to, uint8_t *out) {
    const uint8_t *at = memmem(data, len, from, strlen(from));
    size_t head = at ? (size_t)(at - data) : len, tail = at ? len - head - strlen(from) : 0;
    if (!at || head + strlen(to) + tail > 4096) return 0;
    memcpy(out, data, head);
    memcpy(out + head, to, strlen(to));
    memcpy(out + head + strlen(to), at + strlen(from), tail);
    return head + strlen(to) + tail;
}

/* The server's result for package 1 given `body`, with `set` applied to its configuration. */
static dm_result server_takes(const uint8_t *body, size_t len, void (*set)(dm_server_config *), char *why) {
    dm_server_config cfg;
    CHECK(dm_server_config_init(&cfg) == DM_OK);
    cfg.server_id = "srv";
    cfg.auth = DM_AUTH_MD5; cfg.username = "dev"; cfg.password = "pw";
    cfg.nonce = (const uint8_t *)"n0"; cfg.nonce_len = 2;
    if (set) set(&cfg);
    dm_session *s = NULL;
    CHECK(dm_server_new(&cfg, &s) == DM_OK);
    dm_result r = dm_session_receive(s, body, len, NULL);
    if (why) snprintf(why, 256, "%s", r == DM_OK ? "" : dm_last_error(s));
    if (r != DM_OK) CHECK(dm_session_state(s) == DM_STATE_WAITING);
    dm_session_free(s);
    return r;
}

static void one_command(dm_server_config *c) { c->limits.max_commands = 1; }
static void zero_is_the_default(dm_server_config *c) { memset(&c->limits, 0, sizeof c->limits); }
static void lenient(dm_server_config *c) { c->lenient = 1; }
static void dm11(dm_server_config *c) { c->accept_dm11 = 1; }

static void limits_and_leniency(void) {
    dm_client_config cc;
    CHECK(dm_client_config_init(&cc) == DM_OK);
    CHECK(cc.limits.max_message_size == 1 << 20 && cc.limits.max_uri_len == 1024 && cc.limits.max_nesting == 8);
    CHECK(cc.lenient == 0 && cc.accept_dm11 == 0);
    struct tree t = make_tree();
    dm_session *c = new_client(&t, DM_ENCODING_XML);
    const uint8_t *data; size_t len;
    CHECK(dm_session_next_message(c, &data, &len) == DM_OK);
    char why[256];
    CHECK(server_takes(data, len, one_command, why) == DM_ERR_LIMIT && strstr(why, "max_commands") != NULL);
    CHECK(server_takes(data, len, zero_is_the_default, NULL) == DM_OK);
    /* A bare '&': refused strictly, taken leniently. */
    uint8_t quirky[4096];
    size_t n = replaced(data, len, "X1", "X&Y", quirky);
    CHECK(n > 0 && server_takes(quirky, n, NULL, NULL) == DM_ERR_DECODE);
    CHECK(server_takes(quirky, n, lenient, NULL) == DM_OK);
    /* DM 1.1.2 headers: taken only when asked for. */
    uint8_t old[4096], older[4096];
    n = replaced(data, len, "<VerDTD>1.2</VerDTD>", "<VerDTD>1.1</VerDTD>", old);
    n = replaced(old, n, "DM/1.2", "DM/1.1", older);
    CHECK(n > 0 && server_takes(older, n, NULL, why) == DM_ERR_PROTOCOL && strstr(why, "R19") != NULL);
    CHECK(server_takes(older, n, dm11, NULL) == DM_OK);
    dm_session_free(c);
}

/* A tree that keeps the URIs added, in a transaction: a rollback forgets what it added. */
struct journal { char uris[8][64]; int count, kept, begun, rolled_back; };
static int journal_add(void *ud, const char *uri, const dm_value *v) {
    struct journal *j = ud;
    (void)v;
    if (strstr(uri, "Refused") || j->count == 8) return 405;
    snprintf(j->uris[j->count++], sizeof j->uris[0], "%s", uri);
    return 200;
}
static int journal_begin(void *ud) { ((struct journal *)ud)->begun++; return 200; }
static int journal_commit(void *ud) { struct journal *j = ud; j->kept = j->count; return 200; }
static int journal_rollback(void *ud) { struct journal *j = ud; j->count = j->kept; j->rolled_back++; return 200; }

/* A bootstrap adding an account, as XML (its MAC is of the bytes as they came: any encoding). */
#define BOOTSTRAP(leaf) "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>" \
    "<SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>acme</LocURI></Source>" \
    "</SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item><Target><LocURI>./DMAcc/acme</LocURI></Target>" \
    "<Meta><Format xmlns='syncml:metinf'>node</Format></Meta></Item><Item><Target><LocURI>./DMAcc/acme/" leaf "</LocURI></Target>" \
    "<Data>acme</Data></Item></Add><Final/></SyncBody></SyncML>"

static void bootstrap(void) {
    const char *body = BOOTSTRAP("ServerID"), *refused = BOOTSTRAP("Refused");
    /* HMAC-SHA1 of body under "1234" (Python's hmac module). */
    const char *sealed = "application/vnd.syncml.dm+wbxml; SEC=USERPIN; MAC=5025aa7197ddd03b78260589e202e849cfdc034f";
    const uint8_t *key = (const uint8_t *)"1234";
    dm_tree_ops o = { .add = journal_add, .atomic_begin = journal_begin, .atomic_commit = journal_commit,
                      .atomic_rollback = journal_rollback };
    struct journal j = {0};
    char server[8];
    CHECK(dm_bootstrap_apply(&o, &j, (const uint8_t *)body, strlen(body), sealed, key, 4, server, sizeof server) == DM_OK);
    CHECK(j.count == 2 && j.kept == 2 && strcmp(j.uris[1], "./DMAcc/acme/ServerID") == 0 && strcmp(server, "acme") == 0);
    /* Another key: refused before the tree is touched. */
    struct journal k = {0};
    CHECK(dm_bootstrap_apply(&o, &k, (const uint8_t *)body, strlen(body), sealed, (const uint8_t *)"4321", 4, NULL, 0)
          == DM_ERR_AUTH && k.begun == 0 && strstr(dm_last_error(NULL), "MAC"));
    /* An item the tree refuses: all undone, the item named. Without a key the caller vouches. */
    CHECK(dm_bootstrap_apply(&o, &k, (const uint8_t *)refused, strlen(refused), NULL, NULL, 0, NULL, 0) == DM_ERR_PROTOCOL);
    CHECK(k.count == 0 && k.rolled_back == 1 && strstr(dm_last_error(NULL), "./DMAcc/acme/Refused: 405"));
    /* A tree with no transaction cannot be bootstrapped all or nothing. */
    dm_tree_ops bare = { .add = journal_add };
    CHECK(dm_bootstrap_apply(&bare, &k, (const uint8_t *)body, strlen(body), NULL, NULL, 0, NULL, 0) == DM_ERR_USAGE);
    CHECK(k.count == 0 && dm_bootstrap_apply(NULL, &k, (const uint8_t *)body, strlen(body), NULL, NULL, 0, NULL, 0) == DM_ERR_NULL);

    /* The same in a WAP push: Content-Type 0xC2 with SEC (0x91) USERPIN (0x81) and MAC (0x92). */
    uint8_t pdu[4096];
    const char *mac = strstr(sealed, "MAC=") + 4;
    size_t n = 0, ct_len = 4 + strlen(mac) + 1;
    pdu[n++] = 0x01; pdu[n++] = 0x06; pdu[n++] = (uint8_t)(2 + ct_len + 2);
    pdu[n++] = 0x1F; pdu[n++] = (uint8_t)ct_len;
    pdu[n++] = 0xC2; pdu[n++] = 0x91; pdu[n++] = 0x81; pdu[n++] = 0x92;
    memcpy(pdu + n, mac, strlen(mac) + 1); n += strlen(mac) + 1;
    pdu[n++] = 0xAF; pdu[n++] = 0x87;
    memcpy(pdu + n, body, strlen(body)); n += strlen(body);
    const uint8_t *inner = NULL;
    size_t inner_len = 0;
    char content_type[128], small[32];
    CHECK(dm_bootstrap_from_wap_push(pdu, n, &inner, &inner_len, content_type, sizeof content_type) == DM_OK);
    CHECK(inner_len == strlen(body) && memcmp(inner, body, inner_len) == 0 && strcmp(content_type, sealed) == 0);
    struct journal p = {0};
    CHECK(dm_bootstrap_apply(&o, &p, inner, inner_len, content_type, key, 4, NULL, 0) == DM_OK && p.kept == 2);
    CHECK(dm_bootstrap_from_wap_push(pdu, n, &inner, &inner_len, small, sizeof small) == DM_ERR_INVALID);
    CHECK(dm_bootstrap_from_wap_push((const uint8_t *)body, strlen(body), &inner, &inner_len, content_type,
                                     sizeof content_type) == DM_ERR_DECODE && strstr(dm_last_error(NULL), "WAP push"));
    CHECK(dm_bootstrap_from_wap_push(pdu, n, NULL, &inner_len, content_type, sizeof content_type) == DM_ERR_NULL);

    /* SEC=USERPIN_NETWORKID: the key is the IMSI in semi-octets and the PIN (Python's hmac module). */
    const char *both = "application/vnd.syncml.dm+wbxml; SEC=USERPIN_NETWORKID; MAC=63440d0c479654c8320fccf4ff29621a13940854";
    uint8_t derived[16], tiny[4];
    size_t derived_len = 0;
    CHECK(dm_bootstrap_key(both, "262019876543210", key, 4, derived, sizeof derived, &derived_len) == DM_OK);
    CHECK(derived_len == 12 && memcmp(derived, "\x29\x26\x10\x89\x67\x45\x23\x01" "1234", 12) == 0);
    struct journal q = {0};
    CHECK(dm_bootstrap_apply(&o, &q, (const uint8_t *)body, strlen(body), both, derived, derived_len, NULL, 0) == DM_OK);
    CHECK(dm_bootstrap_key(both, "262019876543211", key, 4, derived, sizeof derived, &derived_len) == DM_OK);
    CHECK(dm_bootstrap_apply(&o, &q, (const uint8_t *)body, strlen(body), both, derived, derived_len, NULL, 0) == DM_ERR_AUTH);
    /* The SEC read from the Content-Type: USERPIN is the PIN alone. */
    CHECK(dm_bootstrap_key(sealed, NULL, key, 4, derived, sizeof derived, &derived_len) == DM_OK && derived_len == 4);
    CHECK(dm_bootstrap_key(both, "262019876543210", key, 4, tiny, sizeof tiny, &derived_len) == DM_ERR_INVALID
          && derived_len == 12);
    CHECK(dm_bootstrap_key(both, NULL, key, 4, derived, sizeof derived, &derived_len) == DM_ERR_USAGE
          && strstr(dm_last_error(NULL), "IMSI"));
    CHECK(dm_bootstrap_key(both, "26201x", key, 4, derived, sizeof derived, &derived_len) == DM_ERR_USAGE);
    CHECK(dm_bootstrap_key("application/vnd.syncml.dm+wbxml", "1", key, 4, derived, sizeof derived, &derived_len)
          == DM_ERR_AUTH);
    CHECK(dm_bootstrap_key("text/plain; SEC=USERPIN", "1", key, 4, derived, sizeof derived, &derived_len)
          == DM_ERR_PROTOCOL);
    CHECK(dm_bootstrap_key(NULL, "1", key, 4, derived, sizeof derived, &derived_len) == DM_ERR_NULL);
}

int main(void) {
    whole_session(DM_ENCODING_XML, "sn");
    whole_session(DM_ENCODING_WBXML, "sn");
    whole_session(DM_ENCODING_XML, "stale");
    error_paths();
    codec_helpers();
    ui_and_notification();
    server_copy();
    client_alerts();
    server_password_lookup();
    a_callback_calling_its_own_session();
    limits_and_leniency();
    bootstrap();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
