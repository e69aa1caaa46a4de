// The sparse HyperLogLog representation of Redis 7.0 (src/hyperloglog.c, "Sparse
// representation"). Three opcodes, run-length encoding the 16384 registers in index order:
//
//   ZERO   00xxxxxx            run of xxxxxx+1 zero registers (1...64)
//   XZERO  01xxxxxx yyyyyyyy   run of xxxxxxyyyyyyyy+1 zero registers (1...16384)
//   VAL    1vvvvvxx            run of xx+1 registers (1...4) holding vvvvv+1 (1...32)
//
// Redis edits this string in place, splitting and merging opcodes; the result is not canonical,
// so Rewind replays the same edit steps to produce the same bytes.

extension HyperLogLog {
    /// The largest value a VAL opcode holds; a larger register forces the dense encoding.
    static let sparseValueMax = 32
    static let sparseValueRunLengthMax = 4
    static let sparseZeroRunLengthMax = 64
    static let sparseXZeroRunLengthMax = 16384

    static func sparseXZeroOpcode(runLength: Int) -> [UInt8] {
        let stored = runLength - 1
        return [UInt8(truncatingIfNeeded: stored >> 8) | 0x40, UInt8(truncatingIfNeeded: stored)]
    }

    static func sparseZeroOpcode(runLength: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: runLength - 1)
    }

    static func sparseValueOpcode(value: Int, runLength: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: ((value - 1) << 2) | (runLength - 1)) | 0x80
    }

    /// One decoded opcode.
    struct SparseOpcode {
        enum Kind { case zero, xzero, value }
        var kind: Kind
        /// Registers this opcode covers.
        var runLength: Int
        /// Register value; 0 for ZERO and XZERO.
        var value: Int
        /// Bytes the opcode occupies.
        var byteCount: Int { kind == .xzero ? 2 : 1 }
    }

    /// Decodes the opcode at `byteOffset`, which must be before the end.
    ///
    /// An XZERO cut off by the end of the string reads its missing second byte as 0: Redis reads
    /// the sds terminator there, and a truncated string must give Redis's answer, not a trap.
    static func decodeSparseOpcode(_ string: [UInt8], at byteOffset: Int) -> SparseOpcode {
        let byte = string[byteOffset]
        switch byte & 0xC0 {
        case 0x00:
            return SparseOpcode(kind: .zero, runLength: Int(byte & 0x3F) + 1, value: 0)
        case 0x40:
            let low = byteOffset + 1 < string.count ? Int(string[byteOffset + 1]) : 0
            return SparseOpcode(kind: .xzero, runLength: (Int(byte & 0x3F) << 8 | low) + 1, value: 0)
        default:
            return SparseOpcode(kind: .value, runLength: Int(byte & 0x03) + 1, value: Int((byte >> 2) & 0x1F) + 1)
        }
    }

    /// Sets a register in a sparse string if `value` is greater (Redis `hllSparseSet`).
    ///
    /// Finds the opcode covering the register; handles the cheap in-place cases; otherwise
    /// splits the opcode into up to three (the worst case is XZERO into XZERO-VAL-XZERO); promotes
    /// to dense when the value exceeds a VAL opcode or the string would pass
    /// `sparseByteCountMax`; and finally merges adjacent equal VAL opcodes near the edit.
    ///
    /// - Returns: true when the register changed.
    /// - Throws: ``HyperLogLogError/corrupted`` when the opcodes do not reach the register, or a
    ///   needed promotion finds them damaged.
    static func sparseSet(_ string: inout [UInt8], registerIndex: Int, value: UInt8,
                          sparseByteCountMax: Int) throws(HyperLogLogError) -> Bool {
        if Int(value) > sparseValueMax {
            return try promoteAndSet(&string, registerIndex: registerIndex, value: value)
        }
        // Step 1: locate the opcode covering the register.
        var endOffset = string.count
        var opcodeOffset = headerByteCount
        var previousOffset: Int? = nil
        var firstRegister = 0
        var opcode: SparseOpcode? = nil
        while opcodeOffset < endOffset {
            let candidate = decodeSparseOpcode(string, at: opcodeOffset)
            opcode = candidate
            if registerIndex <= firstRegister + candidate.runLength - 1 { break }
            previousOffset = opcodeOffset
            opcodeOffset += candidate.byteCount
            firstRegister += candidate.runLength
        }
        guard let current = opcode, opcodeOffset < endOffset else { throw .corrupted }
        let nextOffset = opcodeOffset + current.byteCount
        let hasNext = nextOffset < endOffset

        // Step 2: the in-place cases.
        var updatedInPlace = false
        if current.kind == .value {
            if current.value >= Int(value) { return false }
            if current.runLength == 1 {
                string[opcodeOffset] = sparseValueOpcode(value: Int(value), runLength: 1)
                updatedInPlace = true
            }
        }
        if !updatedInPlace && current.kind == .zero && current.runLength == 1 {
            string[opcodeOffset] = sparseValueOpcode(value: Int(value), runLength: 1)
            updatedInPlace = true
        }

        if !updatedInPlace {
            // Step 3: split the opcode around the register.
            let lastRegister = firstRegister + current.runLength - 1
            var sequence: [UInt8] = []
            func appendZeroRun(_ runLength: Int) {
                if runLength > sparseZeroRunLengthMax {
                    sequence.append(contentsOf: sparseXZeroOpcode(runLength: runLength))
                } else {
                    sequence.append(sparseZeroOpcode(runLength: runLength))
                }
            }
            if current.kind == .value {
                if registerIndex != firstRegister {
                    sequence.append(sparseValueOpcode(value: current.value, runLength: registerIndex - firstRegister))
                }
                sequence.append(sparseValueOpcode(value: Int(value), runLength: 1))
                if registerIndex != lastRegister {
                    sequence.append(sparseValueOpcode(value: current.value, runLength: lastRegister - registerIndex))
                }
            } else {
                if registerIndex != firstRegister { appendZeroRun(registerIndex - firstRegister) }
                sequence.append(sparseValueOpcode(value: Int(value), runLength: 1))
                if registerIndex != lastRegister { appendZeroRun(lastRegister - registerIndex) }
            }
            let deltaByteCount = sequence.count - current.byteCount
            if deltaByteCount > 0 && string.count + deltaByteCount > sparseByteCountMax {
                return try promoteAndSet(&string, registerIndex: registerIndex, value: value)
            }
            var edited = Array(string[0..<opcodeOffset])
            edited.append(contentsOf: sequence)
            if hasNext { edited.append(contentsOf: string[nextOffset..<endOffset]) }
            // An XZERO cut off by the end of the string: Redis shortens the string by the
            // opcode's nominal two bytes, which drops the last byte just written.
            let newByteCount = string.count + deltaByteCount
            if edited.count > newByteCount { edited.removeLast(edited.count - newByteCount) }
            string = edited
            endOffset = string.count
        }

        // Step 4: merge adjacent VAL opcodes with equal values, scanning up to five opcodes
        // from the one before the edit, as Redis does.
        var scanOffset = previousOffset ?? headerByteCount
        var scanBudget = 5
        while scanOffset < endOffset && scanBudget > 0 {
            scanBudget -= 1
            let scanned = decodeSparseOpcode(string, at: scanOffset)
            if scanned.kind != .value {
                scanOffset += scanned.byteCount
                continue
            }
            if scanOffset + 1 < endOffset {
                let following = decodeSparseOpcode(string, at: scanOffset + 1)
                if following.kind == .value && following.value == scanned.value {
                    let mergedRunLength = scanned.runLength + following.runLength
                    if mergedRunLength <= sparseValueRunLengthMax {
                        string[scanOffset + 1] = sparseValueOpcode(value: scanned.value, runLength: mergedRunLength)
                        string.remove(at: scanOffset)
                        endOffset -= 1
                        // Stay on this opcode: it may merge with the next one too.
                        continue
                    }
                }
            }
            scanOffset += 1
        }
        invalidateCache(&string)
        return true
    }

    /// Converts to dense, then sets the register; Redis's `promote:` path.
    private static func promoteAndSet(_ string: inout [UInt8], registerIndex: Int, value: UInt8)
        throws(HyperLogLogError) -> Bool
    {
        guard let dense = sparseToDense(string) else { throw .corrupted }
        string = dense
        let changed = setDenseRegisterIfGreater(&string, registerIndex: registerIndex, value: value)
        assert(changed, "a promotion happens only when a register must grow")
        return changed
    }

    /// Converts a sparse string to dense (Redis `hllSparseToDense`), copying the header, cached
    /// cardinality included. A dense string is returned unchanged.
    ///
    /// - Returns: nil when the opcodes do not cover exactly 16384 registers.
    static func sparseToDense(_ string: [UInt8]) -> [UInt8]? {
        if string[encodingByteOffset] == Encoding.dense.rawValue { return string }
        var dense = [UInt8](repeating: 0, count: denseByteCount)
        dense.replaceSubrange(0..<headerByteCount, with: string[0..<headerByteCount])
        dense[encodingByteOffset] = Encoding.dense.rawValue
        var registerIndex = 0
        var byteOffset = headerByteCount
        while byteOffset < string.count {
            let opcode = decodeSparseOpcode(string, at: byteOffset)
            byteOffset += opcode.byteCount
            if opcode.kind == .value {
                if registerIndex + opcode.runLength > registerCount { break }
                for _ in 0..<opcode.runLength {
                    setDenseRegister(&dense, registerIndex: registerIndex, value: UInt8(opcode.value))
                    registerIndex += 1
                }
            } else {
                registerIndex += opcode.runLength
            }
        }
        return registerIndex == registerCount ? dense : nil
    }

    /// Raises `registers[i]` to register i of `string` (Redis `hllMerge`).
    static func mergeMaximum(into registers: inout [UInt8], from string: [UInt8], encoding: Encoding)
        throws(HyperLogLogError)
    {
        if encoding == .dense {
            for registerIndex in 0..<registerCount {
                let value = denseRegister(string, registerIndex: registerIndex)
                if value > registers[registerIndex] { registers[registerIndex] = value }
            }
            return
        }
        var registerIndex = 0
        var byteOffset = headerByteCount
        while byteOffset < string.count {
            let opcode = decodeSparseOpcode(string, at: byteOffset)
            byteOffset += opcode.byteCount
            if opcode.kind == .value {
                // redis-server 7.0.15 (Debian, with the CVE-2025-32023 fix) rejects a value run
                // past the last register; older 7.0 releases stopped the walk there instead.
                if registerIndex + opcode.runLength > registerCount { throw .corrupted }
                for _ in 0..<opcode.runLength {
                    registers[registerIndex] = max(registers[registerIndex], UInt8(opcode.value))
                    registerIndex += 1
                }
            } else {
                registerIndex += opcode.runLength
            }
        }
        guard registerIndex == registerCount else { throw .corrupted }
    }

    /// Counts registers by value (Redis `hllDenseRegHisto` / `hllSparseRegHisto`).
    ///
    /// - Throws: ``HyperLogLogError/corrupted`` when sparse opcodes do not cover exactly 16384
    ///   registers.
    static func registerHistogram(_ string: [UInt8], encoding: Encoding) throws(HyperLogLogError) -> [Int] {
        var histogram = [Int](repeating: 0, count: 64)
        if encoding == .dense {
            for registerIndex in 0..<registerCount {
                histogram[Int(denseRegister(string, registerIndex: registerIndex))] += 1
            }
            return histogram
        }
        var registerIndex = 0
        var byteOffset = headerByteCount
        while byteOffset < string.count {
            let opcode = decodeSparseOpcode(string, at: byteOffset)
            byteOffset += opcode.byteCount
            registerIndex += opcode.runLength
            histogram[opcode.value] += opcode.runLength
        }
        guard registerIndex == registerCount else { throw .corrupted }
        return histogram
    }
}
