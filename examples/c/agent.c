/* A small OMA DM device agent in C: the management tree lives here (callbacks), libomadm does
 * the protocol, and this file speaks HTTP/1.1 over plain POSIX sockets.
 *
 *   agent http://127.0.0.1:8080/dm [device-id] [--listen PORT]
 *   agent --bootstrap FILE CONTENT-TYPE PIN [device-id]     (FILE a WAP push: CONTENT-TYPE is its own)
 *   agent --listen PORT --bootstrap-pin PIN [device-id]
 *   ... --imsi IMSI      (the SIM's IMSI: a bootstrap sealed with SEC=NETWORKID or USERPIN_NETWORKID)
 *
 * It runs one session (md5 authentication as user "device" / "secret") and prints each
 * package it sends and receives. With --bootstrap it is a device out of the box: it applies the
 * bootstrap message in FILE (the OMA DM profile, as `omadm bootstrap` writes one), its MAC in
 * CONTENT-TYPE checked with the key its SEC takes (the PIN; with --imsi, the IMSI and the PIN
 * dm_bootstrap_key derives), and reaches the server the account it gave names, with the
 * account's credentials. With --listen it first waits for the server to ask for the
 * session: package 0 in a WAP push, in a UDP datagram to PORT (WDP's push port is 2948), signed
 * with the server's password (its account's SRVCRED, else SERVER_PASSWORD); it drops any other
 * datagram. With --bootstrap-pin (or --imsi) it takes a bootstrap pushed there too, before
 * package 0.
 *
 * It holds a firmware update object (FUMO, ./FUMO): an Exec on Download, Update or
 * DownloadAndUpdate is accepted (202); once the session is over the package is fetched from
 * PkgURL (Download, DownloadAndUpdate) and kept, or "installed" (Update: the package downloaded,
 * or the bytes a server put in Update/PkgData), and the outcome is reported in a session of the
 * agent's own, as the Generic Alert FUMO asks for. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "omadm.h"

/* ---- the tree ---- */
/* Leaves, and the interior nodes a server added or that can run (`interior`); the others
 * (./DevInfo, ...) are implied by their children. `acl` empty: the parent's applies. `pending`:
 * an Exec accepted (202) whose outcome is still to be reported (REPORT_NOW: in this session;
 * REPORT_LATER: a firmware update, done after it), with its correlator. */
enum { REPORT_NOW = 1, REPORT_LATER = 2 };
/* FUMO's operations, each with the Generic Alert type of its outcome. */
enum { DOWNLOAD, UPDATE, DOWNLOAD_AND_UPDATE };
static const char *const fumo_ops[][2] = {
    { "./FUMO/Download", "org.openmobilealliance.dm.firmwareupdate.download" },
    { "./FUMO/Update", "org.openmobilealliance.dm.firmwareupdate.update" },
    { "./FUMO/DownloadAndUpdate", "org.openmobilealliance.dm.firmwareupdate.downloadandupdate" },
};
#define PKG_DATA "./FUMO/Update/PkgData"
#define MAX_PACKAGE (4 << 20)
struct node {
    char uri[96]; char value[256]; const char *big; int interior; char acl[128];
    int pending; char correlator[64];
};
static struct node nodes[64];
static int n_nodes;
/* What an Atomic rolls back to. */
static struct node saved[64];
static int n_saved;

/* The firmware package: downloaded, or put in PkgData by a server (binary, so not a node's
 * value). What an Atomic rolls back to: the one before it (freed only once it is over). */
static uint8_t *package, *saved_package;
static size_t package_len, saved_package_len;
static int in_atomic;

static void set(const char *uri, const char *value) {
    snprintf(nodes[n_nodes].uri, sizeof nodes[n_nodes].uri, "%s", uri);
    snprintf(nodes[n_nodes].value, sizeof nodes[n_nodes].value, "%s", value);
    n_nodes++;
}

static struct node *find(const char *uri) {
    for (int i = 0; i < n_nodes; i++) if (strcmp(nodes[i].uri, uri) == 0) return &nodes[i];
    return NULL;
}

/* A leaf's value ("" when a server deleted it). */
static const char *value_of(const char *uri) {
    struct node *n = find(uri);
    return n ? n->value : "";
}

/* FUMO's State (unless a server deleted it). */
static void fumo_state(const char *state) {
    struct node *n = find("./FUMO/State");
    if (n) snprintf(n->value, sizeof n->value, "%s", state);
}

