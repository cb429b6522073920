#define _GNU_SOURCE
/* Sessions on several threads at once, as omadm.h allows (one session, one thread at a time):
 * each thread runs whole client/server sessions in memory and provokes an error of its own,
 * which dm_last_error(NULL) gives back on that thread alone. Run under valgrind's helgrind. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "omadm.h"

#define THREADS 4
#define SESSIONS 20

static int tree_get(void *ud, const char *uri, dm_value *out) {
    static const char *leaves[][2] = { {"./DevInfo/DevId", "IMEI:1"}, {"./DevInfo/Man", "Acme"}, {"./DevInfo/Mod", "X1"},
                                       {"./DevInfo/DmV", "1.2"}, {"./DevInfo/Lang", "en"} };
    (void)ud;
    if (strcmp(uri, "./DevInfo") == 0) {
        static const char kids[] = "DevId/Man/Mod/DmV/Lang";
        out->format = "node"; out->data = (const uint8_t *)kids; out->len = strlen(kids);
        return 200;
    }
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
        if (strcmp(uri, leaves[i][0]) == 0) { out->data = (const uint8_t *)leaves[i][1]; out->len = strlen(leaves[i][1]); return 200; }
    return 404;
}

/* One whole session: 1 when the server got ./DevInfo/Mod and both ended. */
static int session(dm_encoding enc) {
    dm_client_config cc; dm_client_config_init(&cc);
    cc.device_id = "IMEI:1"; cc.server_id = "srv"; cc.server_uri = "http://dm/"; cc.encoding = enc;
    dm_server_config sc; dm_server_config_init(&sc);
    sc.server_id = "srv"; sc.encoding = enc;
    dm_tree_ops ops; memset(&ops, 0, sizeof ops); ops.get = tree_get;
    dm_session *c = NULL, *s = NULL;
    if (dm_client_new(&cc, &ops, NULL, &c) != DM_OK || dm_server_new(&sc, &s) != DM_OK) return 0;
    uint32_t ref = 0; int got = 0;
    const uint8_t *data; size_t len; dm_event e;
    while (dm_session_next_message(c, &data, &len) == DM_OK) {
        if (dm_session_receive(s, data, len, NULL) != DM_OK) break;
        while (dm_session_next_event(s, &e) == DM_OK) {
            if (e.kind == DM_EVENT_PACKAGE_END && !ref) dm_server_get(s, "./DevInfo/Mod", &ref);
            if (e.kind == DM_EVENT_RESULTS && e.reference == ref && e.len == 2 && !memcmp(e.data, "X1", 2)) got = 1;
        }
        if (dm_session_next_message(s, &data, &len) != DM_OK || dm_session_receive(c, data, len, NULL) != DM_OK) break;
        while (dm_session_next_event(c, &e) == DM_OK) {}
    }
    int ok = got && dm_session_state(c) == DM_STATE_ENDED && dm_session_state(s) == DM_STATE_ENDED;
    dm_session_free(c); dm_session_free(s);
    return ok;
}

static void *worker(void *arg) {
    long id = (long)arg;
    long ok = 0;
    for (int i = 0; i < SESSIONS; i++) {
        ok += session(i % 2 ? DM_ENCODING_WBXML : DM_ENCODING_XML);
        /* An error of this thread's own: its message names this thread's bytes. */
        char junk[32]; snprintf(junk, sizeof junk, "<not-%ld/>", id);
        uint8_t *out; size_t out_len;
        if (dm_xml_to_wbxml((const uint8_t *)junk, strlen(junk), &out, &out_len) != DM_ERR_DECODE) continue;
        char mine[16]; snprintf(mine, sizeof mine, "not-%ld", id);
        const char *said = dm_last_error(NULL);
        if (said && strstr(said, mine)) ok += 1000;
    }
    return (void *)ok;
}

int main(void) {
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    int failed = 0;
    for (int i = 0; i < THREADS; i++) {
        void *ok; pthread_join(t[i], &ok);
        if ((long)ok != SESSIONS * 1001) { failed++; fprintf(stderr, "thread %d: %ld of %d sessions and errors right\n", i, (long)ok, SESSIONS * 1001); }
    }
    printf("%d threads of %d sessions: %s\n", THREADS, SESSIONS, failed ? "FAILED" : "all ended, each error its own");
    return failed ? 1 : 0;
}
