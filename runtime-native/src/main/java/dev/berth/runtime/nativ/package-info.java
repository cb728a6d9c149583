/**
 * libc for Berth's shim, through jnr-ffi: child subreaper ({@link
 * dev.berth.runtime.nativ.Posix#setChildSubreaper}), setsid, kill, wait4 reaping ({@link
 * dev.berth.runtime.nativ.Reaper}), posix_spawn with fd redirects ({@link
 * dev.berth.runtime.nativ.Spawner}), mount/umount2 and pipes. Linux and glibc only.
 *
 * <p>The package is named {@code nativ} because {@code native} is a Java keyword.
 */
package dev.berth.runtime.nativ;
