/* The page the sentry writes and every application's vDSO reads: the
 * sandbox's clocks as a linear function of the time-stamp counter. The
 * layout is vdso.Params in vdso/vdso.go; TestParamsLayout checks that the
 * two agree. */
#ifndef VDSO_PARAMS_H
#define VDSO_PARAMS_H

#include <stdint.h>

struct vdso_params {
	/* Odd while the sentry writes the fields below; a reader retries
	 * until it reads the same even value before and after them. */
	uint64_t seq;
	/* 0 until the sentry has calibrated the counter: the vDSO then makes
	 * the system call. */
	uint64_t ready;
	/* CLOCK_MONOTONIC at base_cycles, in nanoseconds, is base_mono; it
	 * advances by (cycles - base_cycles) * mult >> 32. */
	uint64_t base_cycles;
	int64_t base_mono;
	uint64_t mult;
	/* Added to CLOCK_MONOTONIC to make CLOCK_REALTIME, CLOCK_BOOTTIME
	 * and CLOCK_TAI. */
	int64_t realtime_offset;
	int64_t boottime_offset;
	int64_t tai_offset;
};

#endif
