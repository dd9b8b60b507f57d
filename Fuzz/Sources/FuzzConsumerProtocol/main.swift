import FuzzSupport
import KafkaWire

// Arbitrary bytes as a consumer-protocol subscription (JoinGroup member metadata) and as an
// assignment (SyncGroup): each must decode or throw a KafkaWireError, never trap. What decodes
// re-encodes at the highest version and decodes again to the same value.
@_cdecl("FuzzConsumerProtocol_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        if let s = try? ConsumerSubscription(decoding: bytes) {
            guard let again = try? ConsumerSubscription(decoding: try s.encode(version: 3)) else {
                fatalError("a decoded subscription does not re-encode")
            }
            if again.topics != s.topics || Set(again.ownedPartitions) != Set(s.ownedPartitions) {
                fatalError("subscription round trip differs")
            }
            // The range assignor over what a member might send must not trap either.
            let members = [ConsumerGroupMember(memberID: "a", subscription: s),
                           ConsumerGroupMember(memberID: "b", subscription: again)]
            var counts: [String: Int32] = [:]
            for (i, t) in s.topics.prefix(8).enumerated() { counts[t] = Int32(i % 5) }
            _ = ConsumerAssignor.range.assign(members: members, partitionCounts: counts)
        }
        if let a = try? ConsumerAssignment(decoding: bytes) {
            guard let again = try? ConsumerAssignment(decoding: try a.encode(version: 3)),
                  Set(again.partitions) == Set(a.partitions), again.userData == a.userData else {
                fatalError("assignment round trip differs")
            }
        }
        return 0
    }
}
