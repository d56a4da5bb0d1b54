/*
 * reader: the least work a "plan" has to do against libvirt — list every
 * domain once and fetch each one's inactive (persistent) XML. plan-noop
 * compares `vmplan plan` against this floor.
 *
 * Build: cc -O2 -o reader reader.c $(pkg-config --cflags --libs libvirt)
 * Usage: reader [URI]        (default qemu:///system); prints the count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static void fail(const char *what)
{
    virErrorPtr err = virGetLastError();
    fprintf(stderr, "reader: %s failed: %s\n", what,
            err && err->message ? err->message : "unknown error");
    exit(1);
}

int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : "qemu:///system";
    virConnectPtr conn;
    virDomainPtr *domains = NULL;
    size_t xml_bytes = 0;
    int n, i, rc = 0;

    conn = virConnectOpen(uri);
    if (!conn)
        fail("virConnectOpen");

    n = virConnectListAllDomains(conn, &domains, 0);
    if (n < 0)
        fail("virConnectListAllDomains");

    for (i = 0; i < n; i++) {
        char *xml = virDomainGetXMLDesc(domains[i], VIR_DOMAIN_XML_INACTIVE);
        if (!xml) {
            virErrorPtr err = virGetLastError();
            fprintf(stderr, "reader: virDomainGetXMLDesc(%s) failed: %s\n",
                    virDomainGetName(domains[i]),
                    err && err->message ? err->message : "unknown error");
            rc = 1;
        } else {
            xml_bytes += strlen(xml);
            free(xml);
        }
        virDomainFree(domains[i]);
    }
    free(domains);

    if (virConnectClose(conn) < 0)
        fail("virConnectClose");

    printf("%d domains, %zu bytes of inactive XML\n", n, xml_bytes);
    return rc;
}