/* The children of an interior node, '/'-joined, or 0 when `uri` is not an interior node. */
static size_t children(const char *uri, char *out, size_t cap) {
    size_t len = strlen(uri), used = 0;
    out[0] = 0;
    for (int i = 0; i < n_nodes; i++) {
        const char *u = nodes[i].uri;
        if (strncmp(u, uri, len) != 0 || u[len] != '/') continue;
        const char *name = u + len + 1, *slash = strchr(name, '/');
        size_t nl = slash ? (size_t)(slash - name) : strlen(name);
        char tmp[96];
        snprintf(tmp, sizeof tmp, "%.*s", (int)nl, name);
        if (strstr(out, tmp)) continue; /* already listed (good enough for a demo tree) */
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "/" : "", tmp);
    }
    return used;
}

static char listing[1024];

static int tree_get(void *ud, const char *uri, dm_value *out) {
    (void)ud;
    struct node *n = find(uri);
    if (n && strcmp(uri, PKG_DATA) == 0) {
        out->format = "bin";
        out->data = package;
        out->len = package_len;
        return 200;
    }
    if (n && !n->interior) {
        const char *v = n->big ? n->big : n->value;
        out->data = (const uint8_t *)v;
        out->len = strlen(v);
        return 200;
    }
    if (children(uri, listing, sizeof listing) == 0 && !n) return 404;
    out->format = "node";
    out->data = (const uint8_t *)listing;
    out->len = strlen(listing);
    return 200;
}

/* The package replaced by `len` bytes (NULL: none); the one an Atomic started with is kept. */
static void keep_package(uint8_t *bytes, size_t len) {
    if (!in_atomic || package != saved_package) free(package);
    package = bytes;
    package_len = len;
}

static int tree_replace(void *ud, const char *uri, const dm_value *v) {
    (void)ud;
    struct node *n = find(uri);
    if (!n) return 404;
    if (n->interior) return 405;
    if (strcmp(uri, PKG_DATA) == 0) {
        uint8_t *copy = v->len > MAX_PACKAGE ? NULL : malloc(v->len ? v->len : 1);
        if (!copy) return 420; /* Device Full */
        if (v->len) memcpy(copy, v->data, v->len);
        keep_package(copy, v->len);
        return 200;
    }
    if (v->len >= sizeof n->value) return 413;
    memcpy(n->value, v->data, v->len);
    n->value[v->len] = 0;
    return 200;
}

static int tree_add(void *ud, const char *uri, const dm_value *v) {
    (void)ud;
    if (find(uri)) return 418;
    if (n_nodes == (int)(sizeof nodes / sizeof nodes[0]) || v->len >= sizeof nodes[0].value) return 420;
    set(uri, "");
    if (v->format && strcmp(v->format, "node") == 0) {
        nodes[n_nodes - 1].interior = 1;
        return 200;
    }
    return tree_replace(ud, uri, v);
}

/* Delete: the node and all below it; not the root (405). */
static int tree_remove(void *ud, const char *uri) {
    (void)ud;
    if (strcmp(uri, ".") == 0) return 405;
    size_t len = strlen(uri);
    int kept = 0, gone = 0;
    for (int i = 0; i < n_nodes; i++) {
        const char *u = nodes[i].uri;
        if (strncmp(u, uri, len) == 0 && (u[len] == 0 || u[len] == '/')) gone++;
        else nodes[kept++] = nodes[i];
    }
    n_nodes = kept;
    return gone ? 200 : 404;
}

static char property[256];

/* The properties every node has: Format, Type, ACL, Name. */
static int tree_get_property(void *ud, const char *uri, const char *name, dm_value *out) {
    (void)ud;
    struct node *n = find(uri);
    int interior = n ? n->interior : children(uri, listing, sizeof listing) > 0;
    const char *last = strrchr(uri, '/');
    if (!n && !interior) return 404;
    if (strcmp(name, "Format") == 0) snprintf(property, sizeof property, "%s", interior ? "node" : "chr");
    else if (strcmp(name, "Type") == 0) snprintf(property, sizeof property, "%s", interior ? "" : "text/plain");
    else if (strcmp(name, "ACL") == 0) snprintf(property, sizeof property, "%s", n ? n->acl : "");
    else if (strcmp(name, "Name") == 0) snprintf(property, sizeof property, "%s", last ? last + 1 : uri);
    else return 406;
    out->data = (const uint8_t *)property;
    out->len = strlen(property);
    return 200;
}

static int tree_replace_property(void *ud, const char *uri, const char *name, const char *value) {
    (void)ud;
    struct node *n = find(uri);
    if (!n) return children(uri, listing, sizeof listing) ? 405 : 404; /* ./DevInfo and the like */
    int known = !strcmp(name, "Format") || !strcmp(name, "Type") || !strcmp(name, "Name");
    if (strcmp(name, "ACL") != 0) return known ? 405 : 406; /* only the ACL changes here */
    if (strlen(value) >= sizeof n->acl) return 413;
    snprintf(n->acl, sizeof n->acl, "%s", value);
    return 200;
}

