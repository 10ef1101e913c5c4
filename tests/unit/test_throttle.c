// SPDX-License-Identifier: MIT
/*
 * vCPU throttling on real vCPU threads (vcpus_start) over an accelerator
 * whose vcpu_run only waits for a kick: the share of wall time a vCPU
 * spends outside vcpu_run is what the throttle asks for.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "vmm/throttle.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define NR_VCPUS	2

struct fake_vcpu {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool kicked;
	uint64_t run_ns;	/* finished runs, under lock */
	uint64_t start;		/* of the run going on, or 0 */
};

static struct fake_vcpu fakes[NR_VCPUS];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int fake_vcpu_init(struct vcpu *vcpu)
{
	struct fake_vcpu *f = &fakes[vcpu->id];

	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	vcpu->accel_data = f;
	return 0;
}

static void fake_vcpu_destroy(struct vcpu *vcpu)
{
	struct fake_vcpu *f = vcpu->accel_data;

	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	vcpu->accel_data = NULL;
}

static int fake_regs(struct vcpu *vcpu, const struct x86_regs *regs)
{
	(void)vcpu;
	(void)regs;
	return 0;
}

static int fake_sregs(struct vcpu *vcpu, const struct x86_sregs *sregs)
{
	(void)vcpu;
	(void)sregs;
	return 0;
}

/* "Runs the guest" until kicked. */
static int fake_vcpu_run(struct vcpu *vcpu, struct vcpu_exit *exit)
{
	struct fake_vcpu *f = vcpu->accel_data;

	pthread_mutex_lock(&f->lock);
	f->start = now_ns();
	while (!f->kicked)
		pthread_cond_wait(&f->cond, &f->lock);
	f->kicked = false;
	f->run_ns += now_ns() - f->start;
	f->start = 0;
	pthread_mutex_unlock(&f->lock);
	exit->reason = VCPU_EXIT_KICKED;
	return 0;
}

static void fake_vcpu_kick(struct vcpu *vcpu)
{
	struct fake_vcpu *f = vcpu->accel_data;

	pthread_mutex_lock(&f->lock);
	f->kicked = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static const struct accel_ops fake_accel = {
	.name = "fake",
	.vcpu_init = fake_vcpu_init,
	.vcpu_destroy = fake_vcpu_destroy,
	.set_regs = fake_regs,
	.set_sregs = fake_sregs,
	.vcpu_run = fake_vcpu_run,
	.vcpu_kick = fake_vcpu_kick,
};

static uint64_t run_ns(int id)
{
	uint64_t ns;

	pthread_mutex_lock(&fakes[id].lock);
	ns = fakes[id].run_ns;
	if (fakes[id].start)
		ns += now_ns() - fakes[id].start;
	pthread_mutex_unlock(&fakes[id].lock);
	return ns;
}

/* The least share of the next ms milliseconds any vCPU spent running. */
static double run_share(int ms)
{
	uint64_t before[NR_VCPUS], t0 = now_ns(), t1;
	double least = 1;

	for (int i = 0; i < NR_VCPUS; i++)
		before[i] = run_ns(i);
	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L },
		  NULL);
	t1 = now_ns();
	for (int i = 0; i < NR_VCPUS; i++) {
		double s = (double)(run_ns(i) - before[i]) / (t1 - t0);

		if (s < least)
			least = s;
	}
	return least;
}

/*
 * Wide bounds: on a loaded host a kicked vCPU thread may wait a while for
 * a host CPU, and that wait counts as running.
 */
static bool near(double share, double want, double tolerance)
{
	printf("  vCPUs ran %.0f%% of the time, expected %.0f%%\n",
	       share * 100, want * 100);
	return share >= want - tolerance && share <= want + tolerance;
}

static void test_throttle(void)
{
	static const struct vm_config cfg = { .nr_cpus = NR_VCPUS };
	struct vm *vm = calloc(1, sizeof(*vm));

	vm->cfg = &cfg;
	vm->accel = &fake_accel;
	vm->nr_vcpus = NR_VCPUS;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	CHECK_EQ(vcpus_create(vm), 0);
	CHECK_EQ(vcpus_start(vm), 0);

	CHECK_EQ(atomic_load(&vm->throttle_pct), 0);
	CHECK(near(run_share(200), 1, 0.2));
	CHECK_EQ(vm_set_throttle(vm, 100), -EINVAL);
	CHECK_EQ(vm_set_throttle(vm, 50), 0);
	CHECK_EQ(atomic_load(&vm->throttle_pct), 50);
	run_share(50);
	CHECK(near(run_share(1000), 0.5, 0.25));
	CHECK_EQ(vm_set_throttle(vm, 90), 0);
	run_share(50);
	CHECK(near(run_share(1000), 0.1, 0.2));
	/*
	 * The most there is: the vCPUs still get to run. The throttle
	 * thread's own oversleep adds to their run, so a host that makes
	 * every sleep late (a load of 20 gave 7%) moves this one most.
	 */
	CHECK_EQ(vm_set_throttle(vm, 99), 0);
	run_share(50);
	CHECK(near(run_share(1000), 0.01, 0.15) && run_share(200) > 0);
	CHECK_EQ(vm_set_throttle(vm, 0), 0);
	CHECK_EQ(atomic_load(&vm->throttle_pct), 0);
	run_share(50);
	CHECK(near(run_share(200), 1, 0.2));

	vcpus_destroy(vm);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int main(void)
{
	RUN(test_throttle);
	return test_summary();
}
