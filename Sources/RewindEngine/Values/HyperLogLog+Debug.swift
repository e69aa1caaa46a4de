// What PFDEBUG (served by RewindServer) reads out of a HyperLogLog string, through the same
// decoding PFADD, PFCOUNT and PFMERGE use.

extension HyperLogLog {
    /// The 16,384 register values of a HyperLogLog string; nil when it is not one, or when its
    /// sparse opcodes do not cover exactly 16,384 registers (Redis `INVALIDOBJ`).
    public static func registers(of string: [UInt8]) -> [UInt8]? {
        guard let dense = denseString(string) else { return nil }
        return (0..<registerCount).map { denseRegister(dense, registerIndex: $0) }
    }

    /// The string in the dense encoding, header and cached cardinality kept (Redis
    /// `hllSparseToDense`); the string itself when already dense; nil as for ``registers(of:)``.
    public static func denseString(_ string: [UInt8]) -> [UInt8]? {
        guard isValid(string) else { return nil }
        return sparseToDense(string)
    }
}
