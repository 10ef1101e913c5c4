// SPDX-License-Identifier: MIT
/* cvisor img resize */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "block/qcow2.h"
#include "cli/cli.h"
#include "cli/img.h"

int img_resize(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "shrink", no_argument, 0, 's' },
		{ 0, 0, 0, 0 },
	};
	const char *fmt = NULL, *arg;
	unsigned long long delta, size;
	bool shrink = false;
	struct block_dev *dev;
	int opt, ret, sign = 0;

	while ((opt = getopt_long(argc, argv, "+f:q", lopts, NULL)) != -1) {
		if (opt == 'f')
			fmt = optarg;
		else if (opt == 's')
			shrink = true;
		else if (opt != 'q')
			return 1;
	}
	/* "+" in the option string: "-1G" after FILE is the size, not options */
	if (argc - optind != 2) {
		img_err("usage: resize [-f fmt] [--shrink] FILE [+|-]SIZE");
		return 1;
	}
	arg = argv[optind + 1];
	if (*arg == '+' || *arg == '-')
		sign = *arg++ == '+' ? 1 : -1;
	if (parse_size(arg, &delta)) {
		img_err("invalid size '%s'", argv[optind + 1]);
		return 1;
	}
	/* the backing file's length tells what a grown overlay must zero */
	dev = img_open(argv[optind], fmt, 0);
	if (!dev)
		return 1;
	if (qcow2_is(dev)) {
		struct qcow2_info qi;

		qcow2_get_info(dev, &qi);
		if (qi.version < 3 && qi.nb_snapshots) {
			img_err("can't resize a v2 image which has snapshots "
				"('%s')", argv[optind]);
			ret = -ENOTSUP;
			goto out;
		}
	}
	size = sign > 0 ? dev->length + delta :
	       sign < 0 ? dev->length - delta : delta;
	if (sign < 0 && delta > dev->length) {
		img_err("cannot shrink '%s' below zero", argv[optind]);
		ret = -EINVAL;
		goto out;
	}
	if (size < dev->length && !shrink) {
		img_err("use the --shrink option to shrink '%s'", argv[optind]);
		ret = -EINVAL;
		goto out;
	}
	size = (size + 511) & ~511ull; /* whole sectors, like qemu-img */
	ret = block_truncate(dev, size);
	if (ret) {
		img_err("resizing '%s' to %llu: %s", argv[optind], size,
			strerror(-ret));
		goto out;
	}
	if (img_close(dev))
		return 1;
	printf("Image resized.\n");
	return 0;
out:
	block_close(dev);
	return 1;
}
