// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what a restore and an incoming migration read
 * (src/vmm/snapshot_load.c, migrate_recv.c) into a small VM: the emu
 * accelerator with one vCPU, 1 MiB of RAM, a UART, an RTC and the PCI host. Byte 0 of
 * the input says what the rest is:
 *
 *   0  a snapshot's state file: the "vm" section, the accelerator's, the
 *      vCPU's and each device's, in order (snapshot_load_stream)
 *   1  a migration stream: config, ram-info, ram sections of zero, raw
 *      and zstd pages up to ram-end, then the state as above
 *   2  a snapshot's memory file: byte 1 picks its size (the VM's, or the
 *      next 4 bytes) and how it is read (mapped, or read page by page as
 *      --restore-prefault does), the rest is its data at the offset in
 *      the 4 bytes after
 *
 * A hostile stream must end in one error line: never a crash, a hang, or
 * a write outside guest RAM or a buffer. Fuzzing builds skip the checksums. With
 * CVISOR_FUZZ_SEEDS=DIR set, the first run writes a state file and a
 * migration stream of this VM into DIR. Build with 'make fuzz'; run e.g.
 *
 *   build-fuzz/fuzz/snapshot_fuzz -max_len=65536
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "accel/accel.h"
#include "devices/legacy.h"
#include "devices/uart.h"
#include "vmm/migration.h"
#include "vmm/migration_int.h"
#include "vmm/snapshot.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "../unit/fake_vm.h"

#define RAM_SIZE	(1 << 20)

static struct vm vm;
static struct vm_config cfg;
static char dir[] = "/tmp/cvisor-snapshot-fuzz-XXXXXX";
static char memory_path[sizeof(dir) + 16];

static void drop_output(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
}

static void setup(void)
{
	struct uart *u;

	if (!mkdtemp(dir))
		abort();
	snprintf(memory_path, sizeof(memory_path), "%s/%s", dir,
		 SNAPSHOT_MEMORY);
	cfg.restore_dir = dir;
	vm.cfg = &cfg;
	vm.nr_vcpus = 1;
	if (guest_mem_init(&vm.mem, RAM_SIZE, NULL) ||
	    bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio"))
		abort();
	vm.accel = &emu_accel_ops;
	vm.vcpus[0].vm = &vm;
	if (vm.accel->vm_init(&vm) || vm.accel->vcpu_init(&vm.vcpus[0]))
		abort();
	u = uart_create(fake_env(&vm), "uart0", PORT_COM1, IRQ_COM1,
			drop_output, NULL);
	if (!u)
		abort();
	fake_devs[fake_nr_devs++] = uart_device(u);
	if (fake_added(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC,
				  &fake_new_dev)) || fake_pci_init(&vm))
		abort();
	for (int i = 0; i < fake_nr_devs; i++)
		vm.devices[vm.nr_devices++] = fake_devs[i];
}

static void cleanup(void)
{
	unlink(memory_path);
	rmdir(dir);
}

static FILE *seed_file(const char *seed_dir, const char *name, int kind)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	f = fopen(path, "w");
	if (!f || fputc(kind, f) == EOF)
		abort();
	return f;
}

/* Pages 0-2 of RAM in a ram section: a zero, a raw and a zstd page. */
static void seed_ram(struct state_writer *w)
{
	static uint8_t page[MIG_PAGE], z[MIG_PAGE * 2];
	size_t zlen;

	memset(page, 0x5a, sizeof(page));
	zlen = ZSTD_compress(z, sizeof(z), page, sizeof(page), 1);
	if (ZSTD_isError(zlen))
		abort();
	state_section_begin(w, 1, "ram");
	state_put_u64(w, 0);
	state_put_u32(w, 3);
	state_put_u8(w, MIG_PAGE_ZERO);
	state_put_u8(w, MIG_PAGE_RAW);
	state_put(w, page, sizeof(page));
	state_put_u8(w, MIG_PAGE_ZSTD);
	state_put_u32(w, zlen);
	state_put(w, z, zlen);
	state_section_end(w);
}

