@testable import KafkaWire
import Testing

@Suite struct ConsumerProtocolTests {
    static func tp(_ t: String, _ p: Int32) -> TopicPartition { TopicPartition(topic: t, partition: p) }

    static func member(_ id: String, _ topics: [String], instance: String? = nil) -> ConsumerGroupMember {
        ConsumerGroupMember(memberID: id, groupInstanceID: instance, subscription: ConsumerSubscription(topics: topics))
    }

    // MARK: encoding

    @Test func subscriptionV0Bytes() throws {
        // INT16 version, ARRAY of STRING topics, nullable BYTES user data (-1 = null).
        let bytes = try ConsumerSubscription(topics: ["ab"]).encode(version: 0)
        #expect(bytes == [0, 0, 0, 0, 0, 1, 0, 2, 0x61, 0x62, 0xff, 0xff, 0xff, 0xff])
        #expect(try ConsumerSubscription(decoding: bytes) == ConsumerSubscription(topics: ["ab"]))
    }

    @Test func subscriptionRoundTripsAtEveryVersion() throws {
        let owned = [Self.tp("b", 2), Self.tp("a", 1), Self.tp("a", 0)]
        let full = ConsumerSubscription(topics: ["a", "b"], userData: [1, 2, 3], ownedPartitions: owned,
                                        generationID: 7, rackID: "r1")
        for v: Int16 in 0...3 {
            let decoded = try ConsumerSubscription(decoding: try full.encode(version: v))
            #expect(decoded.topics == ["a", "b"])
            #expect(decoded.userData == [1, 2, 3])
            // Owned partitions come back grouped by topic and sorted.
            #expect(decoded.ownedPartitions == (v >= 1 ? owned.sorted() : []))
            #expect(decoded.generationID == (v >= 2 ? 7 : -1))
            #expect(decoded.rackID == (v >= 3 ? "r1" : nil))
        }
    }

    @Test func newerVersionIsReadAsHighestAndTrailingBytesIgnored() throws {
        var bytes = try ConsumerSubscription(topics: ["x"], generationID: 3, rackID: "z").encode(version: 3)
        bytes[0] = 0; bytes[1] = 9  // a future version appends fields
        bytes += [0xde, 0xad]
        let decoded = try ConsumerSubscription(decoding: bytes)
        #expect(decoded.topics == ["x"] && decoded.generationID == 3 && decoded.rackID == "z")
    }