/* Atomic: the whole (small) tree kept, and put back on a rollback; the package too. */
static int tree_begin(void *ud) {
    (void)ud;
    memcpy(saved, nodes, sizeof nodes); n_saved = n_nodes;
    saved_package = package; saved_package_len = package_len; in_atomic = 1;
    return 200;
}
static int tree_commit(void *ud) {
    (void)ud;
    if (package != saved_package) free(saved_package);
    in_atomic = 0;
    return 200;
}
static int tree_rollback(void *ud) {
    (void)ud;
    memcpy(nodes, saved, sizeof nodes); n_nodes = n_saved;
    if (package != saved_package) free(package);
    package = saved_package; package_len = saved_package_len; in_atomic = 0;
    return 200;
}

/* Which FUMO operation `uri` is, or -1. */
static int fumo_op(const char *uri) {
    for (int i = 0; i < 3; i++) if (strcmp(uri, fumo_ops[i][0]) == 0) return i;
    return -1;
}

static int tree_exec(void *ud, const char *uri, const uint8_t *data, size_t len, const char *correlator) {
    (void)ud; (void)data; (void)len;
    struct node *n = find(uri);
    if (!n) return 404;
    int op = fumo_op(uri);
    printf("      [agent] exec %s (correlator %s): %s\n", uri, correlator ? correlator : "-",
           op >= 0 ? "done after the session" : "will report later");
    n->pending = op >= 0 ? REPORT_LATER : REPORT_NOW;
    snprintf(n->correlator, sizeof n->correlator, "%s", correlator ? correlator : "");
    if (op >= 0) fumo_state(op == UPDATE ? "60" : "30"); /* Download, or Update, Progressing */
    return 202;
}

/* The outcome of each Exec answered 202, in a Generic Alert that goes out with the next package.
 * A callback cannot call its own session: this runs once dm_session_receive has returned. */
static void report_execs(dm_session *s) {
    for (int i = 0; i < n_nodes; i++) {
        struct node *n = &nodes[i];
        if (n->pending != REPORT_NOW) continue;
        dm_alert_item outcome = { .source_uri = n->uri, .mime_type = "Reversed-Domain-Name: com.acme.exec",
                                  .mark = "informational", .data = (const uint8_t *)"200", .len = 3 };
        if (dm_client_alert(s, 1226, n->correlator[0] ? n->correlator : NULL, &outcome, 1, NULL) == DM_OK)
            printf("      [agent] exec %s done: Generic Alert queued\n", n->uri);
        else
            fprintf(stderr, "agent: %s\n", dm_last_error(s));
        n->pending = 0;
    }
}

/* ---- HTTP ---- */
static int connect_to(const char *host, const char *port) {
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    /* A server that goes silent must not hang the device: 30 s for each send and receive. */
    struct timeval t = { .tv_sec = 30 };
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t)
                    || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t)
                    || connect(fd, res->ai_addr, res->ai_addrlen) != 0)) { close(fd); fd = -1; }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) return -1;
        p += n; len -= (size_t)n;
    }
    return 0;
}

