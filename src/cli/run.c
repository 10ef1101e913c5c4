// SPDX-License-Identifier: MIT
/* cvisor run: parse the command line into a vm_config and run the VM. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "block/iscsi_lib.h"
#include "block/iscsi_url.h"
#include "block/sector_cipher.h"
#include "cli/cli.h"
#include "cli/run_mgmt.h"
#include "cli/config.h"
#include "cli/run_keys.h"
#include "cli/run_opts.h"
#include "cli/vm_options.h"
#include "net/net.h"
#include "net/slirp_lib.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/migration.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

static const char run_usage[] =
"usage: cvisor run --kernel FILE [options]\n"
"       cvisor run --config FILE.json [options]\n"
"       cvisor run --restore DIR[,prefault=on] [--force] [--paused] [--name NAME]\n"
"       cvisor run --incoming tcp:[ADDR]:PORT [--name NAME] [--daemonize]\n"
"\n"
"  --kernel FILE        bzImage, or ELF vmlinux (64-bit entry)\n"
"  --initrd FILE        initial ramdisk\n"
"  --cmdline STRING     kernel command line (default \"console=ttyS0\")\n"
"  --memory SIZE[,merge=on][,hugepages=on][,hugetlb=DIR]\n"
"                       guest RAM, e.g. 512M or 2G (default 512M); KSM,\n"
"                       transparent huge pages, or a hugetlbfs mount\n"
"  --cpus N[,sockets=S][,cores=C][,threads=T][,affinity=LIST|V:LIST,...]\n"
"                       virtual CPUs, 1..64 (default 1), their topology;\n"
"                       pin vCPU threads\n"
"  --numa node=N,cpus=LIST,mem=SIZE[,host-node=LIST][,policy=bind|preferred|interleave]\n"
"  --numa distance=A:B=D\n"
"                       a guest NUMA node, its host binding; node distances\n"
"                       (docs/cpu-memory.md)\n"
"  --accel NAME         kvm (default), emu, or kvm:emu (KVM, else emu)\n"
"  --disk path=FILE[,readonly=on][,cache=none|writeback][,serial=ID][,format=FMT]\n"
"                       FMT: raw, qcow2, vmdk, vdi, vpc or vhdx (probed if left out)\n"
"  --net SPEC           network interface (user, tap, bridge)\n"
"  --name NAME          VM name for the control socket (default vm-PID)\n"
"  --virtio-console pty|file=PATH\n"
"                       a virtio-console (guest /dev/hvc0) on a new pty,\n"
"                       whose path is printed, or written to a file\n"
"  --vnc [ADDR]:N[,password-file=F][,websocket=P]\n"
"                       a display, keyboard and tablet, shown by a VNC\n"
"                       server on port 5900+N (127.0.0.1 unless ADDR)\n"
"  --balloon[=free-page-reporting=off]\n"
"                       add a virtio-balloon device (cvisor balloon)\n"
"  --daemonize          run in the background; 'cvisor console NAME' attaches\n"
"  --no-reboot          exit when the guest reboots\n"
"  --no-seccomp         run without the VMM's seccomp filter (debugging)\n"
"  --debug              verbose VMM logging\n"
"  --config FILE        the VM's options from a definition (docs/config.md);\n"
"                       flags given too apply after it\n"
"  --restore DIR[,prefault=on]\n"
"                       go on from a snapshot (cvisor snapshot); memory is\n"
"                       mapped from it unless prefault=on reads it first\n"
"  --force              restore although a disk changed since the snapshot\n"
"  --paused             start with the vCPUs paused ('cvisor resume')\n"
"  --incoming tcp:[ADDR]:PORT\n"
"                       wait for a live migration (cvisor migrate) and run\n"
"                       the VM it brings\n"
"\n"
"Console: the guest's serial port is this terminal. Ctrl-A x quits,\n"
"Ctrl-A h prints help. Exit status 0 when the guest powers off.\n";

/* Options of this run only; the VM's own are in src/cli/vm_options.c. */
enum {
	OPT_HELP = 256, OPT_DAEMONIZE, OPT_RESTORE, OPT_FORCE, OPT_PAUSED,
	OPT_CONFIG, OPT_INCOMING,
};

