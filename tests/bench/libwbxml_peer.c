/* The peer side of `make bench`: libwbxml's converters (Debian's libwbxml2), in process, on the
 * same messages our criterion benches convert (written by `cargo run --example bench_inputs`),
 * each round followed by a round of libomadm's converter (the C ABI) on the same bytes, so that a
 * slow spell of the machine falls on both sides of a ratio.
 * Usage: libwbxml_peer DIR NAME...; for each NAME, DIR/NAME.wbxml to XML and DIR/NAME.xml to WBXML.
 * Prints one JSON object per line: {"op": "wbxml2xml"|"xml2wbxml", "name": NAME, "bytes": B,
 * "ns": T, "min_ns", "max_ns", "omadm_ns": T', "paired": R, "paired_min", "paired_max"} with T
 * (T') the median over rounds of libwbxml's (libomadm's) mean time per conversion and R the
 * median over rounds of the ratio of the two in that round.
 * libwbxml_peer --repeat N OP FILE: OP on FILE N times, untimed (for callgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wbxml/wbxml.h>

#include "omadm.h"

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len + 1);
    if (fread(b, 1, *len, f) != *len) { fclose(f); free(b); return NULL; }
    b[*len] = 0;
    fclose(f);
    return b;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One conversion; returns 0 on success. */
static int wbxml2xml(unsigned char *in, size_t len) {
    WBXMLConvWBXML2XML *conv = NULL;
    WB_UTINY *xml = NULL;
    WB_ULONG xml_len = 0;
    if (wbxml_conv_wbxml2xml_create(&conv) != WBXML_OK) return 1;
    wbxml_conv_wbxml2xml_set_gen_type(conv, WBXML_GEN_XML_COMPACT);
    WBXMLError e = wbxml_conv_wbxml2xml_run(conv, in, (WB_ULONG)len, &xml, &xml_len);
    wbxml_conv_wbxml2xml_destroy(conv);
    free(xml);
    return e != WBXML_OK;
}

static int xml2wbxml(unsigned char *in, size_t len) {
    WBXMLConvXML2WBXML *conv = NULL;
    WB_UTINY *wbxml = NULL;
    WB_ULONG wbxml_len = 0;
    if (wbxml_conv_xml2wbxml_create(&conv) != WBXML_OK) return 1;
    wbxml_conv_xml2wbxml_set_version(conv, WBXML_VERSION_12);
    WBXMLError e = wbxml_conv_xml2wbxml_run(conv, in, (WB_ULONG)len, &wbxml, &wbxml_len);
    wbxml_conv_xml2wbxml_destroy(conv);
    free(wbxml);
    return e != WBXML_OK;
}

typedef dm_result (*omadm_conv)(const uint8_t *, size_t, uint8_t **, size_t *);

static int omadm(omadm_conv conv, unsigned char *in, size_t len) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    dm_result r = conv(in, len, &out, &out_len);
    dm_buffer_free(out, out_len);
    return r != DM_OK;
}

static int omadm_wbxml2xml(unsigned char *in, size_t len) { return omadm(dm_wbxml_to_xml, in, len); }
static int omadm_xml2wbxml(unsigned char *in, size_t len) { return omadm(dm_xml_to_wbxml, in, len); }

/* How many conversions take at least 50 ms. */
static long calibrate(int (*f)(unsigned char *, size_t), unsigned char *in, size_t len) {
    long iters = 1;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) f(in, len);
        if (now_ns() - t0 > 5e7) return iters;
        iters *= 2;
    }
}

static double round_ns(int (*f)(unsigned char *, size_t), unsigned char *in, size_t len, long iters) {
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) f(in, len);
    return (now_ns() - t0) / iters;
}

static void measure(const char *op, int (*theirs)(unsigned char *, size_t), int (*ours)(unsigned char *, size_t),
                    const char *dir, const char *name, const char *ext) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    size_t len;
    unsigned char *in = slurp(path, &len);
    if (!in || theirs(in, len) || ours(in, len)) {
        fprintf(stderr, "libwbxml_peer: %s failed on %s\n", op, path);
        exit(1);
    }
    enum { ROUNDS = 15 };
    double t[ROUNDS], o[ROUNDS], ratio[ROUNDS];
    long t_iters = calibrate(theirs, in, len), o_iters = calibrate(ours, in, len);
    for (int r = 0; r < ROUNDS; r++) {
        t[r] = round_ns(theirs, in, len, t_iters);
        o[r] = round_ns(ours, in, len, o_iters);
        ratio[r] = t[r] / o[r];
    }
    qsort(t, ROUNDS, sizeof t[0], cmp);
    qsort(o, ROUNDS, sizeof o[0], cmp);
    qsort(ratio, ROUNDS, sizeof ratio[0], cmp);
    printf("{\"op\": \"%s\", \"name\": \"%s\", \"bytes\": %zu, \"ns\": %.1f, \"min_ns\": %.1f, \"max_ns\": %.1f, "
           "\"omadm_ns\": %.1f, \"paired\": %.2f, \"paired_min\": %.2f, \"paired_max\": %.2f}\n",
           op, name, len, t[ROUNDS / 2], t[0], t[ROUNDS - 1], o[ROUNDS / 2], ratio[ROUNDS / 2], ratio[0],
           ratio[ROUNDS - 1]);
    free(in);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--repeat") == 0) {
        int (*f)(unsigned char *, size_t) = strcmp(argv[3], "wbxml2xml") == 0 ? wbxml2xml : xml2wbxml;
        size_t len;
        unsigned char *in = slurp(argv[4], &len);
        if (!in) return 1;
        for (long i = atol(argv[2]); i > 0; i--)
            if (f(in, len)) return 1;
        free(in);
        return 0;
    }
    if (argc < 3) { fprintf(stderr, "usage: libwbxml_peer DIR NAME... | --repeat N OP FILE\n"); return 2; }
    for (int i = 2; i < argc; i++) {
        measure("wbxml2xml", wbxml2xml, omadm_wbxml2xml, argv[1], argv[i], "wbxml");
        measure("xml2wbxml", xml2wbxml, omadm_xml2wbxml, argv[1], argv[i], "xml");
    }
    return 0;
}