/* host:port as a Host header names them: an IPv6 address in brackets. */
static const char *authority(const char *host, const char *port) {
    static char named[300];
    snprintf(named, sizeof named, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    return named;
}

/* The largest reply read: the library's default message limit. */
#define MAX_BODY (1u << 20)

/* A connection's bytes read through a buffer. */
struct reader { int fd; char buf[4096]; size_t pos, len; };

static int fill(struct reader *r) {
    r->pos = r->len = 0;
    ssize_t n = recv(r->fd, r->buf, sizeof r->buf, 0);
    if (n <= 0) return -1;
    r->len = (size_t)n;
    return 0;
}

/* One line, its CRLF dropped; -1 past cap - 1 bytes. */
static int read_line(struct reader *r, char *line, size_t cap) {
    for (size_t n = 0;;) {
        if (r->pos == r->len && fill(r)) return -1;
        char c = r->buf[r->pos++];
        if (c == '\n') { line[n && line[n - 1] == '\r' ? n - 1 : n] = 0; return 0; }
        if (n + 1 >= cap) return -1;
        line[n++] = c;
    }
}

static int read_exact(struct reader *r, uint8_t *out, size_t len) {
    while (len) {
        if (r->pos == r->len && fill(r)) return -1;
        size_t n = r->len - r->pos < len ? r->len - r->pos : len;
        memcpy(out, r->buf + r->pos, n);
        r->pos += n; out += n; len -= n;
    }
    return 0;
}

/* A response body, by its Content-Length or in chunks, into *body (malloc'd); none past MAX_BODY. */
static int read_body(struct reader *r, int chunked, long long length, uint8_t **body, size_t *body_len) {
    char line[256];
    uint8_t *b = NULL;
    size_t have = 0;
    for (;;) {
        unsigned long long n = (unsigned long long)length;  /* the whole body, or the next chunk */
        if (chunked) {
            char *end;
            if (read_line(r, line, sizeof line)) break;
            n = strtoull(line, &end, 16);
            if (end == line) break;
        } else if (length < 0) {
            break;  /* neither a length nor chunks: not read */
        }
        if (n > MAX_BODY - have) break;
        uint8_t *grown = realloc(b, have + n + 1);
        if (!grown) break;
        b = grown;
        if (read_exact(r, b + have, n)) break;
        have += n;
        if (chunked && n) {  /* a chunk ends with CRLF; more follow */
            if (read_line(r, line, sizeof line) || line[0]) break;
            continue;
        }
        int rc = 0;
        while (chunked && !(rc = read_line(r, line, sizeof line)) && line[0]) {}  /* the trailer */
        if (rc) break;
        *body = b; *body_len = have;
        return 0;
    }
    free(b);
    return -1;
}

/* Reads the response to a request sent on `fd`: a 200's body into *body (malloc'd); *keep is
 * cleared when the server closes the connection after it. -1 when the connection failed, -2 for
 * an HTTP error status (not worth sending again), -3 when the server is busy (503) and says in
 * *retry_after how many seconds to wait before sending it again. */
static int read_response(int fd, uint8_t **body, size_t *body_len, int *keep, long *retry_after) {
    char line[1024];
    struct reader r = { .fd = fd };
    int status = 0, chunked = 0;
    long long length = -1;
    *retry_after = -1;
    if (read_line(&r, line, sizeof line) || sscanf(line, "HTTP/1.%*d %d", &status) != 1) return -1;
    *keep = strncmp(line, "HTTP/1.1", 8) == 0;
    for (;;) {
        if (read_line(&r, line, sizeof line)) return -1;
        if (!line[0]) break;
        if (!strncasecmp(line, "Content-Length:", 15)) length = strtoll(line + 15, NULL, 10);
        if (!strncasecmp(line, "Transfer-Encoding:", 18)) chunked = strcasestr(line, "chunked") != NULL;
        if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close")) *keep = 0;
        if (!strncasecmp(line, "Retry-After:", 12)) *retry_after = strtol(line + 12, NULL, 10);
    }
    if (status == 503 && *retry_after >= 0) {  /* a busy server: the body is read no further */
        *keep = 0;
        return -3;
    }
    if (status != 200) {
        fprintf(stderr, "agent: the server answered HTTP %d\n", status);
        return -2;
    }
    return read_body(&r, chunked, length, body, body_len);
}

/* POSTs one message and reads the response (read_response). */
static int post(int fd, const char *host, const char *port, const char *path, const char *type, const char *hmac,
                const uint8_t *data, size_t len, uint8_t **body, size_t *body_len, int *keep, long *retry_after) {
    char line[1024];
    int n = snprintf(line, sizeof line,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s\r\n",
                     path, authority(host, port), type, len, hmac ? "x-syncml-hmac: " : "", hmac ? hmac : "", hmac ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof line) return -1;
    if (send_all(fd, line, (size_t)n) || send_all(fd, data, len)) return -1;
    return read_response(fd, body, body_len, keep, retry_after);
}

/* An http:// URL's host (an IPv6 address in brackets, given without them), port (80 when it
 * names none) and path with its query; 0 when it is one. */
static int parse_url(const char *url, char host[256], char port[16], char path[512]) {
    if (!url) return -1;
    strcpy(port, "80");
    strcpy(path, "/");
    int bracketed = strncmp(url, "http://[", 8) == 0;  /* an IPv6 address */
    if (sscanf(url, bracketed ? "http://[%255[0-9A-Fa-f:.]" : "http://%255[^:/?]", host) != 1) return -1;
    const char *rest = url + 7 + strlen(host) + (bracketed ? 2 : 0);
    if (bracketed && rest[-1] != ']') return -1;
    if (*rest == ':' && sscanf(rest, ":%15[0-9]", port) != 1) return -1;
    rest += *rest == ':' ? 1 + strlen(port) : 0;
    if (*rest && sscanf(rest, "%511s", path) != 1) return -1;
    if (path[0] != '/') return -1;
    return 0;
}

static void show(const char *dir, const uint8_t *data, size_t len) {
    char *xml = NULL;
    size_t xl = 0;
    int cmds = 0, final = 0;
    if (dm_decode_to_xml(data, len, &xml, &xl) == DM_OK) {
        const char *names[] = { "<Status>", "<Get>", "<Replace>", "<Add>", "<Exec>", "<Results>", "<Alert>", "<Delete>" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            for (const char *p = xml; (p = strstr(p, names[i])); p++) cmds++;
        final = strstr(xml, "<Final/>") != NULL;
        dm_buffer_free((uint8_t *)xml, xl + 1);
    }
    printf("%s %6zu bytes, %d commands%s\n", dir, len, cmds, final ? ", Final" : "");
}

/* ---- bootstrap ---- */
/* A node's URI with its last segment replaced by `name` (a sibling of `uri`). */
static const char *sibling(const char *uri, const char *name) {
    static char out[96];
    const char *slash = strrchr(uri, '/');
    snprintf(out, sizeof out, "%.*s/%s", (int)(slash - uri), uri, name);
    return out;
}

static int ends_with(const char *s, const char *end) {
    size_t a = strlen(s), b = strlen(end);
    return a >= b && strcmp(s + a - b, end) == 0;
}

/* The device's IMSI (--imsi), as its SIM would give it: a secret a bootstrap's MAC may be keyed by. */
static const char *imsi;

/* Applies a bootstrap message (all or nothing: the tree's Atomic callbacks undo a refused
 * item), its MAC in `type` checked with the key its SEC takes from `pin` (NULL: none) and the
 * IMSI, then points `cfg` at the server its account
 * names: the Addr of AddrType URI, the client credentials (CLCRED) and the server's password
 * (SRVCRED). Returns 0 when it did. */
static int apply_bootstrap(const uint8_t *message, size_t len, const char *type, const char *pin,
                           const dm_tree_ops *ops, dm_client_config *cfg) {
    static char server_id[64], url[256], username[128], password[128], server_password[128];
    uint8_t key[256];
    size_t key_len = 0;
    dm_result r = dm_bootstrap_key(type, imsi, (const uint8_t *)pin, pin ? strlen(pin) : 0, key, sizeof key, &key_len);
    if (r == DM_OK) r = dm_bootstrap_apply(ops, NULL, message, len, type, key, key_len, server_id, sizeof server_id);
    if (r != DM_OK) { fprintf(stderr, "agent: bootstrap: %s\n", dm_last_error(NULL)); return 1; }
    /* The account: the DMAcc node whose ServerID is the server's. */
    const char *account = NULL;
    for (int i = 0; i < n_nodes && !account; i++)
        if (!strncmp(nodes[i].uri, "./DMAcc/", 8) && ends_with(nodes[i].uri, "/ServerID")
            && !strcmp(nodes[i].value, server_id))
            account = nodes[i].uri;
    size_t at = account ? strlen(account) - strlen("ServerID") : 0;
    cfg->server_id = server_id;
    cfg->auth = DM_AUTH_NONE;
    for (int i = 0; account && i < n_nodes; i++) {
        const char *u = nodes[i].uri, *v = nodes[i].value;
        if (strncmp(u, account, at) != 0) continue;
        if (ends_with(u, "/AddrType") && strcmp(v, "URI") == 0) snprintf(url, sizeof url, "%s", value_of(sibling(u, "Addr")));
        if (!ends_with(u, "/AAuthLevel")) continue;
        const char *secret = value_of(sibling(u, "AAuthSecret")), *kind = value_of(sibling(u, "AAuthType"));
        if (strcmp(v, "SRVCRED") == 0) snprintf(server_password, sizeof server_password, "%s", secret);
        if (strcmp(v, "CLCRED") != 0) continue;
        snprintf(username, sizeof username, "%s", value_of(sibling(u, "AAuthName")));
        snprintf(password, sizeof password, "%s", secret);
        cfg->auth = !strcmp(kind, "DIGEST") ? DM_AUTH_MD5 : !strcmp(kind, "HMAC") ? DM_AUTH_HMAC : DM_AUTH_BASIC;
    }
    if (!url[0]) { fprintf(stderr, "agent: bootstrap: the account names no URI to reach %s at\n", server_id); return 1; }
    cfg->server_uri = url; cfg->username = username; cfg->password = password;
    cfg->server_password = server_password[0] ? server_password : NULL;
    printf("agent: bootstrapped by %s, its MAC checked: %s as %s\n", server_id, url, username[0] ? username : "nobody");
    return 0;
}

/* The bootstrap in `file`: a message with the Content-Type `type`, or a WAP push, which
 * carries its own (SEC and MAC as WSP parameters). */
static int bootstrap_file(const char *file, const char *type, const char *pin, const dm_tree_ops *ops,
                          dm_client_config *cfg) {
    static uint8_t body[8192];
    static char pushed_type[128];
    FILE *f = fopen(file, "rb");
    if (!f) { perror(file); return 1; }
    size_t len = fread(body, 1, sizeof body, f);
    int whole = feof(f);
    fclose(f);
    if (!whole) { fprintf(stderr, "agent: %s is larger than %zu bytes\n", file, sizeof body); return 1; }
    const uint8_t *message = body;
    if (dm_bootstrap_from_wap_push(body, len, &message, &len, pushed_type, sizeof pushed_type) == DM_OK) type = pushed_type;
    return apply_bootstrap(message, len, type, pin, ops, cfg);
}

/* ---- package 0 (and a bootstrap) over WAP push ---- */
#define SERVER_ID "omadm-demo"
/* The server's password (its DMAcc SRVCRED secret): what signs its notifications. */
#define SERVER_PASSWORD "server-secret"

/* Waits on UDP `port` for a notification from cfg's server that its digest shows the server
 * sent (signed with the account's SRVCRED secret, else SERVER_PASSWORD); fills `n` (its
 * SessionID and UI mode). With `pin` or the IMSI, a bootstrap pushed first gives the device its account
 * (waiting goes on). Returns 0, or -1 when the socket fails. */
static int await_push(const char *port, const char *pin, const dm_tree_ops *ops, dm_client_config *cfg,
                      dm_notification *n) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in at = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    at.sin_addr.s_addr = htonl(INADDR_ANY);
    if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof at) < 0) {
        perror("agent: udp");
        if (fd >= 0) close(fd);
        return -1;
    }
    printf("agent: waiting for package 0%s on udp port %s\n", pin || imsi ? " and a bootstrap" : "", port);
    static uint8_t pdu[8192];
    for (;;) {
        ssize_t got = recv(fd, pdu, sizeof pdu, 0);
        if (got < 0) { perror("agent: udp"); close(fd); return -1; }
        /* A WAP push's content type tells a bootstrap (0x42) from a notification (0x44). */
        const uint8_t *data = pdu;
        size_t len = (size_t)got;
        char type[128];
        if ((pin || imsi) && dm_bootstrap_from_wap_push(pdu, len, &data, &len, type, sizeof type) == DM_OK) {
            if (apply_bootstrap(data, len, type, pin, ops, cfg)) printf("agent: dropped a bootstrap\n");
            continue;
        }
        /* A notification: in a WAP push, or bare. */
        dm_notification_from_wap_push(pdu, (size_t)got, &data, &len);
        const char *password = cfg->server_password ? cfg->server_password : SERVER_PASSWORD;
        dm_result r = dm_notification_parse(data, len, password, NULL, 0, n);
        if (r != DM_OK) printf("agent: dropped a datagram: %s\n", dm_last_error(NULL));
        else if (!cfg->server_uri) printf("agent: dropped package 0 from %s: no account yet\n", n->server_id);
        else if (strcmp(n->server_id, cfg->server_id) != 0) printf("agent: dropped package 0 from %s\n", n->server_id);
        else if (!n->digest_ok) printf("agent: dropped package 0 that %s did not sign\n", cfg->server_id);
        else break;
    }
    close(fd);
    printf("agent: package 0 from %s: session %s, ui-mode %u\n", n->server_id, n->session_id_hex, n->ui_mode);
    return 0;
}


