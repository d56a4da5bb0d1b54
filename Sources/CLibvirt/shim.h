#ifndef VMPLAN_CLIBVIRT_SHIM_H
#define VMPLAN_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
