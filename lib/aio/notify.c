/*
 * Notification: SIGEV_NONE, SIGEV_SIGNAL (queued to the process, si_code
 * SI_ASYNCIO), SIGEV_THREAD_ID (queued to one thread), and SIGEV_THREAD,
 * whose functions notify_thread.c runs.
 */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * Signals a notification may use: not those glibc keeps for itself.  Signal
 * 0 sends nothing, as with glibc: a zeroed aiocb asks for SIGEV_SIGNAL (0)
 * with signal 0, and programs rely on that meaning "no notification".
 */
static bool usable_signal(int signo)
{
	return signo >= 0 && signo < _NSIG && (signo < 32 || signo >= SIGRTMIN);
}

int aio__sigevent_check(const struct sigevent *sev)
{
	switch (sev->sigev_notify) {
	case SIGEV_NONE:
		return 0;
	case SIGEV_SIGNAL:
		return usable_signal(sev->sigev_signo) ? 0 : -EINVAL;
	case SIGEV_THREAD_ID:
		return usable_signal(sev->sigev_signo) && sev->_sigev_un._tid > 0 ? 0 : -EINVAL;
	case SIGEV_THREAD:
		return sev->sigev_notify_function ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* sev checked (aio__sigevent_check), or NULL for none */
void aio__note_set(struct aio__notification *n, const struct sigevent *sev)
{
	n->notify = sev ? sev->sigev_notify : SIGEV_NONE;
	if (!sev)
		return;
	n->signo = sev->sigev_signo;
	n->value = sev->sigev_value;
	n->function = sev->sigev_notify_function;
	n->attributes = sev->sigev_notify_attributes;
	n->tid = sev->_sigev_un._tid;
}

static void queue_signal(const struct aio__notification *n)
{
	siginfo_t si;

	if (!n->signo)
		return;
	memset(&si, 0, sizeof si);
	si.si_signo = n->signo;
	si.si_code = SI_ASYNCIO;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value = n->value;
	if (n->notify == SIGEV_THREAD_ID)
		syscall(SYS_rt_tgsigqueueinfo, si.si_pid, n->tid, si.si_signo, &si);
	else
		syscall(SYS_rt_sigqueueinfo, si.si_pid, si.si_signo, &si);
}

void aio__notify(struct aio__notification *n)
{
	switch (n->notify) {
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		queue_signal(n);
		break;
	case SIGEV_THREAD:
		aio__notify_thread(n);
		break;
	default:
		break;
	}
}
