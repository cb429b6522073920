/* The hostile-input corpus through the C ABI: each case gives its result code and the
 * session stays usable. Usage: hostile DIR (made by tests/hostile/make_corpus.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "omadm.h"

static int tree_get(void *ud, const char *uri, dm_value *out) {
    (void)ud;
    if (strcmp(uri, "./DevInfo") == 0) { out->format = "node"; out->data = (const uint8_t *)"DevId"; out->len = 5; return 200; }
    if (strcmp(uri, "./DevInfo/DevId") == 0) { out->data = (const uint8_t *)"IMEI:1"; out->len = 6; return 200; }
    return 404;
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static dm_result expected_code(const char *e) {
    if (!strcmp(e, "decode")) return DM_ERR_DECODE;
    if (!strcmp(e, "limit")) return DM_ERR_LIMIT;
    if (!strcmp(e, "protocol")) return DM_ERR_PROTOCOL;
    if (!strcmp(e, "auth")) return DM_ERR_AUTH;
    return DM_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/manifest.tsv", argv[1]);
    FILE *m = fopen(path, "r");
    if (!m) { fprintf(stderr, "no manifest in %s\n", argv[1]); return 2; }
    int passed = 0, failed = 0;
    while (fgets(line, sizeof line, m)) {
        char *name = strtok(line, "\t"), *target = strtok(NULL, "\t"), *expected = strtok(NULL, "\t\n");
        if (!name || !target || !expected) continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], name);
        size_t len = 0;
        uint8_t *data = slurp(path, &len);
        dm_result got = DM_OK, want = expected_code(expected);
        int usable = 1;
        if (!strcmp(target, "decode")) {
            char *xml = NULL; size_t xl = 0;
            got = dm_decode_to_xml(data, len, &xml, &xl);
            if (got == DM_OK) dm_buffer_free((uint8_t *)xml, xl + 1);
        } else if (!strcmp(target, "client")) {
            dm_client_config cfg; dm_client_config_init(&cfg);
            cfg.device_id = "IMEI:1"; cfg.server_id = "srv"; cfg.server_uri = "http://127.0.0.1/dm";
            dm_tree_ops ops; memset(&ops, 0, sizeof ops); ops.get = tree_get;
            dm_session *c = NULL;
            const uint8_t *out; size_t out_len;
            dm_client_new(&cfg, &ops, NULL, &c);
            dm_session_next_message(c, &out, &out_len);
            got = dm_session_receive(c, data, len, NULL);
            if (got != DM_OK) usable = dm_session_state(c) == DM_STATE_WAITING && dm_last_error(c) != NULL;
            dm_session_free(c);
        } else {
            dm_server_config cfg; dm_server_config_init(&cfg);
            cfg.server_id = "srv";
            dm_session *s = NULL;
            dm_server_new(&cfg, &s);
            got = dm_session_receive(s, data, len, NULL);
            if (got != DM_OK) usable = dm_session_state(s) == DM_STATE_WAITING && dm_last_error(s) != NULL;
            dm_session_free(s);
        }
        free(data);
        if (got == want && usable) passed++;
        else { failed++; fprintf(stderr, "FAIL %s: got %s, want %s\n", name, dm_result_name(got), expected); }
    }
    fclose(m);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
