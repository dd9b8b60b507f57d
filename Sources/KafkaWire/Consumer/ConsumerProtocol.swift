import NIOCore

/// A partition of a topic.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition
    }

    public var description: String { "\(topic)/\(partition)" }
}

/// The consumer protocol's member metadata (`protocol_type` "consumer"): what a member sends in
/// JoinGroup. On the wire: an INT16 version, then `ConsumerProtocolSubscription` at that version.
public struct ConsumerSubscription: Sendable, Hashable {
    public var topics: [String]
    public var userData: [UInt8]?
    public var ownedPartitions: [TopicPartition]
    public var generationID: Int32
    public var rackID: String?

    public init(topics: [String], userData: [UInt8]? = nil, ownedPartitions: [TopicPartition] = [],
                generationID: Int32 = -1, rackID: String? = nil) {
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationID = generationID
        self.rackID = rackID
    }

    /// The bytes for JoinGroup's protocol metadata (`version` 0...3).
    public func encode(version: Int16 = 3) throws -> [UInt8] {
        var message = ConsumerProtocolSubscription(topics: topics, userData: userData, ownedPartitions: [],
                                                   generationId: version >= 2 ? generationID : -1,
                                                   rackId: version >= 3 ? rackID : nil)
        if version >= 1 {
            message.ownedPartitions = ConsumerProtocolCoding.grouped(ownedPartitions).map {
                ConsumerProtocolSubscription.TopicPartition(topic: $0.0, partitions: $0.1)
            }
        }
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        try message.encode(into: &buffer, version: version)
        return Array(buffer.readableBytesView)
    }

    /// Decodes a member's metadata. A version above the highest known one is read as the highest
    /// (newer versions only append fields), bytes after the known fields are ignored (as Java does).
    public init(decoding bytes: [UInt8]) throws {
        var buffer = ByteBuffer(bytes: bytes)
        let version = try ConsumerProtocolCoding.version(&buffer, ConsumerProtocolSubscription.validVersions)
        let m = try ConsumerProtocolSubscription(from: &buffer, version: version)
        self.topics = m.topics
        self.userData = m.userData
        self.ownedPartitions = try ConsumerProtocolCoding.flattened(m.ownedPartitions.map { ($0.topic, $0.partitions) })
        self.generationID = m.generationId
        self.rackID = m.rackId
    }
}

/// The consumer protocol's member assignment: what the leader hands each member through
/// SyncGroup. On the wire: an INT16 version, then `ConsumerProtocolAssignment`.
public struct ConsumerAssignment: Sendable, Hashable {
    public var partitions: [TopicPartition]
    public var userData: [UInt8]?

    public init(partitions: [TopicPartition], userData: [UInt8]? = nil) {
        self.partitions = partitions
        self.userData = userData
    }

    public func encode(version: Int16 = 0) throws -> [UInt8] {
        let message = ConsumerProtocolAssignment(
            assignedPartitions: ConsumerProtocolCoding.grouped(partitions).map {
                ConsumerProtocolAssignment.TopicPartition(topic: $0.0, partitions: $0.1)
            },
            userData: userData)
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        try message.encode(into: &buffer, version: version)
        return Array(buffer.readableBytesView)
    }

    /// Decodes an assignment; empty bytes (a member the leader gave nothing, as the coordinator
    /// sends it) are an empty assignment.
    public init(decoding bytes: [UInt8]) throws {
        if bytes.isEmpty {
            self.init(partitions: [])
            return
        }
        var buffer = ByteBuffer(bytes: bytes)
        let version = try ConsumerProtocolCoding.version(&buffer, ConsumerProtocolAssignment.validVersions)
        let m = try ConsumerProtocolAssignment(from: &buffer, version: version)
        self.init(partitions: try ConsumerProtocolCoding.flattened(m.assignedPartitions.map { ($0.topic, $0.partitions) }),
                  userData: m.userData)
    }
}

enum ConsumerProtocolCoding {
    static func version(_ buffer: inout ByteBuffer, _ valid: ClosedRange<Int16>) throws -> Int16 {
        let v = try buffer.kafkaReadInteger(as: Int16.self)
        guard v >= valid.lowerBound else {
            throw KafkaWireError(.unsupportedVersion, "consumer protocol version \(v)")
        }
        return min(v, valid.upperBound)
    }

    /// Partitions grouped by topic, topics and partitions sorted.
    static func grouped(_ partitions: [TopicPartition]) -> [(String, [Int32])] {
        var byTopic: [String: [Int32]] = [:]
        for p in partitions { byTopic[p.topic, default: []].append(p.partition) }
        return byTopic.keys.sorted().map { ($0, byTopic[$0]!.sorted()) }
    }

    static func flattened(_ groups: [(String, [Int32])]) throws -> [TopicPartition] {
        var out: [TopicPartition] = []
        for (topic, partitions) in groups {
            for p in partitions {
                guard p >= 0 else { throw KafkaWireError(.invalidArgument, "negative partition \(p) of \(topic)") }
                out.append(TopicPartition(topic: topic, partition: p))
            }
        }
        return out
    }
}

/// A group member as the leader's assignor sees it.
public struct ConsumerGroupMember: Sendable, Hashable {
    public var memberID: String
    public var groupInstanceID: String?
    public var subscription: ConsumerSubscription

    public init(memberID: String, groupInstanceID: String? = nil, subscription: ConsumerSubscription) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.subscription = subscription
    }
}

/// Partition assignment strategies (the protocol names other clients know).
public enum ConsumerAssignor: String, Sendable, Hashable, CaseIterable {
    /// Kafka's `RangeAssignor` ("range"): per topic, the members subscribed to it in order
    /// each take a contiguous range; the first `partitions % members` take one more.
    case range = "range"

    public var protocolName: String { rawValue }

    /// Assigns the partitions of each topic (`partitionCounts`: topic -> number of partitions)
    /// to the members subscribed to it. Every member gets an entry, maybe empty.
    public func assign(members: [ConsumerGroupMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        switch self {
        case .range: return Self.range(members: members, partitionCounts: partitionCounts)
        }
    }

    /// Java's `MemberInfo` order: members with a group instance id first, by it; then by member id.
    static func memberOrder(_ a: ConsumerGroupMember, _ b: ConsumerGroupMember) -> Bool {
        switch (a.groupInstanceID, b.groupInstanceID) {
        case let (x?, y?): return x != y ? x < y : a.memberID < b.memberID
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a.memberID < b.memberID
        }
    }

    static func range(members: [ConsumerGroupMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        var result: [String: [TopicPartition]] = [:]
        for m in members { result[m.memberID] = [] }
        let topics = Set(members.flatMap(\.subscription.topics)).sorted()
        for topic in topics {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let subscribers = members.filter { $0.subscription.topics.contains(topic) }.sorted(by: memberOrder)
            let n = Int(count)
            let c = subscribers.count
            let per = n / c
            let extra = n % c
            for (i, m) in subscribers.enumerated() {
                let start = per * i + min(i, extra)
                let length = per + (i < extra ? 1 : 0)
                for p in start..<(start + length) {
                    result[m.memberID, default: []].append(TopicPartition(topic: topic, partition: Int32(p)))
                }
            }
        }
        return result
    }
}