/*
 * A "compressed" page longer than any compressed page can be: it was read
 * into a buffer of that bound (a heap overflow before 'compressed page
 * too long' was checked against the buffer).
 */
static void seed_ram_long_zstd(struct state_writer *w)
{
	static uint8_t junk[4 * MIG_PAGE];

	state_section_begin(w, 1, "ram");
	state_put_u64(w, 0);
	state_put_u32(w, 1);
	state_put_u8(w, MIG_PAGE_ZSTD);
	state_put_u32(w, sizeof(junk));
	state_put(w, junk, sizeof(junk));
	state_section_end(w);
}

/* A migration stream of this VM whose RAM ram() writes. */
static void seed_migration(const char *seed_dir, const char *name,
			   void (*ram)(struct state_writer *w))
{
	static const char config[] = "{\"version\": 1}";
	FILE *f = seed_file(seed_dir, name, 1);
	struct state_writer *w = state_writer_create(f);

	if (!w)
		abort();
	state_section_begin(w, 1, "config");
	state_put(w, config, sizeof(config) - 1);
	state_section_end(w);
	state_section_begin(w, 1, "ram-info");
	state_put_u64(w, guest_mem_pages(&vm.mem));
	state_section_end(w);
	ram(w);
	state_section_begin(w, 1, "ram-end");
	state_section_end(w);
	if (snapshot_write_state(&vm, w) || state_writer_finish(w))
		abort();
	state_writer_destroy(w);
	fclose(f);
}

static void write_seeds(const char *seed_dir)
{
	FILE *f = seed_file(seed_dir, "state", 0);
	struct state_writer *w = state_writer_create(f);

	if (!w || snapshot_write_state(&vm, w) || state_writer_finish(w))
		abort();
	state_writer_destroy(w);
	fclose(f);
	seed_migration(seed_dir, "migration", seed_ram);
	seed_migration(seed_dir, "migration-long-zstd", seed_ram_long_zstd);
}

static void load_state(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct state_reader *r;
	char err[256];

	if (!f)
		return;
	r = state_reader_create(f, err, sizeof(err));
	if (r)
		snapshot_load_stream(&vm, r);
	state_reader_destroy(r);
	fclose(f);
}

static void migrate_in(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct migration_in *in;
	const char *config;
	size_t len;
	char err[256];

	if (!f)
		return;
	in = migration_in_open(f, &config, &len, err, sizeof(err));
	if (in && !migration_recv_ram(&vm, in, err, sizeof(err)))
		migration_recv_state(&vm, in, err, sizeof(err));
	migration_in_close(in);
}

/* A memory file as the input says, restored as the flags say. */
static void map_memory(const uint8_t *data, size_t size)
{
	uint32_t file_size = vm.mem.mapping_size, off = 0;
	char err[256];
	uint8_t how;
	int fd;

	if (size < 9)
		return;
	how = data[0];
	if (how & 1)
		memcpy(&file_size, data + 1, 4);
	memcpy(&off, data + 5, 4);
	data += 9;
	size -= 9;
	/*
	 * A new file each time: RAM may still be a private mapping of the
	 * last one, which a truncation would turn into SIGBUS.
	 */
	unlink(memory_path);
	fd = open(memory_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	/* a file of holes around the data, as a sparse snapshot has */
	if (ftruncate(fd, file_size % (2 * vm.mem.mapping_size)) ||
	    pwrite(fd, data, size, off % (2 * vm.mem.mapping_size)) < 0)
		abort();
	close(fd);
	cfg.restore_prefault = how & 2;
	snapshot_map_memory(&vm, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm.accel) {
		const char *seed = getenv("CVISOR_FUZZ_SEEDS");

		setup();
		atexit(cleanup);
		if (seed)
			write_seeds(seed);
	}
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		load_state(data + 1, size - 1);
		break;
	case 1:
		migrate_in(data + 1, size - 1);
		break;
	default:
		map_memory(data + 1, size - 1);
		break;
	}
	return 0;
}
