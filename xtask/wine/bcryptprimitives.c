/* ProcessPrng for Wine 8, whose bcryptprimitives.dll lacks it: Rust's standard library (1.78
 * and later) calls it at start-up to seed its hash maps, and without it every Rust program
 * exits with code 53 before main. Built with mingw by `cargo xtask wine` into the throwaway
 * Wine prefix of the test run; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom, advapi32 */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
