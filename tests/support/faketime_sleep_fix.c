/* Loaded before libfaketime by `make test-clock`.
 *
 * The run shifts only the wall clock (FAKETIME_DONT_FAKE_MONOTONIC=1): a shifted monotonic clock
 * makes every timed lock wait in Python (sem_clockwait, which libfaketime 0.9.10 does not wrap)
 * wait for the shift itself. In that mode libfaketime 0.9.10 answers an absolute sleep on the
 * monotonic clock, which is how Python's time.sleep waits, with EINVAL. The monotonic clock is
 * the real one here, so such a sleep goes straight to the kernel; anything else goes on to
 * libfaketime.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request, struct timespec *remain) {
    if (clock_id == CLOCK_MONOTONIC || clock_id == CLOCK_BOOTTIME) {
        return syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == 0 ? 0 : errno;
    }
    static clock_nanosleep_fn next = NULL;
    if (next == NULL) {
        next = (clock_nanosleep_fn)dlsym(RTLD_NEXT, "clock_nanosleep");
    }
    return next(clock_id, flags, request, remain);
}
