/*
 * Read first by every file of the library (Makefile.am: -include): the
 * library has the architecture's own time_t whatever CPPFLAGS say.  Debian
 * builds packages for its 32-bit architectures with -D_TIME_BITS=64
 * (dpkg-buildflags on armhf), which would give the library a 64-bit struct
 * timespec: its aio_suspend would misread the 32-bit one that programs
 * built without _TIME_BITS=64 pass (those built with it call
 * __aio_suspend_time64, suspend.c), and its raw futex system calls would
 * hand it to SYS_futex, which reads the architecture's own (futex.c).
 * -D options take effect before any -include, so this undoes one.
 */
#undef _TIME_BITS
