import FuzzSupport
import PipeConfig

// Arbitrary bytes through the YAML reader and the configuration loader: any input must give a value
// or a ConfigError, never a crash, a trap or unbounded work. Invalid UTF-8 is a ConfigError too.
@_cdecl("FuzzYAML_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let environment = ["PG_PASSWORD": "pw", "EMPTY": ""]
        let root: YAMLNode
        let config: PipeConfiguration
        do throws(ConfigError) {
            root = try YAML.parse(bytes: bytes, file: "fuzz.yaml")
            _ = root.description
            config = try ConfigLoader.decode(root: root, file: "fuzz.yaml", environment: environment)
        } catch {
            _ = error.description
            return 0
        }
        // What the loader accepts it must also print, and the printed form must load again.
        let text = config.resolvedYAML()
        do throws(ConfigError) {
            _ = try ConfigLoader.parse(text: text, file: "resolved.yaml", environment: [:])
        } catch {
            fatalError("resolved configuration does not load again: \(error)\n\(text)")
        }
        return 0
    }
}
