# Sourced by the tests that preload librtaio into programs that are not
# instrumented (fio is not): an ASan- or TSan-built librtaio must come
# after the sanitizer's runtime in LD_PRELOAD.  Sets `runtime` (asan, tsan
# or empty) and `runtime_lib` (the runtime's path, empty in a plain build),
# from the runtime the library itself needs, or else the one the compiler
# names; exits 1 if a sanitizer build's runtime cannot be found.  Needs
# `lib`, the library's path.
case " ${CFLAGS-} " in
*-fsanitize=*address*) runtime=asan ;;
*-fsanitize=*thread*) runtime=tsan ;;
*) runtime= ;;
esac
runtime_lib=
if [ -n "$runtime" ]; then
	runtime_lib=$(ldd "$lib" 2>/dev/null | awk -v r="$runtime" \
		'$1 ~ "^lib" r "\\.so" || $1 ~ "^libclang_rt\\." r { print $3; exit }')
	[ -n "$runtime_lib" ] || runtime_lib=$(${CC:-cc} -print-file-name="lib$runtime.so")
	if [ ! -e "$runtime_lib" ]; then
		echo "FAIL: cannot find the $runtime runtime that $lib needs"
		exit 1
	fi
fi