/* --restore and its companions: options of this run, not of the VM. */
struct run_restore {
	const char *dir;
	bool prefault, force, paused;
	const char *incoming;	/* --incoming tcp:ADDR:PORT */
};

static const struct option run_only_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "daemonize", no_argument, NULL, OPT_DAEMONIZE },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "paused", no_argument, NULL, OPT_PAUSED },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ 0 },
};

static int run_parse_restore(char *arg, struct run_restore *rr)
{
	char *comma = strchr(arg, ',');

	if (comma) {
		*comma = 0;
		if (strcmp(comma + 1, "prefault=on") &&
		    strcmp(comma + 1, "prefault=off")) {
			log_error("--restore: unknown option '%s'", comma + 1);
			return -EINVAL;
		}
		rr->prefault = !strcmp(comma + 1, "prefault=on");
	}
	rr->dir = arg;
	return 0;
}

/*
 * --config FILE (or --config=FILE): found before the flags are parsed,
 * so the file's options come first and the command line's after them,
 * whatever the order they were written in.
 */
static const char *run_config_file(int argc, char **argv)
{
	const char *file = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
	}
	return file;
}

static int run_parse(int argc, char **argv, struct vm_config *cfg,
		     struct run_mgmt *mgmt, struct run_restore *rr,
		     struct config_args *ca)
{
	struct option opts[64];
	const char *config = run_config_file(argc, argv);
	int opt, ret = 0;

	if (config && config_load(config, cfg, ca))
		return -EINVAL;
	vm_options_getopt(opts, 64, run_only_options);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt >= VM_OPT_BASE && opt < VM_OPT_BASE + vm_nr_options) {
			ret = vm_options[opt - VM_OPT_BASE].parse(optarg, cfg);
			if (ret)
				return ret;
			continue;
		}
		switch (opt) {
		case OPT_DAEMONIZE:
			mgmt->daemonize = true;
			break;
		case OPT_RESTORE:
			ret = run_parse_restore(optarg, rr);
			break;
		case OPT_FORCE:
			rr->force = true;
			break;
		case OPT_INCOMING:
			rr->incoming = optarg;
			break;
		case OPT_PAUSED:
			rr->paused = true;
			break;
		case OPT_CONFIG:
			break;
		case OPT_HELP:
			fputs(run_usage, stdout);
			exit(0);
		case ':':
			log_error("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			log_error("unknown option '%s' (see 'cvisor run --help')",
				  argv[optind - 1]);
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see 'cvisor run --help')",
			  argv[optind]);
		return -EINVAL;
	}
	if (!cfg->kernel && !rr->dir && !rr->incoming) {
		log_error("--kernel is required (see 'cvisor run --help')");
		return -EINVAL;
	}
	return run_check_config(cfg);
}

struct run_signals {
	int fd;
	struct vm *vm;
};

