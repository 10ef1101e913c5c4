// SPDX-License-Identifier: MIT
#include "accel/accel.h"

#include <string.h>

/* Accelerators cvisor knows, by the name --accel takes. */
static const struct accel_ops *const accels[] = {
	&kvm_accel_ops,
	&emu_accel_ops,
};

const struct accel_ops *accel_find(const char *name)
{
	for (size_t i = 0; i < sizeof(accels) / sizeof(accels[0]); i++)
		if (!strcmp(accels[i]->name, name))
			return accels[i];
	return NULL;
}
