// Starting child processes from tests that run in parallel.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts the process `make` builds, building a fresh one for each of up to five attempts.
///
/// Foundation's `Process.run()` on Linux lists the parent's open descriptors and has posix_spawn
/// close each in the child; when another test's thread closes one of them in between, the spawn
/// fails with EBADF. It was seen once in CI; a new attempt lists the descriptors again. `make`
/// returns the process and whatever else it set up for it (pipes), so each attempt has its own.
public func launchRetrying<Extras>(_ make: () throws -> (Process, Extras)) throws -> (Process, Extras) {
    var attempt = 0
    while true {
        let (process, extras) = try make()
        do {
            try process.run()
            return (process, extras)
        } catch {
            attempt += 1
            if attempt >= 5 { throw error }
            usleep(20_000)
        }
    }
}