    @Test func malformedIsTypedError() throws {
        let good = try ConsumerSubscription(topics: ["topic"], userData: [9], ownedPartitions: [Self.tp("topic", 1)],
                                            generationID: 1).encode(version: 2)
        for n in 0..<good.count {
            #expect(throws: KafkaWireError.self) { try ConsumerSubscription(decoding: Array(good.prefix(n))) }
        }
        #expect(throws: KafkaWireError.self) { try ConsumerSubscription(decoding: [0xff, 0xff, 0, 0, 0, 0]) }
        // A count far beyond the bytes there fails before allocating.
        #expect(throws: KafkaWireError.self) { try ConsumerSubscription(decoding: [0, 0, 0x7f, 0xff, 0xff, 0xff]) }
        let assignment = try ConsumerAssignment(partitions: [Self.tp("t", 0), Self.tp("t", 5)]).encode()
        for n in 1..<assignment.count {
            #expect(throws: KafkaWireError.self) { try ConsumerAssignment(decoding: Array(assignment.prefix(n))) }
        }
        // A negative partition number is rejected.
        #expect(throws: KafkaWireError.self) {
            try ConsumerAssignment(decoding: [0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        }
    }

    @Test func assignmentBytesAndEmpty() throws {
        let bytes = try ConsumerAssignment(partitions: [Self.tp("t", 1), Self.tp("t", 0)]).encode()
        #expect(bytes == [0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])
        #expect(try ConsumerAssignment(decoding: bytes).partitions == [Self.tp("t", 0), Self.tp("t", 1)])
        #expect(try ConsumerAssignment(decoding: []).partitions == [])
    }

    // MARK: range assignor (cases of Kafka's RangeAssignorTest)

    @Test func rangeTwoConsumersOneTopicThreePartitions() {
        let r = ConsumerAssignor.range.assign(members: [Self.member("consumer2", ["t"]), Self.member("consumer1", ["t"])],
                                              partitionCounts: ["t": 3])
        #expect(r["consumer1"] == [Self.tp("t", 0), Self.tp("t", 1)])
        #expect(r["consumer2"] == [Self.tp("t", 2)])
    }

    @Test func rangeTwoConsumersTwoTopicsSixPartitions() {
        let r = ConsumerAssignor.range.assign(members: [Self.member("c1", ["t1", "t2"]), Self.member("c2", ["t1", "t2"])],
                                              partitionCounts: ["t1": 3, "t2": 3])
        #expect(r["c1"] == [Self.tp("t1", 0), Self.tp("t1", 1), Self.tp("t2", 0), Self.tp("t2", 1)])
        #expect(r["c2"] == [Self.tp("t1", 2), Self.tp("t2", 2)])
    }

    @Test func rangeMultipleConsumersMixedTopics() {
        let r = ConsumerAssignor.range.assign(
            members: [Self.member("consumer1", ["topic1"]), Self.member("consumer2", ["topic1", "topic2"]),
                      Self.member("consumer3", ["topic1"])],
            partitionCounts: ["topic1": 3, "topic2": 2])
        #expect(r["consumer1"] == [Self.tp("topic1", 0)])
        #expect(r["consumer2"] == [Self.tp("topic1", 1), Self.tp("topic2", 0), Self.tp("topic2", 1)])
        #expect(r["consumer3"] == [Self.tp("topic1", 2)])
    }

    @Test func rangeMoreConsumersThanPartitionsAndUnknownTopic() {
        let r = ConsumerAssignor.range.assign(members: [Self.member("a", ["t", "missing"]), Self.member("b", ["t"]),
                                                        Self.member("c", ["t"])],
                                              partitionCounts: ["t": 2])
        #expect(r["a"] == [Self.tp("t", 0)])
        #expect(r["b"] == [Self.tp("t", 1)])
        #expect(r["c"] == [])
    }

    @Test func rangeStaticMembersOrderByInstanceID() {
        // Java's MemberInfo order: instance ids first (sorted), then member ids.
        let r = ConsumerAssignor.range.assign(
            members: [Self.member("a-member", ["t"], instance: "instance-2"), Self.member("z-member", ["t"], instance: "instance-1"),
                      Self.member("b-dynamic", ["t"])],
            partitionCounts: ["t": 3])
        #expect(r["z-member"] == [Self.tp("t", 0)])
        #expect(r["a-member"] == [Self.tp("t", 1)])
        #expect(r["b-dynamic"] == [Self.tp("t", 2)])
    }

    @Test func rangeCoversEveryPartitionOnce() {
        for members in 1...7 {
            for partitions: Int32 in [1, 5, 12, 31] {
                let ms = (0..<members).map { Self.member("m\($0)", ["x", "y"]) }
                let r = ConsumerAssignor.range.assign(members: ms, partitionCounts: ["x": partitions, "y": partitions + 1])
                let all = r.values.flatMap { $0 }
                #expect(all.count == Set(all).count)
                #expect(Set(all).count == Int(partitions) * 2 + 1)
                let sizes = r.values.map { $0.filter { $0.topic == "x" }.count }
                #expect(sizes.max()! - sizes.min()! <= 1)
            }
        }
    }

    // MARK: cooperative-sticky

    static func member(_ id: String, owns: [Int32] = [], topic: String = "t") -> ConsumerGroupMember {
        ConsumerGroupMember(memberID: id, subscription: ConsumerSubscription(
            topics: [topic], ownedPartitions: owns.map { TopicPartition(topic: topic, partition: $0) }))
    }
    static func tps(_ ps: [Int32]) -> [TopicPartition] { ps.map { TopicPartition(topic: "t", partition: $0) } }

    @Test func cooperativeStickyFreshGroupIsBalanced() {
        let a = ConsumerAssignor.cooperativeSticky.assign(members: [Self.member("a"), Self.member("b"), Self.member("c")],
                                                          partitionCounts: ["t": 7])
        #expect(a.values.map(\.count).sorted() == [2, 2, 3])
        #expect(Set(a.values.flatMap { $0 }) == Set(Self.tps(Array(0..<7))))
    }

    @Test func cooperativeStickyNewMemberGetsNothingThatIsStillOwned() {
        // a owns everything; b joins: a keeps its share, what it gives up is withheld this round.
        let round1 = ConsumerAssignor.cooperativeSticky.assign(
            members: [Self.member("a", owns: [0, 1, 2, 3]), Self.member("b")], partitionCounts: ["t": 4])
        #expect(round1["a"]!.count == 2)
        #expect(round1["b"] == [])
        // After a revoked the others, the second round gives them to b; a keeps its two.
        let round2 = ConsumerAssignor.cooperativeSticky.assign(
            members: [Self.member("a", owns: round1["a"]!.map(\.partition)), Self.member("b")], partitionCounts: ["t": 4])
        #expect(round2["a"] == round1["a"])
        #expect(Set(round2["b"]!) == Set(Self.tps([0, 1, 2, 3])).subtracting(round1["a"]!))
    }

    @Test func cooperativeStickyMemberLeavingFreesItsPartitionsAtOnce() {
        // c left: its partitions (4, 5) had no owner in the group, so they are assigned now.
        let a = ConsumerAssignor.cooperativeSticky.assign(
            members: [Self.member("a", owns: [0, 1]), Self.member("b", owns: [2, 3])], partitionCounts: ["t": 6])
        #expect(Set(a["a"]!).isSuperset(of: Self.tps([0, 1])))
        #expect(Set(a["b"]!).isSuperset(of: Self.tps([2, 3])))
        #expect(a["a"]!.count + a["b"]!.count == 6 && a["a"]!.count == 3)
    }

    @Test func cooperativeStickyKeepsOnlySubscribedAndExistingPartitions() {
        // a claims a partition of a topic it no longer reads and one that does not exist.
        let a = ConsumerAssignor.cooperativeSticky.assign(
            members: [ConsumerGroupMember(memberID: "a", subscription: ConsumerSubscription(topics: ["t"],
                ownedPartitions: [TopicPartition(topic: "u", partition: 0), TopicPartition(topic: "t", partition: 9)]))],
            partitionCounts: ["t": 2, "u": 1])
        #expect(a["a"] == Self.tps([0, 1]))
    }
}