/* The nonce the server gave for the next session (md5). */
static uint8_t next_nonce[64];
static size_t next_nonce_len;

/* One session with the server at cfg->server_uri; with `update`, the FUMO result code of the
 * operation `op`, that outcome goes with package 1 as a Generic Alert with the Exec's
 * correlator. Returns 0 when the session ended well. */
static int run_session(const dm_client_config *cfg, const dm_tree_ops *ops, int update, int op,
                       const char *correlator) {
    char host[256], port[16], path[512];
    parse_url(cfg->server_uri, host, port, path);
    dm_session *s = NULL;
    if (dm_client_new(cfg, ops, NULL, &s) != DM_OK) { fprintf(stderr, "agent: %s\n", dm_last_error(NULL)); return 1; }
    if (update) {
        char code[8];
        snprintf(code, sizeof code, "%d", update);
        dm_alert_item outcome = { .source_uri = fumo_ops[op][0], .mime_type = fumo_ops[op][1], .format = "int",
                                  .mark = update == 200 ? NULL : "critical", .data = (const uint8_t *)code,
                                  .len = strlen(code) };
        if (dm_client_alert(s, 1226, correlator[0] ? correlator : NULL, &outcome, 1, NULL) != DM_OK)
            fprintf(stderr, "agent: %s\n", dm_last_error(s));
    }

    int fd = -1, rc = 0, keep = 0;
    const uint8_t *msg;
    size_t len;
    dm_result r;
    while ((r = dm_session_next_message(s, &msg, &len)) == DM_OK) {
        show("-> agent ", msg, len);
        uint8_t *body;
        size_t body_len;
        /* To the server's last RespURI (DM: the client follows it), else the server URI. */
        char to_host[256], to_port[16];
        if (parse_url(dm_session_respond_to(s), to_host, to_port, path)) {
            fprintf(stderr, "agent: the server's RespURI is not an http:// URL: %s\n", dm_session_respond_to(s));
            rc = 1; break;
        }
        if (strcmp(to_host, host) || strcmp(to_port, port)) {
            if (fd >= 0) { close(fd); fd = -1; }
            strcpy(host, to_host); strcpy(port, to_port);
        }
        /* HTTP/1.1 keep-alive when the server keeps the connection; a new one otherwise, and
         * once more when a kept connection turns out closed. A busy server (503) gets the message
         * again after the Retry-After it gives, up to 3 times and 60 s a wait. */
        int failed = 1, busy = 0;
        long retry_after;
        for (int attempt = 0; attempt < 2 && failed; attempt++) {
            if (fd < 0 && (fd = connect_to(host, port)) < 0) break;
            failed = post(fd, host, port, path, dm_session_content_type(s), dm_session_hmac_header(s), msg, len,
                          &body, &body_len, &keep, &retry_after);
            if (failed || !keep) { close(fd); fd = -1; }
            if (failed == -3 && busy < 3 && retry_after <= 60) {
                fprintf(stderr, "agent: the server is busy; again in %ld s\n", retry_after);
                sleep((unsigned)retry_after);
                busy++, attempt--;
                continue;
            }
            if (failed == -3) fprintf(stderr, "agent: the server answered HTTP 503, busy still\n");
            if (failed == -2 || failed == -3) break;
        }
        if (failed) {
            fprintf(stderr, "agent: HTTP to %s:%s failed\n", host, port); rc = 1; break;
        }
        show("<- server", body, body_len);
        r = dm_session_receive(s, body, body_len, NULL);
        free(body);
        if (r != DM_OK) { fprintf(stderr, "agent: %s: %s\n", dm_result_name(r), dm_last_error(s)); rc = 1; break; }
        dm_event e;
        while (dm_session_next_event(s, &e) == DM_OK) {
            if (e.kind == DM_EVENT_EXECUTED) printf("      [agent] %s %s: %u\n", e.cmd, e.uri, e.code);
            if (e.kind == DM_EVENT_SERVER_AUTH_FAILED) fprintf(stderr, "agent: the server's credentials are not its account's\n");
            if (e.kind == DM_EVENT_AUTH_FAILED) fprintf(stderr, "agent: the server refused this device's credentials\n");
        }
        report_execs(s);
    }
    if (r != DM_OK && r != DM_DONE) { fprintf(stderr, "agent: %s: %s\n", dm_result_name(r), dm_last_error(s)); rc = 1; }
    if (dm_session_state(s) != DM_STATE_ENDED) rc = 1;
    printf("agent: session %s; ./Vendor/Settings/Level = %s\n",
           dm_session_state(s) == DM_STATE_ENDED ? "ended" : "did not end", value_of("./Vendor/Settings/Level"));
    if (fd >= 0) close(fd);
    const uint8_t *nonce;
    if (dm_session_next_nonce(s, DM_NONCE_CLIENT, &nonce, &next_nonce_len) == DM_OK
        && next_nonce_len <= sizeof next_nonce)
        memcpy(next_nonce, nonce, next_nonce_len);
    else
        next_nonce_len = 0;
    dm_session_free(s);
    return rc;
}

