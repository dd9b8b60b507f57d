// KafkaWire module. See DESIGN.md in this folder where present.
public enum KafkaWireModule {
    public static let name = "KafkaWire"
}
