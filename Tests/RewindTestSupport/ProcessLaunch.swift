// Child processes in tests go through RewindSpawn's Subprocess, never Foundation's Process: see
// Sources/RewindSpawn/Subprocess.swift for why (descriptors leaking between children that tests
// start in parallel, blocked signals, waits without an end).
@_exported import RewindSpawn