/* ---- the firmware update (FUMO) ---- */
/* Fetches the package at `url` (HTTP GET) and keeps it. Returns the FUMO result code: 200
 * Successful, 411 Malformed or Bad URL, 412 Alternate Download Server Unavailable, 500 Alternate
 * Download Server Error. */
static int fumo_download(const char *url) {
    char host[256], port[16], path[512], request[1024];
    int code = 411, fd = -1, keep;
    long retry_after;
    uint8_t *body = NULL;
    size_t size = 0;
    if (!parse_url(url, host, port, path)) {
        int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                         path, authority(host, port));
        code = 412;
        if ((fd = connect_to(host, port)) >= 0 && n > 0 && (size_t)n < sizeof request
            && !send_all(fd, request, (size_t)n))
            code = read_response(fd, &body, &size, &keep, &retry_after) == 0 && size > 0 ? 200 : 500;
        if (fd >= 0) close(fd);
    }
    if (code == 200) keep_package(body, size);
    else free(body);
    printf("      [agent] firmware: %zu bytes from %s: result %d\n", size, url, code);
    return code;
}

/* Does the FUMO operation the server started (the first pending): Download fetches the package
 * from PkgURL, Update "installs" the package kept (this demo installs nothing; 410 Firmware
 * Update Failed when there is none), DownloadAndUpdate does both. Returns its result code and
 * the operation in *op, or 0 when none is pending. */
