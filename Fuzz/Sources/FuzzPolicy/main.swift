import PostgresWireFuzzing

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    FuzzEntryPoints.policyAndMasking(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
