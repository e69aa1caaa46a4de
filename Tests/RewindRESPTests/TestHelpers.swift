import RewindRESP

/// The UTF-8 bytes of `text`; RESP test inputs are written as Swift strings for readability.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Parses `input` whole with a fresh parser and returns every value, or the error.
func parseValues(_ input: [UInt8], limits: RESPLimits = .redis) -> Result<[RESPValue], RESPParseError> {
    var parser = RESPParser(limits: limits)
    parser.append(input)
    var values: [RESPValue] = []
    do {
        while let value = try parser.nextValue() { values.append(value) }
        return .success(values)
    } catch let error as RESPParseError {
        return .failure(error)
    } catch {
        fatalError("unexpected error type \(error)")
    }
}

/// Parses `input` whole with a fresh parser and returns every request, or the error.
func parseRequests(_ input: [UInt8], limits: RESPLimits = .redis) -> Result<[RESPRequest], RESPParseError> {
    var parser = RESPParser(limits: limits)
    parser.append(input)
    var requests: [RESPRequest] = []
    do {
        while let request = try parser.nextRequest() { requests.append(request) }
        return .success(requests)
    } catch let error as RESPParseError {
        return .failure(error)
    } catch {
        fatalError("unexpected error type \(error)")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