static int fumo_run(char correlator[64], int *op) {
    struct node *n = NULL;
    for (*op = 0; *op < 3; ++*op)
        if ((n = find(fumo_ops[*op][0])) && n->pending == REPORT_LATER) break;
    if (*op == 3) return 0;
    n->pending = 0;
    memcpy(correlator, n->correlator, sizeof n->correlator);
    int code = 200;
    if (*op != UPDATE) {
        char url[256];
        snprintf(url, sizeof url, "%s/PkgURL", fumo_ops[*op][0]);
        code = fumo_download(value_of(url));
        fumo_state(code == 200 ? "40" : "20"); /* Download Complete / Download Failed */
    }
    if (*op != DOWNLOAD && code == 200) {
        code = package_len ? 200 : 410;
        printf("      [agent] firmware: %zu bytes installed: result %d\n", package_len, code);
        fumo_state(code == 200 ? "100" : "80"); /* Update Successful / Update Failed */
        if (code == 200) keep_package(NULL, 0);
    }
    return code;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *url = NULL, *device = "IMEI:493005100592800", *listen_port = NULL, *boot[3] = { NULL }, *pin = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) listen_port = argv[++i];
        else if (strcmp(argv[i], "--bootstrap-pin") == 0 && i + 1 < argc) pin = argv[++i];
        else if (strcmp(argv[i], "--imsi") == 0 && i + 1 < argc) imsi = argv[++i];
        else if (strcmp(argv[i], "--bootstrap") == 0 && i + 3 < argc) for (int k = 0; k < 3; k++) boot[k] = argv[++i];
        else if (!url && !boot[0]) url = argv[i];
        else device = argv[i];
    }
    if ((url && boot[0]) || !(url || boot[0] || (listen_port && (pin || imsi)))) {
        fprintf(stderr, "usage: %s http://host:port/path [device-id] [--listen PORT]\n"
                        "       %s --bootstrap FILE CONTENT-TYPE PIN [device-id] [--listen PORT]\n"
                        "       %s --listen PORT --bootstrap-pin PIN [device-id]\n"
                        "       (and --imsi IMSI: the SIM's, for a bootstrap keyed by it)\n", argv[0], argv[0], argv[0]);
        return 2;
    }
    char host[256], port[16], path[512];
    if (url && parse_url(url, host, port, path)) { fprintf(stderr, "bad URL: %s\n", url); return 2; }

    set("./DevInfo/DevId", device); set("./DevInfo/Man", "Acme"); set("./DevInfo/Mod", "C agent");
    set("./DevInfo/DmV", "1.2"); set("./DevInfo/Lang", "en-US");
    set("./DevDetail/FwV", "4.2.0"); set("./Vendor/Settings/Level", "1"); set("./Vendor/Reboot", "");
    /* A 100 KiB log: the server reads it through large-object transfer. */
    static char log[100 * 1024 + 1];
    for (size_t i = 0; i < sizeof log - 1; i++) log[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
    set("./Vendor/Log", "");
    find("./Vendor/Log")->big = log;
    /* FUMO: the nodes a server Execs, the package's URL or bytes, and the State (10: Idle). */
    for (int i = 0; i < 3; i++) {
        set(fumo_ops[i][0], "");
        find(fumo_ops[i][0])->interior = 1;
    }
    set("./FUMO/Download/PkgURL", ""); set("./FUMO/DownloadAndUpdate/PkgURL", ""); set(PKG_DATA, "");
    set("./FUMO/State", "10");

    dm_client_config cfg;
    dm_client_config_init(&cfg);
    cfg.device_id = device; cfg.server_id = SERVER_ID; cfg.server_uri = url;
    cfg.auth = DM_AUTH_MD5; cfg.username = "device"; cfg.password = "secret";
    cfg.nonce = (const uint8_t *)"demo-nonce"; cfg.nonce_len = 10;
    /* What one server message may make this device hold (a command costs about 560 bytes of heap
     * while its message runs); the MaxMsgSize announced follows max_message_size. */
    cfg.limits.max_message_size = 64 * 1024;
    cfg.limits.max_commands = 1000;
    dm_tree_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.get = tree_get; ops.replace = tree_replace; ops.add = tree_add; ops.remove = tree_remove; ops.exec = tree_exec;
    ops.get_property = tree_get_property; ops.replace_property = tree_replace_property;
    ops.atomic_begin = tree_begin; ops.atomic_commit = tree_commit; ops.atomic_rollback = tree_rollback;
    if (boot[0] && bootstrap_file(boot[0], boot[1], boot[2], &ops, &cfg)) return 1;
    dm_notification pkg0;
    if (listen_port) { /* the session the server asks for: Alert 1200 with its SessionID */
        if (await_push(listen_port, pin, &ops, &cfg, &pkg0)) return 1;
        cfg.session_id = pkg0.session_id_hex; cfg.server_initiated = 1;
    }
    int rc = run_session(&cfg, &ops, 0, 0, "");
    char correlator[64];
    int op, update = rc ? 0 : fumo_run(correlator, &op);
    if (update) {  /* the outcome, in a session of the agent's own, with the nonce the last one gave */
        cfg.session_id = "2"; cfg.server_initiated = 0;
        cfg.nonce = next_nonce; cfg.nonce_len = next_nonce_len;
        rc = run_session(&cfg, &ops, update, op, correlator);
    }
    keep_package(NULL, 0);
    return rc;
}