static void run_signal(void *opaque, uint32_t events)
{
	struct run_signals *rs = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(rs->fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm_request_exit(rs->vm, VM_EXIT_SIGNAL, "stopped by %s",
			strsignal(si.ssi_signo));
}

static int run_status(struct vm *vm, enum vm_exit_reason reason)
{
	switch (reason) {
	case VM_EXIT_POWEROFF:
	case VM_EXIT_QUIT:
	case VM_EXIT_SIGNAL:
		log_debug("%s", vm->exit_msg);
		return 0;
	case VM_EXIT_RESET:
		return 0;
	case VM_EXIT_PANIC:
	case VM_EXIT_TRIPLE_FAULT:
	case VM_EXIT_ERROR:
	case VM_EXIT_NONE:
		break;
	}
	log_error("%s", vm->exit_msg[0] ? vm->exit_msg : "VM failed");
	return 1;
}

static void run_free_args(char **args, int n)
{
	for (int i = 0; args && i < n; i++)
		free(args[i]);
	free(args);
}

static char **run_copy_args(int argc, char **argv)
{
	char **out = calloc(argc + 1, sizeof(char *));

	for (int i = 0; out && i < argc; i++) {
		out[i] = strdup(argv[i]);
		if (!out[i]) {
			run_free_args(out, i);
			return NULL;
		}
	}
	return out;
}

/*
 * What a snapshot records as this VM's options: copies of the arguments
 * (parsing cuts some of them up) less those of this run only (--restore
 * and its companions, --daemonize), with the flags of a --config file in
 * place of --config. The first argument is skipped.
 */
static char **run_vm_args(const struct config_args *ca, int argc,
			  char **argv, int *nr)
{
	char **out = calloc(ca->argc + argc + 1, sizeof(char *));
	int n = 0;

	if (!out)
		return NULL;
	for (int i = 0; i < ca->argc + argc; i++) {
		const char *a = i < ca->argc ? ca->argv[i] : argv[i - ca->argc];

		if (i == ca->argc)
			continue;
		if (i > ca->argc && (!strcmp(a, "--restore") ||
				     !strcmp(a, "--config") ||
				     !strcmp(a, "--incoming"))) {
			i++;
			continue;
		}
		if (i > ca->argc &&
		    (!strncmp(a, "--restore=", 10) || !strcmp(a, "--force") ||
		     !strncmp(a, "--incoming=", 11) ||
		     !strncmp(a, "--config=", 9) || !strcmp(a, "--paused") ||
		     !strcmp(a, "--daemonize")))
			continue;
		out[n] = strdup(a);
		if (!out[n++]) {
			run_free_args(out, n);
			return NULL;
		}
	}
	*nr = n;
	return out;
}

/*
 * For --restore: the snapshot's own arguments, then this command line's
 * VM options (own, copies), so --name here wins. Paths in the snapshot
 * are relative to its working directory, which becomes ours. The result
 * holds copies: a snapshot of the restored VM records them unparsed.
 */
static int run_merge_args(struct snapshot_config *sc, char **own,
			  int nr_own, char ***margv, int *margc)
{
	char **m;
	int n = 0;

	if (chdir(sc->cwd)) {
		log_error("snapshot working directory %s: %s", sc->cwd,
			  strerror(errno));
		return -errno;
	}
	m = calloc(sc->argc + nr_own + 2, sizeof(char *));
	if (!m)
		return -ENOMEM;
	*margv = m;
	m[n++] = strdup("run");
	for (int i = 0; i < sc->argc; i++)
		m[n++] = strdup(sc->argv[i]);
	for (int i = 0; i < nr_own; i++)
		m[n++] = strdup(own[i]);
	*margc = n;
	for (int i = 0; i < n; i++)
		if (!m[i])
			return -ENOMEM;
	return 0;
}

static int run_restore_args(struct run_restore *rr, char **own, int nr_own,
			    struct snapshot_config *sc, char ***margv,
			    int *margc, char **real_dir)
{
	char err[768], *dir;

	dir = realpath(rr->dir, NULL);
	if (!dir) {
		log_error("--restore %s: %s", rr->dir, strerror(errno));
		return -errno;
	}
	*real_dir = dir;
	rr->dir = dir;
	if (snapshot_read_config(dir, rr->force, sc, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	return run_merge_args(sc, own, nr_own, margv, margc);
}

/*
 * For --incoming: wait for the source, whose first section is the VM's
 * configuration (as a snapshot's); the disks are shared, so they only
 * have to exist.
 */
static int run_incoming_args(struct run_restore *rr, char **own, int nr_own,
			     struct snapshot_config *sc, char ***margv,
			     int *margc, struct migration_in **in)
{
	char err[768];
	const char *text;
	size_t len;

	*in = migration_accept(rr->incoming, &text, &len, err, sizeof(err));
	if (!*in) {
		log_error("%s", err);
		return -EINVAL;
	}
	if (snapshot_config_parse(text, len, false, sc, err, sizeof(err))) {
		log_error("%s", err);
		migration_reply(*in, err);
		return -EINVAL;
	}
	return run_merge_args(sc, own, nr_own, margv, margc);
}

/* The parsed command line of a run, and what it owns. */
struct run_args {
	struct vm_config cfg;
	struct run_mgmt mgmt;
	struct run_restore rr;
	struct snapshot_config sc;
	char **margv;		/* with --restore: the merged arguments */
	int margc;
	char *restore_dir;	/* with --restore: its real path */
	struct migration_in *incoming;	/* with --incoming */
	struct config_args ca;	/* with --config: what the file holds */
};

static void run_args_init(struct run_args *ra)
{
	memset(ra, 0, sizeof(*ra));
	vm_config_defaults(&ra->cfg);
	ra->mgmt.ready_fd = -1;
}

static void run_args_free(struct run_args *ra)
{
	run_free_args(ra->cfg.argv, ra->cfg.argc);
	free(ra->restore_dir);
	migration_in_close(ra->incoming);
	run_free_args(ra->margv, ra->margc);
	snapshot_config_free(&ra->sc);
	config_args_free(&ra->ca);
	run_mgmt_destroy(&ra->mgmt);
}

/* Parse argv (and a snapshot's arguments); 0 or an exit status. */
static int run_args_parse(struct run_args *ra, int argc, char **argv)
{
	struct vm_config *cfg = &ra->cfg;
	struct config_args none = { 0 };
	char **own;
	int nr_own, ret;

	/* Copies before parsing, which cuts some arguments up in place. */
	own = run_copy_args(argc, argv);
	if (!own)
		return 1;
	ret = run_parse(argc, argv, cfg, &ra->mgmt, &ra->rr, &ra->ca);
	if (!ret)
		cfg->argv = run_vm_args(&ra->ca, argc, own, &cfg->argc);
	run_free_args(own, argc);
	if (ret)
		return 2;
	if (!cfg->argv)
		return 1;
	if (!ra->rr.dir && !ra->rr.incoming)
		return 0;
	if (ra->rr.dir && ra->rr.incoming) {
		log_error("--restore and --incoming exclude each other");
		return 2;
	}
	own = cfg->argv;
	nr_own = cfg->argc;
	cfg->argv = NULL;
	cfg->argc = 0;
	if (ra->rr.dir)
		ret = run_restore_args(&ra->rr, own, nr_own, &ra->sc,
				       &ra->margv, &ra->margc,
				       &ra->restore_dir);
	else
		ret = run_incoming_args(&ra->rr, own, nr_own, &ra->sc,
					&ra->margv, &ra->margc, &ra->incoming);
	if (ret) {
		run_free_args(own, nr_own);
		return 1;
	}
	run_free_args(own, nr_own);
	vm_config_defaults(cfg);
	cfg->argv = run_vm_args(&none, ra->margc, ra->margv, &cfg->argc);
	if (!cfg->argv)
		return 1;
	if (run_parse(ra->margc, ra->margv, cfg, &ra->mgmt, &ra->rr, &none))
		return 2;
	cfg->restore_dir = ra->restore_dir;
	cfg->restore_prefault = ra->rr.prefault;
	cfg->incoming = ra->incoming;
	return 0;
}

/*
 * libslirp and libiscsi are opened on first use; for a --net user or an
 * iscsi:// disk that is now, since no library can be loaded under the
 * seccomp filter (libvncserver was opened with the --vnc server). A spec
 * that does not parse, or a host without the library, is reported where
 * the NIC or the disk is made.
 */
static void run_preload_libs(const struct vm_config *cfg)
{
	struct net_opts o;
	char err[256];

	for (int i = 0; i < cfg->nr_nets; i++)
		if (!net_parse(cfg->nets[i].spec, &o, err, sizeof(err)) &&
		    o.kind == NET_USER) {
			slirp_lib_get(err, sizeof(err));
			break;
		}
	for (int i = 0; i < cfg->nr_disks; i++)
		if (cfg->disks[i].url || (cfg->disks[i].path &&
					  iscsi_url_is(cfg->disks[i].path))) {
			iscsi_lib_get(err, sizeof(err));
			break;
		}
}

/*
 * Whether a vCPU may run the emu translator (docs/emu-jit.md): only then
 * does the seccomp filter let mprotect make its code cache executable.
 * The accelerator is chosen once; a restore or an incoming migration must
 * match it.
 */
static bool run_translates(const struct vm_config *cfg)
{
	const char *accel = cfg->accel ? cfg->accel : "kvm";

	return cfg->emu_jit != EMU_JIT_OFF &&
	       (!strcmp(accel, "emu") || !strcmp(accel, "kvm:emu"));
}

/* Build and run the VM (again after each guest reboot); exit status. */
static int run_machine(struct run_args *ra)
{
	struct vm_config *cfg = &ra->cfg;
	struct run_mgmt *mgmt = &ra->mgmt;
	struct run_signals rs;
	struct console *con;
	struct vm vm;
	enum vm_exit_reason reason;
	sigset_t sigs;
	char err[256] = "";
	int sfd, status;

	/* Termination signals arrive through a signalfd in the event loop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* Threads started from here on inherit the blocked signals. */
	switch (run_mgmt_setup(mgmt, cfg)) {
	case 1:
		return mgmt->parent_status;
	case -1:
		return 1;
	}
	sigdelset(&sigs, SIGUSR1);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	con = console_create(STDIN_FILENO, STDOUT_FILENO);
	if (sfd < 0 || !con) {
		log_error("cannot set up the console: %s", strerror(errno));
		return 1;
	}
	cfg->console_out = console_output;
	cfg->console_opaque = con;
	run_mgmt_console(mgmt, cfg);
	if (run_disk_keys(cfg, mgmt->ctl)) {
		run_disk_keys_free(cfg);
		console_destroy(con);
		close(sfd);
		return 1;
	}
	run_preload_libs(cfg);
	if (run_disk_keys_held(cfg))
		sector_cipher_preload();
	if (!cfg->no_seccomp &&
	    sandbox_install(run_translates(cfg), err, sizeof(err))) {
		log_error("%s (--no-seccomp runs without it)", err);
		run_disk_keys_free(cfg);
		return 1;
	}
	for (;;) {
		if (vm_create(&vm, cfg)) {
			status = 1;
			vm_destroy(&vm);
			break;
		}
		rs = (struct run_signals){ sfd, &vm };
		if (event_loop_add(vm.loop, sfd, EPOLLIN, run_signal, &rs) ||
		    console_attach(con, &vm)) {
			log_error("cannot watch the console or signals");
			status = 1;
			vm_destroy(&vm);
			break;
		}
		/* A restore comes back once; a reboot after it boots afresh. */
		if (ra->rr.paused && cfg->restore_dir)
			vm.pause_req = true;
		cfg->restore_dir = NULL;
		cfg->incoming = NULL;
		run_mgmt_booted(mgmt, &vm);
		/*
		 * What start-up freed goes back to the kernel: 256 KiB of
		 * the heap's pages under a Debian boot with --accel emu
		 * (bench/emu.sh's vmm row counts them)
		 */
		malloc_trim(0);
		reason = vm_run(&vm);
		run_mgmt_ended(mgmt, &vm, reason);
		status = run_status(&vm, reason);
		vm_destroy(&vm);
		if (reason != VM_EXIT_RESET || cfg->no_reboot)
			break;
		log_debug("guest reboot");
	}
	run_disk_keys_free(cfg);
	console_destroy(con);
	close(sfd);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_args ra;
	int status;

	/* A closed socket (control client, migration peer) is an error. */
	signal(SIGPIPE, SIG_IGN);
	run_args_init(&ra);
	status = run_args_parse(&ra, argc, argv);
	if (!status && run_open_virtio_console(&ra.cfg))
		status = 2;
	if (!status && run_open_vnc(&ra.cfg))
		status = 2;
	if (!status)
		status = run_machine(&ra);
	run_args_free(&ra);
	return status;
}
