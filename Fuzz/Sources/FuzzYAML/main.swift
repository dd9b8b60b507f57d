import FuzzSupport
import PipeConfig

@_cdecl("FuzzYAML_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        _ = PipeConfigModule.name
        _ = bytes.count
        return 0
    }
}
