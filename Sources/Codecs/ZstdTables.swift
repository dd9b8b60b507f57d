// Zstandard constants from RFC 8878 §3.1.1.3.2.1 (code baselines) and §3.1.1.3.2.2 (predefined
// distributions).

enum ZstdTables {
    static let magic: UInt32 = 0xFD2F_B528
    static let blockSizeMax = 128 << 10

    static let llBase: [UInt32] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                   16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096,
                                   8192, 16384, 32768, 65536]
    static let llBits: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12,
                                  13, 14, 15, 16]
    static let mlBase: [UInt32] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                   19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
                                   35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051,
                                   4099, 8195, 16387, 32771, 65539]
    static let mlBits: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11,
                                  12, 13, 14, 15, 16]

    static let llDefault: [Int16] = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1,
                                     2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
                                     -1, -1, -1, -1]
    static let llDefaultLog = 6
    static let mlDefault: [Int16] = [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1,
                                     -1, -1, -1, -1, -1]
    static let mlDefaultLog = 6
    static let ofDefault: [Int16] = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1]
    static let ofDefaultLog = 5

    static let llMaxLog = 9, mlMaxLog = 9, ofMaxLog = 8
    /// The most bits one sequence's three state updates read.
    static let stateBitsMax = llMaxLog + mlMaxLog + ofMaxLog
    static let llMaxSymbol = 35, mlMaxSymbol = 52, ofMaxSymbol = 31
}

@inline(__always) func highBit(_ v: UInt32) -> Int { 31 - v.leadingZeroBitCount }
