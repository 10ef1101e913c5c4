// SPDX-License-Identifier: MIT
/* cvisor img snapshot: list, create, apply and delete internal snapshots. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "block/qcow2.h"
#include "cli/img.h"

static void list(struct block_dev *dev)
{
	struct qcow2_snapshot_info *l;
	unsigned n;

	/* like qemu-img: no table at all when there is nothing to list */
	if (!qcow2_is(dev) || qcow2_snapshot_list(dev, &l, &n))
		return;
	if (n)
		img_print_snapshots(l, n);
	qcow2_snapshot_list_free(l, n);
}

int img_snapshot(int argc, char **argv)
{
	const char *name = NULL, *fmt = NULL;
	struct block_dev *dev;
	int opt, action = 0, ret = 0;

	while ((opt = getopt(argc, argv, "lc:a:d:f:qU")) != -1) {
		switch (opt) {
		case 'l':
		case 'c':
		case 'a':
		case 'd':
			if (action) {
				img_err("snapshot: give only one of -l, -c, -a, -d");
				return 1;
			}
			action = opt;
			name = optarg;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 'q':
		case 'U':
			break;
		default:
			return 1;
		}
	}
	if (!action)
		action = 'l'; /* qemu-img lists when no action is given */
	if (optind != argc - 1) {
		img_err("usage: snapshot [-l | -c|-a|-d NAME] FILE");
		return 1;
	}
	dev = img_open(argv[optind], fmt, BLOCK_NO_BACKING |
			(action == 'l' ? BLOCK_RDONLY : 0));
	if (!dev)
		return 1;
	if (!qcow2_is(dev) && action != 'l') {
		img_err("'%s' is not qcow2: snapshots need qcow2", argv[optind]);
		block_close(dev);
		return 1;
	}
	switch (action) {
	case 'l':
		list(dev);
		break;
	case 'c':
		ret = qcow2_snapshot_create(dev, name);
		break;
	case 'a':
		ret = qcow2_snapshot_apply(dev, name);
		break;
	case 'd':
		ret = qcow2_snapshot_delete(dev, name);
		break;
	}
	if (ret)
		img_err("snapshot '%s' of '%s': %s", name, argv[optind],
			ret == -ENOENT ? "no such snapshot" :
			ret == -EEXIST ? "a snapshot of that name exists" :
					 strerror(-ret));
	if (ret || action == 'l')
		block_close(dev);
	else if (img_close(dev))
		ret = -1;
	return ret ? 1 : 0;
}
