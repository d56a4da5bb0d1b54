/*
 * floor: the least a tool has to ask libvirt for to define, undefine or read
 * a set of domains. The apply and fleet benchmarks compare vmplan with it.
 *
 * Build: cc -O2 -o floor floor.c $(pkg-config --cflags --libs libvirt)
 *
 *   floor dump URI PREFIX DIR    write the inactive XML of every domain whose
 *                                name starts with PREFIX to DIR/NAME.xml
 *                                (untimed set-up for the define loop)
 *   floor define URI FILE...     virDomainDefineXML of each file, in order
 *   floor undefine URI NAME...   virDomainLookupByName + virDomainUndefine
 *                                of each, in order
 *   floor read URI...            per URI: one virConnectListAllDomains and
 *                                one inactive virDomainGetXMLDesc per domain
 *
 * Each mode opens one connection per URI, works through its arguments one
 * after another (no threads: this is the sequential floor), prints a count
 * and exits non-zero on the first failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static void fail(const char *what, const char *subject)
{
    virErrorPtr err = virGetLastError();
    fprintf(stderr, "floor: %s(%s) failed: %s\n", what, subject ? subject : "",
            err && err->message ? err->message : "unknown error");
    exit(1);
}

static virConnectPtr open_uri(const char *uri)
{
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn)
        fail("virConnectOpen", uri);
    return conn;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size;
    if (!f) {
        fprintf(stderr, "floor: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "floor: cannot read %s\n", path);
        exit(1);
    }
    text[size] = '\0';
    fclose(f);
    return text;
}

static int dump(const char *uri, const char *prefix, const char *dir)
{
    virConnectPtr conn = open_uri(uri);
    virDomainPtr *domains = NULL;
    int n = virConnectListAllDomains(conn, &domains, 0), written = 0;
    if (n < 0)
        fail("virConnectListAllDomains", uri);
    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(domains[i]);
        if (strncmp(name, prefix, strlen(prefix)) == 0) {
            char path[4096];
            char *xml = virDomainGetXMLDesc(domains[i], VIR_DOMAIN_XML_INACTIVE);
            FILE *f;
            if (!xml)
                fail("virDomainGetXMLDesc", name);
            snprintf(path, sizeof path, "%s/%s.xml", dir, name);
            f = fopen(path, "w");
            if (!f || fputs(xml, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "floor: cannot write %s\n", path);
                exit(1);
            }
            free(xml);
            written++;
        }
        virDomainFree(domains[i]);
    }
    free(domains);
    virConnectClose(conn);
    printf("%d domains dumped\n", written);
    return 0;
}

static int define(const char *uri, int count, char **files)
{
    virConnectPtr conn = open_uri(uri);
    for (int i = 0; i < count; i++) {
        char *xml = read_file(files[i]);
        virDomainPtr domain = virDomainDefineXML(conn, xml);
        if (!domain)
            fail("virDomainDefineXML", files[i]);
        virDomainFree(domain);
        free(xml);
    }
    virConnectClose(conn);
    printf("%d domains defined\n", count);
    return 0;
}

static int undefine(const char *uri, int count, char **names)
{
    virConnectPtr conn = open_uri(uri);
    for (int i = 0; i < count; i++) {
        virDomainPtr domain = virDomainLookupByName(conn, names[i]);
        if (!domain)
            fail("virDomainLookupByName", names[i]);
        if (virDomainUndefine(domain) < 0)
            fail("virDomainUndefine", names[i]);
        virDomainFree(domain);
    }
    virConnectClose(conn);
    printf("%d domains undefined\n", count);
    return 0;
}

static int read_all(int count, char **uris)
{
    int total = 0;
    size_t bytes = 0;
    for (int u = 0; u < count; u++) {
        virConnectPtr conn = open_uri(uris[u]);
        virDomainPtr *domains = NULL;
        int n = virConnectListAllDomains(conn, &domains, 0);
        if (n < 0)
            fail("virConnectListAllDomains", uris[u]);
        for (int i = 0; i < n; i++) {
            char *xml = virDomainGetXMLDesc(domains[i], VIR_DOMAIN_XML_INACTIVE);
            if (!xml)
                fail("virDomainGetXMLDesc", virDomainGetName(domains[i]));
            bytes += strlen(xml);
            free(xml);
            virDomainFree(domains[i]);
        }
        free(domains);
        virConnectClose(conn);
        total += n;
    }
    printf("%d domains, %zu bytes of inactive XML\n", total, bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "dump") == 0)
        return dump(argv[2], argv[3], argv[4]);
    if (argc >= 3 && strcmp(argv[1], "define") == 0)
        return define(argv[2], argc - 3, argv + 3);
    if (argc >= 3 && strcmp(argv[1], "undefine") == 0)
        return undefine(argv[2], argc - 3, argv + 3);
    if (argc >= 3 && strcmp(argv[1], "read") == 0)
        return read_all(argc - 2, argv + 2);
    fprintf(stderr, "usage: floor dump URI PREFIX DIR | define URI FILE... | undefine URI NAME... | read URI...\n");
    return 2;
}
